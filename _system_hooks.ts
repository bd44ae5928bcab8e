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

/** The plain views of the states observed here, for their formatStatus. */
const views = new WeakMap<object, () => Record<string, unknown>>();

/** A tree child as plain data (what getStatus shows of each child). */
function childView(c: TreeChild): Record<string, unknown> {
  return {
    id: c.id,
    pid: c.pid,
    state: c.state,
    type: c.type,
    restarts: c.restarts,
    ...(c.restartAt !== undefined && { restartAt: c.restartAt }),
  };
}

/**
 * The `formatStatus` of the supervisor-like behaviours: what
 * `sys.getStatus` (and a termination report) shows instead of their
 * internal record: flags, restart window and children, as plain data
 * (no functions, no process records). A state this module has no view of
 * shows as `"<internal>"`, so nothing internal leaks.
 */
export function formatStatus<T extends { state: unknown }>(
  status: T,
): T & { state: unknown } {
  const state = status.state;
  const view = state !== null && typeof state === "object"
    ? views.get(state)
    : undefined;
  return { ...status, state: view === undefined ? "<internal>" : view() };
}

function now(): number {
  try {
    return getClock().now();
  } catch {
    return NaN;
  }
}

/** A supervisor's (or DynamicSupervisor's) state, as far as the hook reads. */
interface SupLike {
  readonly flags: {
    readonly strategy: string;
    readonly intensity: number;
    readonly periodMs: number;
    readonly autoShutdown: string;
    readonly maxChildren: number;
    readonly backoff: object | null;
  };
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
  const info = (): TreeInfo => {
    const children: TreeChild[] = [];
    for (const c of sup.children) {
      children.push(treeChild(c.spec.id, c.state, c.spec.type, c.restarts));
    }
    return {
      strategy: s === "dynamic" ? "one_for_one" : s,
      restarts: restartsInWindow(sup.restarts, now(), sup.flags.periodMs),
      children,
    };
  };
  setTreeHook(proc, info);
  views.set(sup, () => {
    const f = sup.flags;
    const t = info();
    return {
      strategy: s,
      intensity: f.intensity,
      period: f.periodMs,
      restartsInWindow: t.restarts,
      autoShutdown: f.autoShutdown,
      ...(f.maxChildren !== Infinity && { maxChildren: f.maxChildren }),
      ...(f.backoff !== null && { backoff: { ...f.backoff } }),
      children: t.children.map(childView),
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
  const info = (): TreeInfo => {
    const children: TreeChild[] = [];
    let restarts = 0;
    for (const c of dir.children) {
      restarts += c.restartCount;
      children.push(
        treeChild(c.spec.id, c.state, c.spec.type, c.restartCount),
      );
    }
    return { strategy: undefined, restarts, children };
  };
  setTreeHook(proc, info);
  views.set(dir, () => {
    const t = info();
    return { restarts: t.restarts, children: t.children.map(childView) };
  });
}

/** A tracker's state, as far as the hook reads. */
interface TrkLike {
  readonly name: string;
  readonly options: {
    readonly intensity: number;
    readonly periodMs: number;
    readonly afterTerminateTimeout: number;
    readonly backoff: object | null;
  };
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
  const info = (): TreeInfo => {
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
  };
  setTreeHook(proc, info);
  views.set(trk, () => {
    const o = trk.options;
    const t = info();
    return {
      name: trk.name,
      intensity: o.intensity,
      period: o.periodMs,
      restartsInWindow: t.restarts,
      afterTerminateTimeout: o.afterTerminateTimeout,
      ...(o.backoff !== null && { backoff: { ...o.backoff } }),
      children: t.children.map(childView),
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
    readonly tableName: string;
    readonly timeout: number;
    readonly onTimeout: string;
    readonly phase: "waiting" | "given";
    readonly handOffs: number;
    readonly table: { info(): { owner: unknown; size: number } | undefined };
  },
): void {
  proc.role = "table_manager";
  const info = (): TreeInfo => {
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
  };
  setTreeHook(proc, info);
  views.set(s, () => ({
    consumer: s.consumer,
    tableName: s.tableName,
    phase: s.phase,
    handOffs: s.handOffs,
    timeout: s.timeout,
    onTimeout: s.onTimeout,
    tableSize: s.table.info()?.size,
    children: info().children.map(childView),
  }));
}
