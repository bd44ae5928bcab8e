// A child's life in a supervisor-like process (supervisor, director; the
// tracker keeps the same states as its public ChildStatus, in its own
// tables): where a child is (a tagged union, with the data each state
// needs), the legal moves between states (one function), and the table the
// children live in (start order, by id with term-equal lookup, by pid).
//
// How a child starts and is shut down is in _child.ts, the restart
// arithmetic (clean exits, intensity, backoff, the delayed-restart timer) in
// _restart.ts; what to do when a child exits is each module's policy.
//
//   stopped     -> starting, running, restarting, stopped
//   starting    -> running, restarting, stopped
//   running     -> restarting, terminating, stopped
//   restarting  -> starting, running, restarting, stopped
//   terminating -> stopped, starting, restarting
//
// (MOVES below, with why each is there; removal from the table may happen
// in any state.) Which moves a module makes is its policy: the supervisor
// never shows `starting`, the director shows its restarts under way as
// `starting`, the tracker calls it `launching` and ends every child
// through `terminating` (its afterTerminate).

import type { Pid, TreeChild } from "./_runtime.ts";
import { type PendingRestart, restartAt } from "./_restart.ts";
import { sameTerm } from "./_term.ts";

/** Where a child is, with what that state needs. */
export type ChildState =
  /** Its start function is running (an async start under way). */
  | { readonly tag: "starting" }
  /** Its process runs. */
  | { readonly tag: "running"; readonly pid: Pid }
  /**
   * It exited (or a restart failed) and will be started again: `oldPid` is
   * the pid it last had (dynamic children are known by it meanwhile),
   * `pending` the restart under way if any: a delayed one (a timer, its
   * `at` the time of the next attempt) or one at once (a Retry in the
   * mailbox). Null while the owner decides.
   */
  | {
    readonly tag: "restarting";
    readonly oldPid: Pid | undefined;
    readonly pending: PendingRestart | null;
  }
  /** It is being shut down (by terminateChild or the supervisor stopping). */
  | { readonly tag: "terminating"; readonly pid: Pid }
  /** Not running, not restarting: its spec is kept until restarted. */
  | { readonly tag: "stopped" };

/** A state's tag. */
export type ChildStateTag = ChildState["tag"];

/** The one `stopped` state (it carries no data). */
export const STOPPED: ChildState = { tag: "stopped" };
/** The one `starting` state. */
export const STARTING: ChildState = { tag: "starting" };

/**
 * The legal moves: from each state, the states a child may go to next.
 * `restarting -> restarting` is a failed retry (or a new delay);
 * `stopped -> running` and `restarting -> running` are starts that
 * completed at once (no `starting` state is observable in between);
 * `stopped -> restarting` is a start that failed at once (a one_for_all or
 * rest_for_one group member, retried with the group);
 * `terminating -> starting | restarting`: the tracker's children end
 * (their afterTerminate runs) as `terminating` whether they were stopped or
 * exited, then restart, or start afresh for callers that came meanwhile.
 */
const MOVES: Readonly<Record<ChildStateTag, readonly ChildStateTag[]>> = {
  stopped: ["starting", "running", "restarting", "stopped"],
  starting: ["running", "restarting", "stopped"],
  running: ["restarting", "terminating", "stopped"],
  restarting: ["starting", "running", "restarting", "stopped"],
  terminating: ["stopped", "starting", "restarting"],
};

/** Whether a child may go from `from` to `to`. */
export function canMove(from: ChildStateTag, to: ChildStateTag): boolean {
  return MOVES[from].includes(to);
}

/**
 * Checks a move (an internal error if illegal: a bug in the module, never a
 * caller's mistake) and returns the new state.
 */
export function move(from: ChildState, to: ChildState): ChildState {
  if (!MOVES[from.tag].includes(to.tag)) {
    throw new Error(
      `Steward internal error: a child cannot go from ${from.tag} to ${to.tag}`,
    );
  }
  return to;
}

/** The pid of a running child, else undefined. */
export function runningPid(state: ChildState): Pid | undefined {
  return state.tag === "running" ? state.pid : undefined;
}

/**
 * A child as system.ts's supervisionTrees() shows it: `starting` is shown
 * as `"launching"` (the tracker's word), a restart's due time as
 * `restartAt`. Reads only.
 */
export function treeChild(
  id: unknown,
  state: ChildState,
  type: "worker" | "supervisor",
  restarts: number,
): TreeChild {
  switch (state.tag) {
    case "running":
    case "terminating":
      return {
        id,
        pid: state.pid,
        state: state.tag,
        restartAt: undefined,
        type,
        restarts,
      };
    case "restarting":
      return {
        id,
        pid: undefined,
        state: "restarting",
        restartAt: restartAt(state.pending),
        type,
        restarts,
      };
    case "starting":
      return {
        id,
        pid: undefined,
        state: "launching",
        restartAt: undefined,
        type,
        restarts,
      };
    default:
      return {
        id,
        pid: undefined,
        state: "stopped",
        restartAt: undefined,
        type,
        restarts,
      };
  }
}

/**
 * The children of one supervisor-like process: in start (insertion) order,
 * by id (a Map for ids that are not objects, a term-equal scan for the
 * others; `keyed: false` for children without distinct ids, as dynamic
 * supervisors' are) and by pid (kept by the owner, which knows which pids
 * name a child: running ones, and restarting dynamic children's last pid).
 */
export class ChildTable<C> {
  /** Children in start order. */
  readonly #order = new Set<C>();
  /** Children by id, for ids that are not objects. */
  readonly #byId = new Map<unknown, C>();
  /** Children by pid (the owner adds and deletes). */
  readonly byPid: Map<Pid, C> = new Map<Pid, C>();

  constructor(
    readonly idOf: (child: C) => unknown,
    readonly keyed: boolean = true,
  ) {}

  /** How many children. */
  get size(): number {
    return this.#order.size;
  }

  /** Whether `child` is in the table. */
  has(child: C): boolean {
    return this.#order.has(child);
  }

  /** The child with id `id` (term equality), or undefined. */
  find(id: unknown): C | undefined {
    if (id === null || typeof id !== "object") return this.#byId.get(id);
    for (const c of this.#order) if (sameTerm(this.idOf(c), id)) return c;
    return undefined;
  }

  /** Adds `child` as the newest. */
  add(child: C): void {
    this.#order.add(child);
    if (!this.keyed) return;
    const id = this.idOf(child);
    if (id === null || typeof id !== "object") this.#byId.set(id, child);
  }

  /** Removes `child` from the order and the id index (not from byPid). */
  delete(child: C): void {
    this.#order.delete(child);
    if (!this.keyed) return;
    const id = this.idOf(child);
    if (id === null || typeof id !== "object") this.#byId.delete(id);
  }

  /** The children, oldest first. */
  [Symbol.iterator](): IterableIterator<C> {
    return this.#order.values();
  }

  /** The children, oldest first, as an array. */
  list(): C[] {
    return [...this.#order];
  }
}
