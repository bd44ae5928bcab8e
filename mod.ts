/**
 * Steward: Erlang/OTP's fault-tolerance toolkit for TypeScript, on Deno, Bun
 * and Node.
 *
 * - {@link ./process.ts}: processes, messages, links, monitors, exit signals.
 * - {@link ./gen_server.ts}: servers that keep state and serve requests.
 * - {@link ./ets.ts}: shared tables owned by processes, with heirs.
 * - {@link ./supervisor.ts}: supervisors that restart children, and
 *   dynamic supervisors.
 * - {@link ./task.ts}: supervised tasks (run, await, crash semantics).
 * - {@link ./table_manager.ts}: a table kept alive across its consumer's crashes.
 * - {@link ./director.ts}: supervisors with a restart plan per child.
 * - {@link ./tracker.ts}: registry supervisors (gen_tracker): children found
 *   by id without a message, attributes beside them.
 * - {@link ./timer.ts}: timers bound to processes (sendAfter, startTimer,
 *   sendInterval, exitAfter, applyAfter...), cancelled when they die.
 * - {@link ./application.ts}: a tree run as the program's root: kept alive,
 *   stopped in order on SIGTERM/SIGINT, errors outside processes reported.
 * - {@link ./logger.ts}: crash and supervisor reports (on by default), and
 *   where they go.
 * - {@link ./system.ts}: introspection: every process, supervision tree
 *   and table, and a stream of what happens.
 * - {@link ./sys.ts}: a running server's state and status, suspend and
 *   resume, statistics (OTP's `sys`).
 * - `@steward/steward/observer` (observer.ts): a live page of the running
 *   system and a Prometheus `/metrics` endpoint. Imported from its own path
 *   only, not re-exported here: it loads `node:http`.
 * - {@link ./clock.ts}: injected time, and a virtual clock for tests.
 * - {@link ./errors.ts}: the error classes callers catch.
 *
 * ## Names, tuples and messages
 * - **OTP's words are spelled as OTP spells them**, snake_case: every string
 *   value that is an Erlang atom (strategies `"one_for_one"`, restart types
 *   `"transient"`, exit reasons `"normal"`, `"shutdown"`, `"noproc"`, event
 *   `type`s `"child_exited"`, report kinds `"child_terminated"`, error codes
 *   `"already_started"`, `"not_found"`, statuses `"restarting"`).
 * - **JavaScript's names are camelCase**: functions (`startChild`,
 *   `whichChildren`), option keys (`autoShutdown`, `maxChildren`) and object
 *   fields (`restartAt`, `tableName`).
 * - **A tuple is an array**, with its tag first: OTP's `{shutdown, Detail}`
 *   is `["shutdown", detail]`, `{already_started, Pid}` is
 *   `["already_started", pid]`, `{error, Reason}` is `["error", reason]`.
 *   The clean exit reasons are exactly `"normal"`, `"shutdown"` and
 *   `["shutdown", detail]` (an array of two); an object with a `shutdown`
 *   key is an abnormal exit like any other value.
 * - **Error messages read "Cannot OP X of Y: why"**: `Cannot startChild "w"
 *   of supervisor <0.12.0>: its start failed ("boom")`.
 *
 * ## Supervisors, directors, trackers: one protocol, one rule
 * - **Sync or async.** A read answered without a message is synchronous (a
 *   director's and a tracker's reads of their own tables: `getPid`,
 *   `whichChildren`, `getPlan`, `find`, `attrs`...); anything that needs the
 *   server (starting, stopping, changing; and every function of
 *   supervisor.ts, which are OTP's calls) returns a promise.
 * - **Supervisor's calls work on every supervisor-like process.**
 *   `Supervisor.whichChildren`, `countChildren`, `startChild`,
 *   `restartChild`, `terminateChild`, `deleteChild` and `getChildspec` are
 *   answered by a supervisor, a director and a tracker (a tracker refuses
 *   `startChild` and `getChildspec` with a `"not_supported"` TrackerError:
 *   use `findOrOpen`). A director's or a tracker's own functions refuse
 *   another kind of process with a TypeError naming the argument.
 * - **One shape per operation**: startChild and restartChild resolve to
 *   `{ pid, extra }` (`StartedChild`), whichChildren gives `ChildInfo` rows,
 *   countChildren `ChildCounts`, terminateChild and deleteChild `undefined`;
 *   the types are supervisor.ts's, re-exported by the other two.
 * - A bare `GenServer.call` of a request they do not know is refused: the
 *   call rejects with the module's error (`code` `"unknown_request"`; a
 *   table manager's `TableManagerError` too), and the server lives on.
 *
 * ```ts
 * import { GenServer, Process } from "@steward/steward";
 *
 * const pid = await GenServer.start({
 *   init: () => ["ok", 0],
 *   handleCall: (_req, _from, n) => ["reply", n + 1, n + 1],
 * }, undefined);
 * console.assert(await GenServer.call(pid, "next") === 1);
 * await GenServer.stop(pid);
 * console.assert(!Process.isAlive(pid));
 * ```
 *
 * @module
 */

export * as Process from "./process.ts";
export * as GenServer from "./gen_server.ts";
export * as Ets from "./ets.ts";
export * as Supervisor from "./supervisor.ts";
export * as Task from "./task.ts";
export * as TableManager from "./table_manager.ts";
export * as Director from "./director.ts";
export * as Tracker from "./tracker.ts";
export * as Timer from "./timer.ts";
export * as Application from "./application.ts";
export * as Logger from "./logger.ts";
export * as System from "./system.ts";
export * as Sys from "./sys.ts";
export * from "./clock.ts";
export * from "./errors.ts";
export { Pid, Ref } from "./process.ts";
