/**
 * Sys: looking into a running server and holding it still, as OTP's `sys`
 * does for gen_servers. Works on every gen_server-based process: plain
 * gen_servers, supervisors and dynamic supervisors, directors, trackers and
 * table managers (they are all gen_servers underneath).
 *
 * - {@linkcode getState}: the server's state, as it is (OTP's
 *   `sys:get_state`).
 * - {@linkcode getStatus}: a snapshot of the server: pid, name, kind,
 *   running or suspended, parent, queue length, statistics, and the state as
 *   the behaviour's `formatStatus` callback shows it (OTP's
 *   `sys:get_status` and `format_status/1`: hide passwords and tokens
 *   there).
 * - {@linkcode suspend} / {@linkcode resume}: a suspended server answers
 *   only system requests (these functions), a stop, and its parent's exit
 *   signal (when it traps exits); calls, casts and other messages stay in
 *   its mailbox, in order, until it is resumed. Calls to it time out as
 *   usual meanwhile.
 * - {@linkcode statistics}: counters a server keeps while they are enabled:
 *   messages in, replies out, callbacks run (OTP's reductions, roughly).
 *
 * Every function is a request the server answers between two callbacks, as
 * a call is: it waits its turn in the mailbox and takes a `timeout`
 * (default 5000 ms, OTP's) and a `signal`. Failures reject with a
 * `SysError` (errors.ts) whose `code` is `"noproc"` (no such process),
 * `"not_a_server"` (a process that is not a gen_server: it would never
 * answer), `"calling_self"`, or `"exited"` (it died first); a timeout with a
 * `SysTimeoutError`, which is also a `TimeoutError` and a `SysError`.
 *
 * Differences from OTP, on purpose: a request to a process that is not a
 * gen_server fails at once with `"not_a_server"` (OTP's waits out its
 * timeout); a system request leaves a server's pending noreply timeout
 * running (OTP's restarts it from zero), and one that expires while the
 * server is suspended fires when it is resumed; `replaceState`, `trace`,
 * `log` and code change are not provided; statistics times are clock
 * milliseconds (`getClock().now()`), not calendar times.
 *
 * ```ts
 * import { call, start, stop } from "@steward/steward/gen-server";
 * import { getState, getStatus, resume, suspend } from "@steward/steward/sys";
 *
 * const pid = await start({
 *   init: () => ["ok", { user: "ann", password: "hunter2" }],
 *   handleCall: (_req, _from, s) => ["reply", s.user, s],
 *   formatStatus: ({ state }) => ({ state: { ...state, password: "***" } }),
 * }, undefined);
 * console.assert((await getState(pid) as { password: string }).password === "hunter2");
 * const status = await getStatus(pid);
 * console.assert((status.state as { password: string }).password === "***");
 *
 * await suspend(pid);
 * const user = call(pid, "user"); // queued until resume
 * console.assert((await getStatus(pid)).messageQueueLength === 1);
 * await resume(pid);
 * console.assert(await user === "ann");
 * await stop(pid);
 * ```
 *
 * @module
 */

import "./gen_server.ts"; // it fills sysHooks
import type { Dest, Pid } from "./process.ts";
import type { ProcessKind } from "./system.ts";
import type { SysOperation } from "./errors.ts";
import { type SysBody, sysHooks } from "./_sys.ts";
import { formatTerm } from "./_format.ts";

/** Options of every function here. */
export interface SysOptions {
  /**
   * Milliseconds to wait for the answer (`Infinity`: forever); past it the
   * request rejects with a `SysTimeoutError` (a `TimeoutError`). The server
   * still serves it when it gets to it (a suspend still suspends).
   * @default {5000}
   */
  timeout?: number;
  /**
   * Ends the wait when it aborts: the request rejects with the signal's
   * `reason`. As for a timeout, the server still serves it.
   */
  signal?: AbortSignal;
}

/** What {@linkcode statistics} returns with `"get"` (OTP's statistics). */
export interface Statistics {
  /** When statistics were enabled, clock ms (`getClock().now()`). */
  startTime: number;
  /** When these were read, clock ms. */
  currentTime: number;
  /** Callbacks run since enabled (OTP's reductions, roughly). */
  reductions: number;
  /** Messages taken (calls, casts, other messages; not system requests). */
  messagesIn: number;
  /** Replies sent by returning `["reply", ...]` from handleCall. */
  messagesOut: number;
}

