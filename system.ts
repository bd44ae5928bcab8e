/**
 * Introspection: every live process, every supervision tree and every table,
 * as plain snapshots, and a stream of what happens (spawns, exits, child
 * starts and restarts, table hand-overs). What an observer page, a
 * `/metrics` endpoint or a test reads; OTP's `erlang:processes/0`,
 * `process_info/2`, `supervisor:which_children/1` walked into a tree,
 * `ets:all/0` with `ets:info/1`, and a bounded `erlang:trace/3`.
 *
 * ## Snapshots
 * {@linkcode processes}, {@linkcode processSnapshot},
 * {@linkcode supervisionTrees} and {@linkcode tables} are synchronous and
 * return fresh plain objects, taken at the moment of the call: nothing in
 * them changes afterwards, and they are safe to JSON-encode once pids are
 * formatted with `String(pid)`. They never throw on what a process holds: a
 * name, a label, a child id or a reason may be any value, hostile ones
 * included (a child id is shown as its `formatTerm` text, which never runs a
 * getter nor a `toString` of a plain object).
 *
 * ## What it costs
 * Nothing measurable when nobody looks. A process record carries its kind,
 * parent, start time and two message counters (plain integer increments: no
 * allocation per message); a spawn reads no clock (a process that outlives
 * its first turn is stamped together with the others of that scheduler
 * pass, by one clock read); the live processes are found through a list
 * their records join once their first turn is over, so a process that ends
 * in its first turn never touches it. A record is about 64 bytes larger for
 * all this (BENCHMARKS.md, "Introspection"). While nobody subscribes to
 * {@linkcode events}, a spawn, an exit or a table hand-over costs one
 * check. A snapshot costs time in proportion to what it lists.
 *
 * ## Counters and estimates
 * - `messagesReceived` counts every message put in the process's mailbox,
 *   the library's own included (call requests, casts, EXIT and DOWN
 *   messages, timers); `messagesSent` counts what the process sent with
 *   `send`, `call` and `cast` (replies resolve promises and are not counted;
 *   exit signals and DOWN messages are the runtime's).
 * - `memory` is an estimate in bytes (the record, its mailbox's capacity,
 *   links and monitors; for tables, a fixed cost per record): JavaScript has
 *   no per-object heap accounting, unlike OTP's `memory` item. Use it to
 *   compare processes and spot a growing one, not as an exact figure.
 *
 * ## Differences from Erlang
 * - A process's kind (`"gen_server"`, `"supervisor"`...) is the behaviour it
 *   runs, set when it starts (OTP shows `'$initial_call'`). A `spawn` event
 *   reports the kind the process has when the event is handed to the
 *   subscriber, usually after its first turn, so a supervisor shows as
 *   `"supervisor"` rather than the `"gen_server"` it is built on.
 * - A director has no strategy and no intensity window: its tree's
 *   `strategy` is undefined and `restarts` counts the plan elements its
 *   children have run. A table manager's one child is its consumer (by
 *   registered name); it is shown but not counted as supervised by it.
 *
 * @example
 * ```ts
 * import { processes, supervisionTrees } from "@steward/steward/system";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 *
 * const sup = await supervisor.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * const tree = supervisionTrees().find((t) => t.pid === sup)!;
 * console.assert(tree.kind === "supervisor" && tree.children[0].id === '"w"');
 * console.assert(processes().some((p) => p.pid === tree.children[0].pid));
 * await supervisor.stop(sup);
 * ```
 *
 * @module
 */

import {
  currentProc,
  isListed,
  listOf,
  liveProcById,
  liveProcs,
  mailboxLength,
  messageCounts,
  type Monitor,
  monitorsOf,
  Pid,
  type Proc,
  type ProcessKind,
  procOf,
  setObserver,
  setProcLabel,
  startedAtOf,
  type SystemObserver,
  type TreeInfo,
} from "./_runtime.ts";
import { all as allTables } from "./ets.ts";
import { formatTerm } from "./_format.ts";
import { getClock } from "./clock.ts";
import { microtask } from "./_microtask.ts";
import * as supervisor from "./supervisor.ts";
import * as director from "./director.ts";
import * as tracker from "./tracker.ts";

export type { ProcessKind };

