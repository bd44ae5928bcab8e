// The hooks the supervisor-like modules install on their process record for
// system.ts (supervisionTrees()): each returns a function that reads the
// module's state and describes its children, so the modules themselves only
// add two lines to their init (the kind, the hook) and keep no second copy of
// anything. The hooks run outside the owner's turn, from whoever calls
// supervisionTrees(): they only read, and system.ts catches what they throw.
//
// The shapes are structural so this file imports no module's private class.

import {
  type Proc,
  setTreeHook,
  type TreeChild,
  type TreeInfo,
} from "./_runtime.ts";
import { type ChildState, treeChild } from "./_child_table.ts";
import {
  type PendingRestart,
  restartAt,
  restartsInWindow,
  type RestartWindow,
} from "./_restart.ts";
import { getClock } from "./clock.ts";

type ChildType = "worker" | "supervisor";

function now(): number {
  try {
    return getClock().now();
  } catch {
    return NaN;
  }
}

/** A supervisor's (or DynamicSupervisor's) state, as far as the hook reads. */
interface SupLike {
  readonly flags: { readonly strategy: string; readonly periodMs: number };
  readonly restarts: RestartWindow;
  readonly children: Iterable<{
    readonly spec: { readonly id: unknown; readonly type: ChildType };
    readonly state: ChildState;
    readonly restarts: number;
  }>;
}

/**
 * Marks `proc` as a supervisor (or DynamicSupervisor, strategy
 * "simple_one_for_one" or "dynamic") and installs its tree hook.
 */
export function observeSupervisor(proc: Proc, sup: SupLike): void {
  const s = sup.flags.strategy;
  proc.role = s === "dynamic" ? "dynamic_supervisor" : "supervisor";
  setTreeHook(proc, (): TreeInfo => {
    const children: TreeChild[] = [];
    for (const c of sup.children) {
      children.push(treeChild(c.spec.id, c.state, c.spec.type, c.restarts));
    }
    return {
      strategy: s === "dynamic" ? "one_for_one" : s,
      restarts: restartsInWindow(sup.restarts, now(), sup.flags.periodMs),
      children,
    };
  });
}

/** A director's state, as far as the hook reads. */
interface DirLike {
  readonly children: Iterable<{
    readonly spec: { readonly id: unknown; readonly type: ChildType };
    readonly state: ChildState;
    readonly restartCount: number;
  }>;
}

/**
 * Marks `proc` as a director and installs its tree hook. A director has no
 * strategy nor intensity window (each child has its own plan): `strategy`
 * is undefined and `restarts` the plan elements its children have run.
 */
export function observeDirector(proc: Proc, dir: DirLike): void {
  proc.role = "director";
  setTreeHook(proc, (): TreeInfo => {
    const children: TreeChild[] = [];
    let restarts = 0;
    for (const c of dir.children) {
      restarts += c.restartCount;
      children.push(
        treeChild(c.spec.id, c.state, c.spec.type, c.restartCount),
      );
    }
    return { strategy: undefined, restarts, children };
  });
}

/** A tracker's state, as far as the hook reads. */
interface TrkLike {
  readonly options: { readonly periodMs: number };
  readonly restarts: RestartWindow;
  readonly entries: Iterable<{
    readonly id: unknown;
    readonly status: TreeChild["state"];
    readonly pid: unknown;
    readonly pending: PendingRestart | null;
    readonly restarts: number;
    readonly spec: { readonly type: ChildType };
  }>;
}

/** Marks `proc` as a tracker and installs its tree hook. */
export function observeTracker(proc: Proc, trk: TrkLike): void {
  proc.role = "tracker";
  setTreeHook(proc, (): TreeInfo => {
    const children: TreeChild[] = [];
    for (const e of trk.entries) {
      const running = e.status === "running" || e.status === "terminating";
      children.push({
        id: e.id,
        pid: running ? e.pid as TreeChild["pid"] : undefined,
        state: e.status,
        restartAt: e.status === "restarting" ? restartAt(e.pending) : undefined,
        type: e.spec.type,
        restarts: e.restarts,
      });
    }
    return {
      strategy: "one_for_one",
      restarts: restartsInWindow(trk.restarts, now(), trk.options.periodMs),
      children,
    };
  });
}

/**
 * Marks `proc` as a table manager and installs its tree hook: its one
 * "child" is its consumer (by registered name), running while it holds the
 * table, stopped while the manager waits for it; `restarts` counts the
 * hand-offs after the first. The consumer is not supervised by the manager
 * (system.ts does not nest a tree under it).
 */
export function observeTableManager(
  proc: Proc,
  s: {
    readonly consumer: string;
    readonly phase: "waiting" | "given";
    readonly handOffs: number;
    readonly table: { info(): { owner: unknown } | undefined };
  },
): void {
  proc.role = "table_manager";
  setTreeHook(proc, (): TreeInfo => {
    const given = s.phase === "given";
    return {
      strategy: undefined,
      restarts: Math.max(0, s.handOffs - 1),
      children: [{
        id: s.consumer,
        pid: given ? s.table.info()?.owner as TreeChild["pid"] : undefined,
        state: given ? "running" : "stopped",
        restartAt: undefined,
        type: "worker",
        restarts: Math.max(0, s.handOffs - 1),
      }],
    };
  });
}
