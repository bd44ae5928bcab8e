/**
 * Supervised tasks, as Elixir's `Task.Supervisor`: run a function in its own
 * process under a task supervisor, then await its result, with the same
 * crash semantics as Elixir.
 *
 * - {@linkcode async}: the task is linked to the caller and monitored by it.
 *   If it crashes, the caller gets the exit signal (and dies with it unless
 *   it traps exits); if the caller dies, the task is killed with it. As in
 *   Elixir, a caller that traps exits also gets the task's
 *   `["EXIT", pid, "normal"]` when it ends well.
 * - {@linkcode asyncNolink}: monitored only. A crash is seen by
 *   {@linkcode join}, which rejects with an `ExitError` carrying the reason.
 * - {@linkcode startChild}: fire and forget.
 *
 * Tasks are temporary children of a dynamic supervisor
 * ({@linkcode startSupervisor}): never restarted; stopping the supervisor
 * stops them all (each is given `shutdown` ms, then killed).
 *
 * Differs from Elixir on purpose: a {@linkcode join} that times out rejects
 * with a `TimeoutError` instead of exiting the caller, and leaves the task
 * running (call {@linkcode shutdown} to stop it): in JS the caller decides.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 *
 * const sup = await task.startSupervisor();
 * const t = await task.async(sup, async () => 6 * 7);
 * assert.equal(await task.join(t), 42);
 * await supervisor.stop(sup);
 * ```
 *
 * @module
 */