/** Where a process is: as {@linkcode processInfo}'s, plus `"exiting"`. */
export type ProcessStatus = "running" | "runnable" | "waiting" | "exiting";

/** One live process, as {@linkcode processes} sees it. */
export interface ProcessSnapshot {
  /** Its pid. */
  pid: Pid;
  /** Its registered name, if any. */
  name: string | undefined;
  /** The behaviour it runs (`"process"` for a plain spawned body). */
  kind: ProcessKind;
  /** Its label ({@linkcode setLabel}, or a `label` start option). */
  label: string | undefined;
  /**
   * `"running"`: its code is on the stack or inside an async step;
   * `"runnable"`: it has work queued; `"waiting"`: idle; `"exiting"`: dead,
   * its death being finished (seen only from code its death runs).
   */
  status: ProcessStatus;
  /** Messages waiting in its mailbox. */
  messageQueueLength: number;
  /** Messages put in its mailbox since it started. */
  messagesReceived: number;
  /** Messages it sent (send, call, cast) since it started. */
  messagesSent: number;
  /** The processes linked to it. */
  links: Pid[];
  /** The processes it monitors. */
  monitors: Pid[];
  /** The processes monitoring it. */
  monitoredBy: Pid[];
  /** Whether it traps exits. */
  trapExit: boolean;
  /** The process that spawned it (undefined for main). */
  parent: Pid | undefined;
  /**
   * When it was spawned, in whole clock ms (`getClock().now()`, read within
   * the scheduler pass that ran its first turn).
   */
  startedAt: number;
  /** Its size in bytes, estimated (see the module docs). */
  memory: number;
}

/** Where a supervised child is. */
export type ChildState =
  | "running"
  | "restarting"
  | "launching"
  | "terminating"
  | "stopped";

/** One child of a supervisor-like process. */
export interface ChildSnapshot {
  /** The child's id, as text (`formatTerm(id)`: `"db"` prints `'"db"'`). */
  id: string;
  /** Its pid while running or terminating. */
  pid: Pid | undefined;
  /** Where it is. */
  state: ChildState;
  /** When a delayed restart is due (clock ms), if one is. */
  restartAt: number | undefined;
  /** Its spec's type. */
  type: "worker" | "supervisor";
  /**
   * Its restarts: the restart attempts its exits caused (supervisor,
   * tracker; a group restart counts for the child that exited), the plan
   * elements it ran (director), the hand-offs after the first (table
   * manager).
   */
  restarts: number;
  /** Its own tree, when the child is supervisor-like. */
  tree: TreeSnapshot | undefined;
}

/** A supervisor-like process and its children. */
export interface TreeSnapshot {
  /** Its pid. */
  pid: Pid;
  /** Its registered name, if any. */
  name: string | undefined;
  /** What it is (`"supervisor"`, `"director"`, `"tracker"`...). */
  kind: ProcessKind;
  /** Its label, if any. */
  label: string | undefined;
  /** Its restart strategy, if it has one. */
  strategy: string | undefined;
  /** Restarts within its intensity window (a director: see module docs). */
  restarts: number;
  /** Its children, in start order. */
  children: ChildSnapshot[];
}

/** One table, as {@linkcode tables} sees it. */
export interface TableSnapshot {
  /**
   * A number unique to this table for the life of the program (names need
   * not be unique: unnamed tables share theirs). Table ids are never
   * reused.
   */
  id: number;
  /** Its name. */
  name: string;
  /** Its type. */
  type: "set" | "ordered_set" | "bag" | "duplicate_bag";
  /** The owning process. */
  owner: Pid;
  /** The heir, if set and alive. */
  heir: Pid | undefined;
  /** Who may read and write. */
  access: "public" | "protected" | "private";
  /** Number of records. */
  size: number;
  /** Its size in bytes, estimated (see the module docs). */
  memory: number;
}

/** Something that happened, as {@linkcode events} reports it. */
export type SystemEvent =
  & {
    /** When, in clock ms. */
    at: number;
  }
  & (
    | { type: "spawn"; pid: Pid; parent: Pid | undefined; kind: ProcessKind }
    | { type: "exit"; pid: Pid; reason: unknown }
    | {
      type: "child_started" | "child_restarted";
      supervisor: Pid;
      id: string;
      pid: Pid;
    }
    | {
      type: "child_exited";
      supervisor: Pid;
      id: string;
      pid: Pid;
      reason: unknown;
    }
    | {
      type: "restart_failed" | "give_up";
      supervisor: Pid;
      id: string | undefined;
      reason: unknown;
    }
    | { type: "table_transfer"; table: string; from: Pid; to: Pid }
    | { type: "dropped"; count: number }
  );

