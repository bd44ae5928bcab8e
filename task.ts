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
import { ExitError, TimeoutError } from "./errors.ts";
import { formatTerm } from "./_format.ts";

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
 *
 * @param options `name`, `maxChildren`.
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
  return supervisor.startDynamic(
    options?.maxChildren === undefined
      ? {}
      : { maxChildren: options.maxChildren },
    options?.name === undefined ? undefined : { name: options.name },
  );
}

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
 * @param options `shutdown`.
 * @returns the task.
 * @throws {TypeError} (rejects) if `fn` is not a function.
 * @throws {SupervisorError} (rejects) `"maxChildren"` if the supervisor is
 *   full.
 *
 * @example
 * ```ts
 * import * as task from "@steward/steward/task";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await task.startSupervisor();
 * const tasks = await Promise.all([1, 2, 3].map((n) => task.async(sup, () => n * n)));
 * const results = [];
 * for (const t of tasks) results.push(await task.join(t)); // one join at a time
 * assert.deepEqual(results, [1, 4, 9]);
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
 * @param options `shutdown`.
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
 * @param options `shutdown`.
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

/**
 * Waits for a task's result (Elixir's `Task.await`). Only the process that
 * started the task may join it, once; a process joins one task at a time
 * (a join is a selective receive).
 *
 * @param task from {@linkcode async} or {@linkcode asyncNolink}.
 * @param options `timeout` in ms (default 5000; Infinity waits forever).
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
 * await supervisor.stop(sup);
 * ```
 */
export async function join<T>(
  task: Task<T>,
  options?: { timeout?: number },
): Promise<T> {
  checkOwner("join", task);
  const timeout = options?.timeout ?? 5000;
  let m: unknown;
  try {
    m = await receive(
      (m) =>
        Array.isArray(m) &&
        ((m.length === 2 && m[0] === task.ref) ||
          (m[0] === "DOWN" && m[1] === task.ref)),
      { timeout },
    );
  } catch (error) {
    if (error instanceof TimeoutError) {
      throw new TimeoutError(
        `task ${task.pid} gave no result within ${timeout} ms`,
        timeout,
      );
    }
    throw error;
  }
  const msg = m as unknown[];
  if (msg[0] === task.ref) {
    demonitor(task.ref, { flush: true });
    return msg[1] as T;
  }
  throw new ExitError(msg[4]);
}

/**
 * Stops a task (Elixir's `Task.shutdown`): unlinks it, asks it to exit with
 * `"shutdown"` (or kills it at once with `"brutal_kill"`), waits up to
 * `timeout` ms, then kills it. A result that arrived meanwhile is returned.
 *
 * @param task from {@linkcode async} or {@linkcode asyncNolink}.
 * @param timeout ms to wait before the kill, or `"brutal_kill"`. @default {5000}
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
