// Request/reply plumbing shared by the supervisor-like servers (supervisor,
// director, tracker): the library's requests travel in an envelope (Call)
// with tags the three share (supervisor's calls work on any of them); a
// request's failure travels back as a Failure (_failure.ts), which
// gen_server's call throws at the caller, so a bad request never crashes the
// server, and a bare GenServer.call (not in an envelope) is refused the same
// way ("unknown_request"); a start outcome becomes startChild's answer the
// same way in all three; and `then` keeps synchronous paths free of promise
// hops.

import { Pid } from "./_runtime.ts";
import { failed, type StartOutcome } from "./_child.ts";
import * as genServer from "./gen_server.ts";
import type { Dest } from "./process.ts";
import { isInstance, partsOf } from "./_safe.ts";
import { formatTerm } from "./_format.ts";
import { refuseUnknown } from "./_options.ts";

import { Failure } from "./_failure.ts";
export { Failure };

/**
 * The envelope of a request sent by this library's functions (supervisor,
 * director and tracker share the tags: `["whichChildren"]`...). A bare
 * `GenServer.call` (anything not in an envelope) is an unknown request,
 * refused with a Failure of the module's error (`"unknown_request"`).
 */
export class Call {
  constructor(readonly request: readonly unknown[]) {}
}

/**
 * The request tuple inside an envelope, taken apart into `n` parts without
 * running user code; undefined for anything else (a bare call).
 */
export function requestOf(msg: unknown, n: number): unknown[] | undefined {
  if (!isInstance(msg, Call)) return undefined;
  return partsOf(msg.request, n);
}

/** What a trace shows of a request: the tuple inside an envelope. */
export function shownRequest(msg: unknown): unknown {
  return isInstance(msg, Call) ? msg.request : msg;
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

/** The options of a request: its `signal` (see supervisor.ts). */
const REQUEST_OPTIONS: readonly string[] = ["signal"];

/**
 * Calls the server `dest` with `req` (no timeout: the server always
 * answers) and resolves to its reply, or rejects with a Failure's error
 * (gen_server's call throws it).
 * `options.signal` ends the wait (gen_server's call: the reply, if it
 * comes later, is dropped); `op` names the operation in the TypeError of
 * bad options.
 */
export function request<T>(
  dest: Dest,
  req: readonly unknown[],
  options?: { readonly signal?: AbortSignal },
  op = "call",
): Promise<T> {
  if (options === undefined) {
    return genServer.call(dest, new Call(req), FOREVER) as Promise<T>;
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
  return genServer.call(dest, new Call(req), callOptions) as Promise<T>;
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

/**
 * The message of a `"not_supported"` error: `kind` (`"a tracker"`...) does
 * not answer `op`; `hint` says what to use instead.
 */
export function notSupportedMessage(
  kind: string,
  op: unknown,
  hint = "",
): string {
  return `Cannot ${
    typeof op === "string" ? op : formatTerm(op)
  }: ${kind} does not answer this request${hint === "" ? "" : ` (${hint})`}`;
}

/**
 * Why a bare call was answered `"unknown_request"`: `unknown request "bogus"
 * (call its module's functions, not GenServer.call)`.
 */
export function unknownRequestWhy(req: unknown): string {
  return `unknown request ${
    formatTerm(req)
  } (call its module's functions, not GenServer.call)`;
}

/**
 * The message of an `"unknown_request"` refusal of a bare call, in the one
 * form: `Cannot call supervisor <0.12.0>: unknown request "bogus" (...)`.
 */
export function unknownRequestMessage(server: string, req: unknown): string {
  return `Cannot call ${server}: ${unknownRequestWhy(req)}`;
}