/** What {@linkcode getStatus} returns: a fresh snapshot. */
export interface ServerStatus {
  /** The server. */
  pid: Pid;
  /** Its registered name, if any. */
  name: string | undefined;
  /**
   * What it is (as `processes()` of system.ts says): `"gen_server"`,
   * `"supervisor"`, `"dynamic_supervisor"`, `"task_supervisor"`,
   * `"director"`, `"tracker"` or `"table_manager"`.
   */
  kind: ProcessKind;
  /** `"suspended"` between {@linkcode suspend} and {@linkcode resume}. */
  status: "running" | "suspended";
  /** The process that started it linked (`startLink`), if any. */
  parent: Pid | undefined;
  /** Whether it traps exits. */
  trapExit: boolean;
  /** Messages waiting in its mailbox (held ones too, while suspended). */
  messageQueueLength: number;
  /** Its statistics, if enabled (see {@linkcode statistics}). */
  statistics: Statistics | undefined;
  /** Its state, as its behaviour's `formatStatus` shows it (if any). */
  state: unknown;
}

/** The flag of {@linkcode statistics}. */
export type StatisticsFlag = "enable" | "disable" | "get";

const FLAGS: readonly string[] = ["enable", "disable", "get"];

function request(
  operation: SysOperation,
  server: Dest,
  body: SysBody,
  options: SysOptions | undefined,
): Promise<unknown> {
  return sysHooks.request!(operation, server, body, options);
}

/**
 * The server's state, as it is (not through `formatStatus`): OTP's
 * `sys:get_state`. For debugging: the state is the server's own object, not
 * a copy; do not change it.
 *
 * @param server a pid or registered name.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns the state.
 * @throws {SysError} (rejects) with code `"noproc"`, `"not_a_server"`,
 *   `"calling_self"` or `"exited"`.
 * @throws {SysTimeoutError} (rejects) when no answer came within `timeout`
 *   (also a `TimeoutError`).
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first.
 * @throws {TypeError} (rejects) for a malformed server or option, or an
 *   unknown option.
 *
 * @example
 * ```ts
 * import { start, stop } from "@steward/steward/gen-server";
 * import { getState } from "@steward/steward/sys";
 * const pid = await start({ init: () => ["ok", 42] }, undefined);
 * console.assert(await getState(pid) === 42);
 * await stop(pid);
 * ```
 */
export function getState<S = unknown>(
  server: Dest,
  options?: SysOptions,
): Promise<S> {
  return request("getState", server, ["getState"], options) as Promise<S>;
}

/**
 * A snapshot of the server (OTP's `sys:get_status`): see
 * {@linkcode ServerStatus}. The state is shown through the behaviour's
 * `formatStatus(status)` callback, if it has one, so secrets can be hidden;
 * if that callback throws or returns something else than an object, the
 * state shows as `["EXIT", "format_status_crashed"]` (or
 * `"format_status_bad_return"`). Never fails because of what the state holds.
 *
 * @param server a pid or registered name.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns the snapshot, a fresh object.
 * @throws {SysError} (rejects) as {@linkcode getState}.
 * @throws {SysTimeoutError} (rejects) as {@linkcode getState}.
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first.
 * @throws {TypeError} (rejects) for a malformed server or option.
 *
 * @example
 * ```ts
 * import { start, stop } from "@steward/steward/gen-server";
 * import { getStatus } from "@steward/steward/sys";
 * const pid = await start({
 *   init: () => ["ok", { token: "s3cret" }],
 *   formatStatus: (status) => ({ ...status, state: "<hidden>" }),
 * }, undefined, { name: "vault" });
 * const status = await getStatus("vault");
 * console.assert(status.pid === pid && status.name === "vault");
 * console.assert(status.kind === "gen_server" && status.status === "running");
 * console.assert(status.state === "<hidden>");
 * await stop(pid);
 * ```
 */
export function getStatus(
  server: Dest,
  options?: SysOptions,
): Promise<ServerStatus> {
  return request("getStatus", server, ["getStatus"], options) as Promise<
    ServerStatus
  >;
}