/** Options of {@linkcode events}. */
export interface EventsOptions {
  /**
   * Most events kept for the subscriber before the oldest are dropped: an
   * integer >= 1.
   * @default {1000}
   */
  bufferSize?: number;
  /** Ends the stream when it aborts. */
  signal?: AbortSignal;
}

// ------------------------------------------------------------ processes --

// Rough sizes (bytes, 64-bit V8) for the memory estimates: a process record
// with its pid; a mailbox slot; a link or monitor entry; a table and one of
// its records.
const PROC_BYTES = 400;
const SLOT_BYTES = 8;
const RELATION_BYTES = 48;
const TABLE_BYTES = 600;
const RECORD_BYTES = 120;

function statusOf(p: Proc): ProcessStatus {
  if (p.dead) return "exiting";
  if (p === currentProc()) return "running";
  if (p.scheduled || p.starting) return "runnable";
  if (p.waiter !== null) return "waiting";
  if (p.kind !== null && !p.busy) {
    return mailboxLength(p) > 0 ? "runnable" : "waiting";
  }
  return "running"; // inside an async step of its body or a callback
}

function monitoredPid(m: Monitor): Pid[] {
  return m.target === null ? [] : [m.target.pid];
}

function snapshotOf(p: Proc): ProcessSnapshot {
  const { held, on } = monitorsOf(p);
  const links = listOf(p.links).map((l) => l.pid);
  const label = p.meta?.label;
  const [received, sent] = messageCounts(p);
  return {
    pid: p.pid,
    name: p.name,
    kind: p.role,
    label,
    status: statusOf(p),
    messageQueueLength: mailboxLength(p),
    messagesReceived: received,
    messagesSent: sent,
    links,
    monitors: held.flatMap(monitoredPid),
    monitoredBy: on.map((m) => m.owner.pid),
    trapExit: p.trapExit,
    parent: p.parent?.pid,
    startedAt: startedAtOf(p),
    memory: PROC_BYTES + SLOT_BYTES * (p.mq?.length ?? 0) +
      RELATION_BYTES * (links.length + held.length + on.length) +
      2 * (label?.length ?? 0),
  };
}

/**
 * Every live process, the main process included, oldest first: OTP's
 * `erlang:processes/0` with `process_info/1` of each.
 *
 * @returns a fresh snapshot per process.
 *
 * @example
 * ```ts
 * import { processes } from "@steward/steward/system";
 * import { exit, spawn } from "@steward/steward/process";
 * const pid = spawn(() => new Promise(() => {}));
 * const mine = processes().find((p) => p.pid === pid)!;
 * console.assert(mine.kind === "process" && mine.status === "runnable");
 * console.assert(processes().some((p) => p.kind === "main"));
 * exit(pid, "kill");
 * console.assert(!processes().some((p) => p.pid === pid));
 * ```
 */
export function processes(): ProcessSnapshot[] {
  return liveProcs().map(snapshotOf);
}

/**
 * A live process's figures, as {@linkcode processFigures} gives them: the
 * fields of {@linkcode ProcessSnapshot} without the lists.
 */
export type ProcessFigures = Pick<
  ProcessSnapshot,
  | "pid"
  | "name"
  | "kind"
  | "label"
  | "status"
  | "messageQueueLength"
  | "messagesReceived"
  | "messagesSent"
  | "memory"
>;

/**
 * The figures of every live process, oldest first: the numbers of
 * {@linkcode processes} without the lists (links, monitors), cheap enough
 * to gather for 100,000 processes every second. Use
 * {@linkcode processSnapshot} for the whole snapshot of the ones you show.
 *
 * @returns a fresh record per process.
 *
 * @example
 * ```ts
 * import { processFigures } from "@steward/steward/system";
 * import { exit, self, send, spawn } from "@steward/steward/process";
 * const pid = spawn(() => new Promise(() => {}));
 * send(pid, "hello");
 * const mine = processFigures().find((p) => p.pid === pid)!;
 * console.assert(mine.kind === "process" && mine.messageQueueLength === 1);
 * console.assert(processFigures().some((p) => p.pid === self()));
 * exit(pid, "kill");
 * ```
 */