import {
  demonitor,
  type Dest,
  exit,
  link,
  monitor,
  type Pid,
  receive,
  type Ref,
  self,
  send,
  spawnLink,
  unlink,
} from "./process.ts";
import * as supervisor from "./supervisor.ts";
import { currentProc, procOf } from "./_runtime.ts";
import { ExitError, TimeoutError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import { checkOptionsObject } from "./_options.ts";

/** A running task, as {@linkcode async} and {@linkcode asyncNolink} return. */
export interface Task<T = unknown> {
  /** The task's process. */
  readonly pid: Pid;
  /** The caller's monitor on it. */
  readonly ref: Ref;
  /** The process that may {@linkcode join} it (the caller of async). */
  readonly owner: Pid;
  /** Phantom field for the result type; never set. */
  readonly __result?: T;
}

/** Options of {@linkcode startSupervisor}. */
export interface TaskSupervisorOptions {
  /** Register the supervisor under this name. */
  readonly name?: string;
  /** Most tasks at once. @default {Infinity} */
  readonly maxChildren?: number;
  /** Abandons the start when it aborts (see supervisor.ts's start). */
  readonly signal?: AbortSignal;
  /**
   * A label for the process, shown by the introspection of system.ts and
   * the observer (OTP 27's `proc_lib:set_label/1`, given at start).
   */
  readonly label?: string;
}

/** Options of {@linkcode async}, {@linkcode asyncNolink}, {@linkcode startChild}. */
export interface TaskOptions {
  /**
   * How the task is stopped when its supervisor stops: ms before it is
   * killed, `"brutal_kill"` or `"infinity"`. @default {5000}
   */
  readonly shutdown?: supervisor.Shutdown;
}

/**
 * Starts a task supervisor (a dynamic supervisor, not linked to the caller).
 * @param options `name`, `maxChildren`, `signal` (abandons the start).
 * @param options `name`, `max_children`.
 * @returns its pid.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await task.startSupervisor({ name: "tasks" });
 * await supervisor.stop("tasks");
 * ```
 */
export function startSupervisor(
  options?: TaskSupervisorOptions,
): Promise<Pid> {
  const op = "startSupervisor";
  try {
    checkOptionsObject(op, options, SUPERVISOR_OPTIONS);
    const label = options?.label;
    if (label !== undefined && typeof label !== "string") {
      throw new TypeError(
        `Cannot ${op}: 'label' must be a string, got ${formatTerm(label)}`,
      );
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const { name, maxChildren, signal, label } = options ?? {};
  return supervisor.startDynamic(
    maxChildren === undefined ? {} : { maxChildren },
    {
      ...(name !== undefined && { name }),
      ...(label !== undefined && { label }),
      ...(signal !== undefined && { signal }),
    },
  ).then((pid) => {
    procOf(pid).role = "task_supervisor";
    return pid;
  });
}

const SUPERVISOR_OPTIONS = ["name", "maxChildren", "signal", "label"];
const TASK_OPTIONS = ["shutdown"];

function checkFn(op: string, fn: unknown): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot ${op}: 'fn' must be a function, got ${formatTerm(fn)}`,
    );
  }
}

/** The owner's go-ahead: `[GO, monitorRef]` (the ref tags the result). */
const GO = Symbol("task go");

// The task's start function: runs as the supervisor, so spawnLink links the
// task to it. A task with an owner links to it (if asked), then waits for
// the owner's go-ahead, sent once the owner monitors it: so even a task that
// fails at once reports its real reason to the owner's monitor. An owner
// that dies first leaves nothing to do.
function spawnTask(
  owner: Pid | null,
  linkOwner: boolean,
  fn: () => unknown,
): Pid {
  return spawnLink(async () => {
    currentProc().role = "task";
    if (owner === null) {
      await fn();
      return;
    }
    if (linkOwner) link(owner);
    const watch = monitor(owner);
    const go = await receive<unknown[]>((m) =>
      Array.isArray(m) &&
      (m[0] === GO || (m[0] === "DOWN" && m[1] === watch))
    );
    if (go[0] !== GO) return;
    demonitor(watch, { flush: true });
    const result = await fn();
    send(owner, [go[1], result]);
  });
}

async function startTask<T>(
  op: string,
  sup: Dest,
  fn: () => T | Promise<T>,
  options: TaskOptions | undefined,
  linkOwner: boolean,
): Promise<Task<T>> {
  checkFn(op, fn);
  checkOptionsObject(op, options, TASK_OPTIONS);
  const owner = self();
  const { pid } = await supervisor.startChild(sup, {
    id: "task",
    restart: "temporary",
    shutdown: options?.shutdown ?? 5000,
    start: spawnTask,
    args: [owner, linkOwner, fn],
  });
  const ref = monitor(pid!);
  send(pid!, [GO, ref]);
  return { pid: pid!, ref, owner };
}

/**
 * Runs `fn` in a new process under `sup`, linked to the caller and monitored
 * by it; {@linkcode join} gets its result.
 *
 * @param sup the task supervisor.
 * @param fn the work; runs in the task process (`self()` is the task).
 * @param options `shutdown`. No `signal`: the wait is one short request
 *   to the supervisor, and abandoning it once sent would leave a task
 *   running that nobody joins; bound the work with join's `timeout` or
 *   `signal` instead.
 * @returns the task.
 * @throws {TypeError} (rejects) if `fn` is not a function.
 * @throws {SupervisorError} (rejects) `"max_children"` if the supervisor is
 *   full.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const tasks = await Promise.all([1, 2, 3].map((n) => task.async(sup, () => n * n)));
 * assert.deepEqual(await task.joinMany(tasks), [1, 4, 9]);
 * await supervisor.stop(sup);
 * ```
 */
export function async<T>(
  sup: Dest,
  fn: () => T | Promise<T>,
  options?: TaskOptions,
): Promise<Task<T>> {
  return startTask("async", sup, fn, options, true);
}

/**
 * Like {@linkcode async}, but not linked: a crash does not reach the caller
 * as an exit signal; {@linkcode join} rejects with it instead.
 *
 * @param sup the task supervisor.
 * @param fn the work.
 * @param options `shutdown`. No `signal`: the wait is one short request
 *   to the supervisor, and abandoning it once sent would leave a task
 *   running that nobody joins; bound the work with join's `timeout` or
 *   `signal` instead.
 * @returns the task.
 * @throws {TypeError} (rejects) if `fn` is not a function.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { ExitError } from "@steward/steward/errors";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const t = await task.asyncNolink(sup, () => { throw "boom"; });
 * const err = await task.join(t).catch((e) => e);
 * assert.ok(err instanceof ExitError && err.reason === "boom");
 * await supervisor.stop(sup);
 * ```
 */
export function asyncNolink<T>(
  sup: Dest,
  fn: () => T | Promise<T>,
  options?: TaskOptions,
): Promise<Task<T>> {
  return startTask("asyncNolink", sup, fn, options, false);
}

/**
 * Runs `fn` under `sup` with nobody waiting for its result.
 *
 * @param sup the task supervisor.
 * @param fn the work.
 * @param options `shutdown`. No `signal`: the wait is one short request
 *   to the supervisor, and abandoning it once sent would leave a task
 *   running that nobody joins; bound the work with join's `timeout` or
 *   `signal` instead.
 * @returns the task's pid.
 * @throws {TypeError} (rejects) if `fn` is not a function.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { receive, self, send } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const me = self();
 * await task.startChild(sup, () => { send(me, "done"); });
 * assert.equal(await receive((m) => m === "done"), "done");
 * await supervisor.stop(sup);
 * ```
 */
export async function startChild(
  sup: Dest,
  fn: () => unknown,
  options?: TaskOptions,
): Promise<Pid> {
  checkFn("startChild", fn);
  checkOptionsObject("startChild", options, TASK_OPTIONS);
  const { pid } = await supervisor.startChild(sup, {
    id: "task",
    restart: "temporary",
    shutdown: options?.shutdown ?? 5000,
    start: spawnTask,
    args: [null, false, fn],
  });
  return pid!;
}

function checkOwner(op: string, task: Task): void {
  let shaped = false;
  try {
    shaped = task !== null && typeof task === "object" && "owner" in task &&
      "ref" in task;
  } catch {
    // A Proxy whose `has` trap throws: no Task.
  }
  if (!shaped) {
    throw new TypeError(
      `Cannot ${op}: 'task' must be a Task from async or asyncNolink, got ${
        formatTerm(task)
      }`,
    );
  }
  if (task.owner !== self()) {
    throw new TypeError(
      `Cannot ${op}: task ${formatTerm(task.pid)} belongs to ${
        formatTerm(task.owner)
      }, not to the calling process ${self()}`,
    );
  }
}

/** Options of {@linkcode join}, {@linkcode joinMany}, {@linkcode yieldMany}. */
export interface JoinOptions {
  /** Milliseconds to wait (Infinity: forever). @default {5000} */
  readonly timeout?: number;
  /** Ends the wait when it aborts, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** The result type of a task (what its function returns, awaited). */
export type TaskResult<K> = K extends Task<infer T> ? T : never;

/**
 * One task's outcome in {@linkcode yieldMany}: a result `["ok", result]`,
 * an exit `["exit", reason]` (Elixir's `{:ok, result}` and `{:exit,
 * reason}`: a tuple is an array), or `undefined`, none yet.
 */
export type YieldResult<T> =
  | readonly ["ok", T]
  | readonly ["exit", unknown]
  | undefined;

/**
 * Waits for a task's result (Elixir's `Task.await`). Only the process that
 * started the task may join it, once. A process may join several tasks at
 * once (`Promise.all` over joins, or {@linkcode joinMany}): each join waits
 * for its own task's messages.
 *
 * @param task from {@linkcode async} or {@linkcode asyncNolink}.
 * @param options `timeout` in ms (default 5000; Infinity waits forever),
 *   `signal`.
 * @returns what `fn` returned (or resolved to).
 * @throws {ExitError} (rejects) with the task's exit reason if it died
 *   without a result (a throw in `fn`, a kill...).
 * @throws {TimeoutError} (rejects) after `timeout`; the task keeps running.
 * @throws {TypeError} (rejects) if the caller does not own `task`.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const t = await task.async(sup, () => "hello");
 * assert.equal(await task.join(t, { timeout: 1000 }), "hello");
 * const ts = await Promise.all([1, 2].map((n) => task.async(sup, () => n)));
 * assert.deepEqual(await Promise.all(ts.map((t) => task.join(t))), [1, 2]);
 * await supervisor.stop(sup);
 * ```
 */
export async function join<T>(
  task: Task<T>,
  options?: JoinOptions,
): Promise<T> {
  checkOwner("join", task);
  const outcome = await awaitOutcome(task, checkJoinOptions("join", options));
  if (outcome === undefined) {
    const timeout = options?.timeout ?? DEFAULT_JOIN_TIMEOUT;
    throw new TimeoutError(
      `Cannot join task ${task.pid}: no result within ${timeout} ms`,
      timeout,
    );
  }
  if (outcome[0] === "exit") throw new ExitError(outcome[1]);
  return outcome[1];
}

/**
 * Waits for the results of several tasks (Elixir's `Task.await_many`), in
 * the order of `tasks`, within one `timeout` for all of them. If one task
 * dies without a result, rejects at once with its `ExitError` and stops
 * waiting for the others (which keep running).
 *
 * @param tasks from {@linkcode async} or {@linkcode asyncNolink}, all owned
 *   by the caller.
 * @param options `timeout` for the whole wait (default 5000), `signal`.
 * @returns the results, in the order of `tasks`.
 * @throws {ExitError} (rejects) with the first exit reason seen.
 * @throws {TimeoutError} (rejects) if not every result came within `timeout`.
 * @throws {TypeError} (rejects) for a task the caller does not own.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const tasks = await Promise.all([1, 2, 3].map((n) => task.async(sup, () => n * n)));
 * assert.deepEqual(await task.joinMany(tasks), [1, 4, 9]);
 * await supervisor.stop(sup);
 * ```
 */
export async function joinMany<const Ts extends readonly Task<unknown>[]>(
  tasks: Ts,
  options?: JoinOptions,
): Promise<{ -readonly [K in keyof Ts]: TaskResult<Ts[K]> }> {
  checkTasks("joinMany", tasks);
  const { timeout, signal } = checkJoinOptions("joinMany", options);
  const stop = new AbortController();
  const unlink = forward(signal, stop);
  try {
    return await Promise.all(tasks.map(async (task) => {
      const outcome = await awaitOutcome(task, {
        timeout,
        signal: stop.signal,
      });
      if (outcome === undefined) {
        throw new TimeoutError(
          `Cannot joinMany tasks: no result within ${timeout} ms (first missing: ${task.pid})`,
          timeout,
        );
      }
      if (outcome[0] === "exit") throw new ExitError(outcome[1]);
      return outcome[1];
    })) as { -readonly [K in keyof Ts]: TaskResult<Ts[K]> };
  } finally {
    // The waits still pending end here, so none is left to take a later
    // message.
    stop.abort();
    unlink();
  }
}

/**
 * Waits up to `timeout` for several tasks (Elixir's `Task.yield_many`) and
 * tells how each one stands: `["ok", result]`, `["exit", reason]`, or
 * `undefined` if it has not finished (it keeps running: {@linkcode join} it
 * later or {@linkcode shutdown} it). Never rejects for a task's failure.
 *
 * @param tasks from {@linkcode async} or {@linkcode asyncNolink}, all owned
 *   by the caller.
 * @param options `timeout` for the whole wait (default 5000), `signal`.
 * @returns one outcome per task, in the order of `tasks`.
 * @throws {TypeError} (rejects) for a task the caller does not own.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const quick = await task.asyncNolink(sup, () => "done");
 * const bad = await task.asyncNolink(sup, () => { throw "boom"; });
 * const slow = await task.asyncNolink(sup, () => new Promise(() => {}));
 * const [a, b, c] = await task.yieldMany([quick, bad, slow], { timeout: 50 });
 * assert.deepEqual([a, b, c], [["ok", "done"], ["exit", "boom"], undefined]);
 * await task.shutdown(slow, "brutal_kill");
 * await supervisor.stop(sup);
 * ```
 */
export async function yieldMany<const Ts extends readonly Task<unknown>[]>(
  tasks: Ts,
  options?: JoinOptions,
): Promise<{ -readonly [K in keyof Ts]: YieldResult<TaskResult<Ts[K]>> }> {
  checkTasks("yieldMany", tasks);
  const checked = checkJoinOptions("yieldMany", options);
  return await Promise.all(
    tasks.map((task) => awaitOutcome(task, checked)),
  ) as { -readonly [K in keyof Ts]: YieldResult<TaskResult<Ts[K]>> };
}

const DEFAULT_JOIN_TIMEOUT = 5000;
const JOIN_OPTIONS = ["timeout", "signal"];

function checkJoinOptions(
  op: string,
  options: JoinOptions | undefined,
): { timeout: number; signal: AbortSignal | undefined } {
  if (options === undefined) {
    return { timeout: DEFAULT_JOIN_TIMEOUT, signal: undefined };
  }
  checkOptionsObject(op, options, JOIN_OPTIONS);
  const timeout = options.timeout ?? DEFAULT_JOIN_TIMEOUT;
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    throw new RangeError(
      `Cannot ${op}: 'timeout' must be a non-negative number or Infinity, got ${
        formatTerm(timeout)
      }`,
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${op}: 'signal' must be an AbortSignal, got ${
        formatTerm(signal)
      }`,
    );
  }
  return { timeout, signal };
}

function checkTasks(op: string, tasks: readonly Task[]): void {
  if (!Array.isArray(tasks)) {
    throw new TypeError(
      `Cannot ${op}: 'tasks' must be an array of tasks, got ${
        formatTerm(tasks)
      }`,
    );
  }
  for (const task of tasks) checkOwner(op, task);
}

/** Aborts `to` when `from` aborts; returns the function that stops that. */
function forward(
  from: AbortSignal | undefined,
  to: AbortController,
): () => void {
  if (from === undefined) return () => {};
  if (from.aborted) {
    to.abort(from.reason);
    return () => {};
  }
  const onAbort = () => to.abort(from.reason);
  from.addEventListener("abort", onAbort, { once: true });
  return () => from.removeEventListener("abort", onAbort);
}

/**
 * A task's result or exit, or undefined if neither came within `timeout`.
 * Takes the result message and flushes the monitor; leaves an exit's DOWN
 * taken too.
 */
async function awaitOutcome<T>(
  task: Task<T>,
  options: { timeout: number; signal: AbortSignal | undefined },
): Promise<YieldResult<T>> {
  let m: unknown;
  try {
    m = await receive(
      (m) =>
        Array.isArray(m) &&
        ((m.length === 2 && m[0] === task.ref) ||
          (m[0] === "DOWN" && m[1] === task.ref)),
      options,
    );
  } catch (error) {
    if (error instanceof TimeoutError) return undefined;
    throw error;
  }
  const msg = m as unknown[];
  if (msg[0] === task.ref) {
    demonitor(task.ref, { flush: true });
    return ["ok", msg[1] as T];
  }
  return ["exit", msg[4]];
}

/**
 * Stops a task (Elixir's `Task.shutdown`): unlinks it, asks it to exit with
 * `"shutdown"` (or kills it at once with `"brutal_kill"`), waits up to
 * `timeout` ms, then kills it. A result that arrived meanwhile is returned.
 *
 * @param task from {@linkcode async} or {@linkcode asyncNolink}.
 * @param timeout ms to wait before the kill, or `"brutal_kill"`. @default {5000}
 *   (No `signal`: the wait is bounded by this timeout, and abandoning it
 *   would leave the task running.)
 * @returns `{ result }` if the task had finished, else undefined.
 * @throws {TypeError} (rejects) if the caller does not own `task`.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { isAlive } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const t = await task.async(sup, () => new Promise(() => {}));
 * assert.equal(await task.shutdown(t, "brutal_kill"), undefined);
 * assert.ok(!isAlive(t.pid));
 * await supervisor.stop(sup);
 * ```
 */
export async function shutdown<T>(
  task: Task<T>,
  timeout: number | "brutal_kill" = 5000,
): Promise<{ result: T } | undefined> {
  checkOwner("shutdown", task);
  unlink(task.pid, { flush: true });
  exit(task.pid, timeout === "brutal_kill" ? "kill" : "shutdown");
  const isOurs = (m: unknown) =>
    Array.isArray(m) &&
    ((m.length === 2 && m[0] === task.ref) ||
      (m[0] === "DOWN" && m[1] === task.ref));
  let m: unknown;
  try {
    m = await receive(
      isOurs,
      { timeout: timeout === "brutal_kill" ? Infinity : timeout },
    );
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    exit(task.pid, "kill");
    m = await receive(isOurs);
  }
  const msg = m as unknown[];
  if (msg[0] === task.ref) {
    demonitor(task.ref, { flush: true });
    return { result: msg[1] as T };
  }
  return undefined;
}
