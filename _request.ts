// Request/reply plumbing shared by the supervisor-like servers (supervisor,
// director, tracker): a request's failure travels back as a value (a
// Failure) and is thrown by the caller, so a bad request never crashes the
// server; a start outcome becomes startChild's answer the same way in all
// three; and `then` keeps synchronous paths free of promise hops.

import { Pid } from "./_runtime.ts";
import { failed, type StartOutcome } from "./_child.ts";
import * as genServer from "./gen_server.ts";
import type { Dest } from "./process.ts";
import { formatTerm } from "./_format.ts";
import { refuseUnknown } from "./_options.ts";

/** A request's failure, replied as a value and thrown by the caller. */
export class Failure {
  constructor(readonly error: Error) {}
}

/** `f(x)` at once, or once `x` settles if it is a promise. */
export function then<T, R>(
  x: T | Promise<T>,
  f: (v: T) => R | Promise<R>,
): R | Promise<R> {
  return x instanceof Promise ? x.then(f) : f(x);
}

/** `Omit` over each member of a union (events without their common keys). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown
  ? Omit<T, K>
  : never;

const FOREVER = { timeout: Infinity };

function unwrap(r: unknown): unknown {
  if (r instanceof Failure) throw r.error;
  return r;
}

/** The options of a request: its `signal` (see supervisor.ts). */
const REQUEST_OPTIONS: readonly string[] = ["signal"];

/**
 * Calls the server `dest` with `req` (no timeout: the server always
 * answers) and resolves to its reply, or rejects with a Failure's error.
 * `options.signal` ends the wait (gen_server's call: the reply, if it
 * comes later, is dropped); `op` names the operation in the TypeError of
 * bad options.
 */
export function request<T>(
  dest: Dest,
  req: unknown,
  options?: { readonly signal?: AbortSignal },
  op = "call",
): Promise<T> {
  if (options === undefined) {
    return genServer.call(dest, req, FOREVER).then(unwrap) as Promise<T>;
  }
  let signal: AbortSignal | undefined;
  try {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot ${op}: 'options' must be an object, got ${formatTerm(options)}`,
      );
    }
    refuseUnknown(op, options, REQUEST_OPTIONS);
    signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(
        `Cannot ${op}: 'signal' must be an AbortSignal, got ${
          formatTerm(signal)
        }`,
      );
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const callOptions = signal === undefined
    ? FOREVER
    : { timeout: Infinity, signal };
  return genServer.call(dest, req, callOptions).then(unwrap) as Promise<T>;
}

/** What startChild resolves to. */
export interface Started {
  readonly pid: Pid | undefined;
  readonly extra: unknown;
}

/** The two ways a start fails, as the modules' error codes. */
export type StartFailure = "already_started" | "start_failed";

/**
 * What startChild (or restartChild) answers, from a start outcome:
 * `{ pid, extra }` (pid undefined for `"ignore"`), or `fail`'s Failure: an
 * `["already_started", pid]` error is `"already_started"` with that pid, any
 * other is `"start_failed"` with the reason.
 */
export function startedChild(
  outcome: StartOutcome,
  fail: (
    code: StartFailure,
    details: { reason?: unknown; pid?: Pid },
  ) => Failure,
): Started | Failure {
  if (outcome === "ignore") return { pid: undefined, extra: undefined };
  if (failed(outcome)) {
    const e = outcome.error;
    const pid = alreadyStarted(e);
    if (pid !== undefined) return fail("already_started", { pid });
    return fail("start_failed", { reason: e });
  }
  return { pid: outcome.pid, extra: outcome.extra };
}

/** The pid of an `["already_started", pid]` reason; never throws. */
function alreadyStarted(e: unknown): Pid | undefined {
  try {
    return Array.isArray(e) && e.length === 2 && e[0] === "already_started" &&
        e[1] instanceof Pid
      ? e[1]
      : undefined;
  } catch {
    return undefined;
  }
}