export function processFigures(): ProcessFigures[] {
  return liveProcs().map((p) => {
    const { held, on } = monitorsOf(p);
    const links = listOf(p.links).length;
    const [received, sent] = messageCounts(p);
    return {
      pid: p.pid,
      name: p.name,
      kind: p.role,
      label: p.meta?.label,
      status: statusOf(p),
      messageQueueLength: mailboxLength(p),
      messagesReceived: received,
      messagesSent: sent,
      memory: PROC_BYTES + SLOT_BYTES * (p.mq?.length ?? 0) +
        RELATION_BYTES * (links + held.length + on.length) +
        2 * (p.meta?.label?.length ?? 0),
    };
  });
}

/**
 * The live process written `text` (`<0.N.0>`, exactly as `String(pid)`
 * writes it), or `undefined` if there is none: Erlang's `list_to_pid/1`,
 * for live processes only (a pid is not forged for a dead one). It looks
 * the process up directly, without a snapshot of every process.
 *
 * @param text the pid as text.
 * @returns the pid, or undefined.
 * @throws {TypeError} if `text` is not a string.
 *
 * @example
 * ```ts
 * import { pidOf } from "@steward/steward/system";
 * import { exit, spawn } from "@steward/steward/process";
 * const pid = spawn(() => new Promise(() => {}));
 * console.assert(pidOf(String(pid)) === pid);
 * console.assert(pidOf("<0.007.0>") === undefined);
 * exit(pid, "kill");
 * console.assert(pidOf(String(pid)) === undefined);
 * ```
 */