/**
 * Suspends the server (OTP's `sys:suspend`): from when it takes this request
 * until {@linkcode resume}, it answers only system requests (the functions
 * of this module), a stop (`GenServer.stop`, which ends it as usual), and
 * its parent's exit signal if it traps exits (a supervisor can still shut it
 * down). Everything else — calls, casts, other messages — waits in its
 * mailbox, in order; calls time out as usual. Suspending a suspended server
 * does nothing.
 *
 * @param server a pid or registered name.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns once the server is suspended.
 * @throws {SysError} (rejects) as {@linkcode getState}.
 * @throws {SysTimeoutError} (rejects) as {@linkcode getState}; the server
 *   still suspends when it gets to the request.
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first (the server still suspends).
 * @throws {TypeError} (rejects) for a malformed server or option.
 *
 * @example
 * ```ts
 * import { call, start, stop } from "@steward/steward/gen-server";
 * import { TimeoutError } from "@steward/steward/errors";
 * import { resume, suspend } from "@steward/steward/sys";
 * const pid = await start({
 *   init: () => ["ok", 0],
 *   handleCall: (_req, _from, n) => ["reply", n, n],
 * }, undefined);
 * await suspend(pid);
 * const err = await call(pid, "get", { timeout: 10 }).catch((e) => e);
 * console.assert(err instanceof TimeoutError);
 * await resume(pid);
 * console.assert(await call(pid, "get") === 0);
 * await stop(pid);
 * ```
 */
export function suspend(server: Dest, options?: SysOptions): Promise<void> {
  return request("suspend", server, ["suspend"], options) as Promise<void>;
}

/**
 * Resumes a suspended server (OTP's `sys:resume`): it goes on with the
 * messages that waited, in order. Resuming a running server does nothing.
 *
 * @param server a pid or registered name.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns once the server runs again.
 * @throws {SysError} (rejects) as {@linkcode getState}.
 * @throws {SysTimeoutError} (rejects) as {@linkcode getState}.
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first (the server still resumes).
 * @throws {TypeError} (rejects) for a malformed server or option.
 *
 * @example
 * ```ts
 * import { cast, start, stop } from "@steward/steward/gen-server";
 * import { getState, resume, suspend } from "@steward/steward/sys";
 * const pid = await start({
 *   init: () => ["ok", 0],
 *   handleCast: (_msg, n) => ["noreply", n + 1],
 * }, undefined);
 * await suspend(pid);
 * cast(pid, "inc");
 * console.assert(await getState(pid) === 0); // the cast waits
 * await resume(pid);
 * console.assert(await getState(pid) === 1);
 * await stop(pid);
 * ```
 */
export function resume(server: Dest, options?: SysOptions): Promise<void> {
  return request("resume", server, ["resume"], options) as Promise<void>;
}

/**
 * Turns a server's statistics on or off, or reads them (OTP's
 * `sys:statistics`). `"enable"` starts the counters (enabling again keeps
 * them running), `"disable"` drops them, `"get"` returns a
 * {@linkcode Statistics} snapshot, or `undefined` when they are off (OTP's
 * `no_statistics`). While off they cost the server one check per message.
 *
 * @param server a pid or registered name.
 * @param flag `"enable"`, `"disable"` or `"get"`.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns the statistics for `"get"` (undefined if off), else undefined.
 * @throws {TypeError} (rejects) if `flag` is none of the three, for a
 *   malformed server or option.
 * @throws {SysError} (rejects) as {@linkcode getState}.
 * @throws {SysTimeoutError} (rejects) as {@linkcode getState}.
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first.
 *
 * @example
 * ```ts
 * import { call, start, stop } from "@steward/steward/gen-server";
 * import { statistics } from "@steward/steward/sys";
 * const pid = await start({
 *   init: () => ["ok", null],
 *   handleCall: (_req, _from, s) => ["reply", "pong", s],
 * }, undefined);
 * await statistics(pid, "enable");
 * await call(pid, "ping");
 * await call(pid, "ping");
 * const stats = await statistics(pid, "get");
 * console.assert(stats!.messagesIn === 2 && stats!.messagesOut === 2);
 * await statistics(pid, "disable");
 * console.assert(await statistics(pid, "get") === undefined);
 * await stop(pid);
 * ```
 */
export function statistics(
  server: Dest,
  flag: "get",
  options?: SysOptions,
): Promise<Statistics | undefined>;
/** Turns statistics on or off: see above. */
export function statistics(
  server: Dest,
  flag: "enable" | "disable",
  options?: SysOptions,
): Promise<void>;
export function statistics(
  server: Dest,
  flag: StatisticsFlag,
  options?: SysOptions,
): Promise<Statistics | undefined | void> {
  if (typeof flag !== "string" || !FLAGS.includes(flag)) {
    return Promise.reject(
      new TypeError(
        `Cannot get statistics: 'flag' must be "enable", "disable" or "get", got ${
          formatTerm(flag)
        }`,
      ),
    );
  }
  return request(
    "statistics",
    server,
    ["statistics", flag],
    options,
  ) as Promise<
    Statistics | undefined
  >;
}