export function pidOf(text: string): Pid | undefined {
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot pidOf: 'text' must be a string, got ${formatTerm(text)}`,
    );
  }
  const m = /^<0\.(0|[1-9]\d{0,14})\.0>$/.exec(text);
  if (m === null) return undefined;
  const p = liveProcById(Number(m[1]));
  return p === undefined || String(p.pid) !== text ? undefined : p.pid;
}

/**
 * One process's snapshot, or `undefined` if it has exited.
 *
 * @param pid the process.
 * @returns its snapshot (see {@linkcode ProcessSnapshot}).
 * @throws {TypeError} if `pid` is not a Pid.
 *
 * @example
 * ```ts
 * import { processSnapshot } from "@steward/steward/system";
 * import { self, send } from "@steward/steward/process";
 * const before = processSnapshot(self())!.messagesSent;
 * send(self(), "hello");
 * const me = processSnapshot(self())!;
 * console.assert(me.messagesSent === before + 1 && me.messageQueueLength >= 1);
 * ```
 */
export function processSnapshot(pid: Pid): ProcessSnapshot | undefined {
  if (!(pid instanceof Pid)) {
    throw new TypeError(
      `Cannot processSnapshot: 'pid' must be a Pid, got ${formatTerm(pid)}`,
    );
  }
  const p = procOf(pid);
  return !p.dead || isListed(p) ? snapshotOf(p) : undefined;
}

/**
 * Gives the calling process a label, shown by {@linkcode processes} and in
 * the trees (OTP 27's `proc_lib:set_label/1`). Any string; `""` clears it.
 *
 * @param label the label.
 * @throws {TypeError} if `label` is not a string.
 *
 * @example
 * ```ts
 * import { processSnapshot, setLabel } from "@steward/steward/system";
 * import { exit, receive, self, send, spawn } from "@steward/steward/process";
 * const main = self();
 * const pid = spawn(async () => {
 *   setLabel("worker 1");
 *   send(main, "labelled");
 *   await receive();
 * });
 * await receive((m) => m === "labelled");
 * console.assert(processSnapshot(pid)?.label === "worker 1");
 * exit(pid, "kill");
 * ```
 */
export function setLabel(label: string): void {
  if (typeof label !== "string") {
    throw new TypeError(
      `Cannot setLabel: 'label' must be a string, got ${formatTerm(label)}`,
    );
  }
  setProcLabel(currentProc(), label === "" ? undefined : label);
}

// ---------------------------------------------------------------- trees --

/** A process's tree info, or undefined (a hook that throws counts as none). */
function treeInfoOf(p: Proc): TreeInfo | undefined {
  const hook = p.meta?.tree;
  if (hook == null || p.dead) return undefined;
  try {
    return hook();
  } catch {
    return { strategy: undefined, restarts: 0, children: [] };
  }
}

function buildTree(
  p: Proc,
  info: TreeInfo,
  infos: Map<Proc, TreeInfo>,
  seen: Set<Proc>,
): TreeSnapshot {
  seen.add(p);
  const nests = p.role !== "table_manager";
  const children: ChildSnapshot[] = info.children.map((c) => {
    let tree: TreeSnapshot | undefined;
    if (nests && c.pid !== undefined) {
      const child = procOf(c.pid);
      const childInfo = infos.get(child);
      if (childInfo !== undefined && !seen.has(child)) {
        tree = buildTree(child, childInfo, infos, seen);
      }
    }
    return {
      id: formatTerm(c.id),
      pid: c.pid,
      state: c.state,
      restartAt: c.restartAt,
      type: c.type,
      restarts: c.restarts,
      tree,
    };
  });
  return {
    pid: p.pid,
    name: p.name,
    kind: p.role,
    label: p.meta?.label,
    strategy: info.strategy,
    restarts: info.restarts,
    children,
  };
}

/**
 * Every supervision tree: the supervisor-like processes (supervisors,
 * dynamic and task supervisors, directors, trackers, table managers) that
 * no other supervisor-like process supervises, each with its children and,
 * nested, theirs. OTP's observer "Applications" tab, from
 * `which_children/1` walked down.
 *
 * @returns a fresh snapshot per root, oldest first.
 *
 * @example
 * ```ts
 * import { supervisionTrees } from "@steward/steward/system";
 * import * as supervisor from "@steward/steward/supervisor";
 * const inner = { id: "inner", type: "supervisor" as const,
 *   start: () => supervisor.startLink({ children: [] }) };
 * const top = await supervisor.start({ strategy: "one_for_all", children: [inner] });
 * const tree = supervisionTrees().find((t) => t.pid === top)!;
 * console.assert(tree.strategy === "one_for_all");
 * console.assert(tree.children[0].tree?.kind === "supervisor");
 * console.assert(!supervisionTrees().some((t) => t.pid === tree.children[0].pid));
 * await supervisor.stop(top);
 * ```
 */
export function supervisionTrees(): TreeSnapshot[] {
  const infos = new Map<Proc, TreeInfo>();
  const order: Proc[] = [];
  for (const p of liveProcs()) {
    const info = treeInfoOf(p);
    if (info === undefined) continue;
    infos.set(p, info);
    order.push(p);
  }
  const supervised = new Set<Proc>();
  for (const [p, info] of infos) {
    if (p.role === "table_manager") continue;
    for (const c of info.children) {
      if (c.pid !== undefined) supervised.add(procOf(c.pid));
    }
  }
  const seen = new Set<Proc>();
  const roots: TreeSnapshot[] = [];
  for (const p of order) {
    if (supervised.has(p) || seen.has(p)) continue;
    roots.push(buildTree(p, infos.get(p)!, infos, seen));
  }
  // Supervised only by each other (a cycle no root reaches): shown anyway.
  for (const p of order) {
    if (!seen.has(p)) roots.push(buildTree(p, infos.get(p)!, infos, seen));
  }
  return roots;
}

// --------------------------------------------------------------- tables --

/**
 * Every live table with its owner, heir, access and size: OTP's `ets:all/0`
 * with `ets:info/1` of each. Private tables are listed too (their data is
 * not read).
 *
 * @returns a fresh snapshot per table, in creation order.
 *
 * @example
 * ```ts
 * import { tables } from "@steward/steward/system";
 * import { create } from "@steward/steward/ets";
 * import { self } from "@steward/steward/process";
 * const t = create("inventory", { type: "bag" });
 * t.insert(["apples", 3]);
 * const info = tables().find((x) => x.name === "inventory")!;
 * console.assert(info.type === "bag" && info.size === 1 && info.owner === self());
 * t.destroy();
 * ```
 */
export function tables(): TableSnapshot[] {
  const list: TableSnapshot[] = [];
  for (const t of allTables()) {
    const info = t.info();
    if (info === undefined) continue;
    list.push({
      id: tableId(t),
      name: info.name,
      type: info.type,
      owner: info.owner,
      heir: info.heir,
      access: info.access,
      size: info.size,
      memory: TABLE_BYTES + RECORD_BYTES * info.size +
        2 * info.name.length,
    });
  }
  return list;
}

const tableIds = new WeakMap<object, number>();
let lastTableId = 0;

/** The id of `t`, given the first time a snapshot sees it. */
function tableId(t: object): number {
  let id = tableIds.get(t);
  if (id === undefined) tableIds.set(t, id = ++lastTableId);
  return id;
}

// --------------------------------------------------------------- events --

const DEFAULT_BUFFER = 1000;

function now(): number {
  try {
    return getClock().now();
  } catch {
    return NaN;
  }
}

/** One events() stream. */
class Subscription implements AsyncIterableIterator<SystemEvent> {
  readonly #size: number;
  /** Buffered events, oldest first: buffer[head..]. */
  #buffer: SystemEvent[] = [];
  #head = 0;
  /** Events dropped since the subscriber last read (oldest ones). */
  #dropped = 0;
  /** The pending next() calls, oldest first. */
  #waiters: ((r: IteratorResult<SystemEvent>) => void)[] = [];
  /** A hand-over to the pending next() calls is queued. */
  #queued = false;
  #done = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#end();

  constructor(size: number, signal: AbortSignal | undefined) {
    this.#size = size;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  push(event: SystemEvent): void {
    if (this.#buffer.length - this.#head >= this.#size) {
      this.#buffer[this.#head++] = undefined!;
      this.#dropped++;
    }
    this.#buffer.push(event);
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    // Handed over on a later microtask: a process spawned now has run its
    // first turn by then, and set its kind.
    if (this.#waiters.length > 0 && !this.#queued) {
      this.#queued = true;
      microtask(this.#handOver);
    }
  }

  /** Answers the waiting next() calls, oldest first, while events remain. */
  readonly #handOver = () => {
    this.#queued = false;
    while (this.#waiters.length > 0) {
      const e = this.#take();
      if (e === undefined) return;
      this.#waiters.shift()!({ value: e, done: false });
    }
  };

  #take(): SystemEvent | undefined {
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      return { type: "dropped", count, at: now() };
    }
    if (this.#head >= this.#buffer.length) return undefined;
    const e = this.#buffer[this.#head];
    this.#buffer[this.#head++] = undefined!;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    }
    // A spawn reports the kind the process has now (see the module docs).
    return e.type === "spawn" ? { ...e, kind: procOf(e.pid).role } : e;
  }

  next(): Promise<IteratorResult<SystemEvent>> {
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    // Earlier next() calls still waiting are answered first.
    const e = this.#waiters.length === 0 ? this.#take() : undefined;
    if (e !== undefined) return Promise.resolve({ value: e, done: false });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<SystemEvent>> {
    this.#end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SystemEvent> {
    return this;
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#buffer = [];
    this.#head = this.#dropped = 0;
    unsubscribe(this);
    // Every pending next() ends.
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve({ value: undefined, done: true });
  }
}

const subscribers = new Set<Subscription>();
/** Unsubscribes from the supervisor-like modules' event hubs. */
let offHubs: (() => void)[] = [];

function broadcast(event: SystemEvent): void {
  for (const s of subscribers) s.push(event);
}

const observer: SystemObserver = {
  spawned(proc) {
    broadcast({
      type: "spawn",
      at: now(),
      pid: proc.pid,
      parent: proc.parent?.pid,
      kind: proc.role,
    });
  },
  exited(proc, reason) {
    broadcast({ type: "exit", at: now(), pid: proc.pid, reason });
  },
  transferred(table, from, to) {
    broadcast({
      type: "table_transfer",
      at: now(),
      table,
      from: from.pid,
      to: to.pid,
    });
  },
};

/** A child event of a supervisor, director or tracker, in our terms. */
function childEvent(
  sup: Pid,
  e: { type: string; id?: unknown; pid?: Pid; reason?: unknown },
): void {
  const at = now();
  switch (e.type) {
    case "child_started":
    case "child_adopted":
      broadcast({
        type: "child_started",
        at,
        supervisor: sup,
        id: formatTerm(e.id),
        pid: e.pid!,
      });
      return;
    case "child_restarted":
      // A restart whose start returned "ignore" has no pid: not a restart
      // a viewer can follow.
      if (e.pid === undefined) return;
      broadcast({
        type: "child_restarted",
        at,
        supervisor: sup,
        id: formatTerm(e.id),
        pid: e.pid,
      });
      return;
    case "child_exited":
    case "child_terminated":
      broadcast({
        type: "child_exited",
        at,
        supervisor: sup,
        id: formatTerm(e.id),
        pid: e.pid!,
        reason: e.reason,
      });
      return;
    case "restart_failed":
    case "gave_up":
      broadcast({
        type: e.type === "gave_up" ? "give_up" : "restart_failed",
        at,
        supervisor: sup,
        id: e.id === undefined ? undefined : formatTerm(e.id),
        reason: e.reason,
      });
      return;
  }
}

function subscribe(s: Subscription): void {
  subscribers.add(s);
  if (subscribers.size > 1) return;
  setObserver(observer);
  offHubs = [
    supervisor.subscribe((e) => childEvent(e.supervisor, e)),
    director.subscribe((e) => childEvent(e.director, e)),
    tracker.subscribe((e) => childEvent(e.tracker, e)),
  ];
}

function unsubscribe(s: Subscription): void {
  if (!subscribers.delete(s) || subscribers.size > 0) return;
  setObserver(null);
  for (const off of offHubs) off();
  offHubs = [];
}

/**
 * A stream of what happens from now on: spawns and exits of processes,
 * child starts, exits and restarts in supervisors, directors and trackers,
 * failed restarts and give-ups, table hand-overs (heir or `giveAway`).
 * Buffered up to `bufferSize` events: when the subscriber falls behind, the
 * oldest are dropped and a `"dropped"` event, where they were, says how
 * many. Ends when `signal` aborts or on `return()` (a `for await` loop's
 * `break`); until then it buffers what nobody reads, so end a stream you
 * stop reading. With no subscriber, emitting costs one check.
 *
 * @param options `bufferSize` (default 1000), `signal`.
 * @returns an async iterator of {@linkcode SystemEvent}s.
 * @throws {TypeError} for an unknown option or a `signal` that is not an
 *   AbortSignal.
 * @throws {RangeError} if `bufferSize` is not an integer >= 1.
 *
 * @example
 * ```ts
 * import { events } from "@steward/steward/system";
 * import { spawn } from "@steward/steward/process";
 * const stream = events();
 * const pid = spawn(() => {});
 * const seen: string[] = [];
 * for await (const e of stream) {
 *   if ("pid" in e && e.pid === pid) seen.push(e.type);
 *   if (e.type === "exit" && e.pid === pid) break; // ends the stream
 * }
 * console.assert(seen.join() === "spawn,exit");
 * ```
 */
export function events(
  options?: EventsOptions,
): AsyncIterableIterator<SystemEvent> {
  let size = DEFAULT_BUFFER;
  let signal: AbortSignal | undefined;
  if (options !== undefined) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `Cannot events: 'options' must be an object, got ${
          formatTerm(options)
        }`,
      );
    }
    for (const key of Object.keys(options)) {
      if (key !== "bufferSize" && key !== "signal") {
        throw new TypeError(
          `Cannot events: unknown option ${
            JSON.stringify(key)
          } (known: bufferSize, signal)`,
        );
      }
    }
    const b = options.bufferSize;
    if (b !== undefined) {
      if (typeof b !== "number") {
        throw new TypeError(
          `Cannot events: 'bufferSize' must be an integer >= 1, got ${
            formatTerm(b)
          }`,
        );
      }
      if (!Number.isInteger(b) || b < 1) {
        throw new RangeError(
          `Cannot events: 'bufferSize' must be an integer >= 1, got ${
            formatTerm(b)
          }`,
        );
      }
      size = b;
    }
    const sig = options.signal;
    if (sig !== undefined) {
      if (!(sig instanceof AbortSignal)) {
        throw new TypeError(
          `Cannot events: 'signal' must be an AbortSignal, got ${
            formatTerm(sig)
          }`,
        );
      }
      signal = sig;
    }
  }
  const s = new Subscription(size, signal);
  if (signal?.aborted) {
    void s.return();
    return s;
  }
  subscribe(s);
  return s;
}
