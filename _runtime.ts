// The process runtime: process records, the scheduler, exit signals, links,
// monitors and the name registry. process.ts is the public face (argument
// checks, docs); gen_server.ts and the supervisors build on the internals
// exported here.
//
// Invariants worth knowing before changing anything:
// - Delivery is asynchronous: `deliver` only appends to a mailbox and puts the
//   process on the run queue; the receiver's code runs later, from `drain`, a
//   microtask. So per-sender order holds (one global FIFO) and no receiver code
//   ever runs on a sender's stack.
// - Exit signals are processed synchronously, in `exitSignal` and `kill`: a
//   killed process is dead when `exit()` returns. Deaths are finished one at a
//   time from a queue (`dying`), so a chain of 100,000 links does not recurse.
// - A dead process keeps its record (pids may be held forever) but drops its
//   mailbox, links, monitors and body, so a dead pid costs a few words.

import {
  armHere,
  callAs,
  CHEAP_SWITCH,
  current,
  inContext,
  swapCurrent,
} from "./_context.ts";
import { ExitError, TimeoutError } from "./errors.ts";
import {
  cancelTimeout,
  hasLaterTimeouts,
  startLaterTimeouts,
  startTimeout,
  startTimeoutLater,
  Timed,
} from "./_timers.ts";
import { microtask } from "./_microtask.ts";
import { reportInternalError } from "./_report.ts";
import { thenOf } from "./_safe.ts";
import { enabled, log } from "./_logger.ts";
import { getClock } from "./clock.ts";

/** A message-driven body: one callback per message, no suspended frame. */
export interface Kind {
  /**
   * Handles one message for `proc` (its data is in `proc.data`). May return a
   * promise: the process takes no further message until it settles. Must not
   * throw or reject: a kind turns its user callbacks' failures into exits.
   */
  dispatch(proc: Proc, message: unknown): void | PromiseLike<void>;
  /** Releases what the kind holds (timers) when the process dies. */
  released?(proc: Proc): void;
  /** Stops the process cleanly, resolving once it is dead (for disposal). */
  stop?(proc: Proc, reason: unknown): Promise<void>;
  /**
   * Set on the kind of a remote pid's stand-in (cluster.ts). Such a record
   * is created dead, so every local path already leaves it alone at its
   * `dead` check; the few that serve remote pids look for this flag inside
   * that branch only (see {@linkcode isRemote}), so a local process pays
   * nothing for the cluster.
   */
  readonly remote?: RemoteKind;
}

/**
 * The kind of a remote pid's stand-in: where a message, a request or an
 * exit signal to a remote pid goes (cluster.ts, through the node's
 * transport). `dispatch` runs on the sender's stack and may throw a
 * TypeError for a message that cannot cross.
 */
export interface RemoteKind extends Kind {
  readonly remote: RemoteKind;
  /** An exit signal from a local process to the remote one. */
  exit(from: Proc, to: Proc, reason: unknown, isLink: boolean): void;
  /** How the remote pid prints: `<node~incarnation.N.0>`. */
  describe(proc: Proc): string;
  /** A watcher (a monitor) was added to the stand-in `proc`. */
  watched(proc: Proc): void;
  /** `from` linked itself to the stand-in `to` (the link is made here). */
  link(from: Proc, to: Proc): void;
  /** `from` removed its link to the stand-in `to`. */
  unlink(from: Proc, to: Proc): void;
}

/** Whether a dead record is a remote pid's stand-in (call only when dead). */
export function isRemote(proc: Proc): boolean {
  return proc.kind !== null && proc.kind.remote !== undefined;
}

/**
 * A stand-in for a remote pid: a record born dead, so local paths leave it
 * alone, whose kind carries what goes to it to the other node.
 */
export function remoteProc(kind: RemoteKind, data: unknown): Proc {
  const proc = new Proc(data);
  proc.dead = true;
  proc.reason = "noconnection";
  proc.kind = kind;
  return proc;
}

/** A dead local pid (a pid of ours that came back after it was gone). */
export function deadProc(reason: unknown): Proc {
  const proc = new Proc(undefined);
  proc.dead = true;
  proc.reason = reason;
  return proc;
}

/** Someone waiting on a process's death (a monitor, a pending call). */
export interface DownWatcher {
  /** The process that set the watch; its death removes the watch. */
  readonly owner: Proc | null;
  /** Called once, synchronously, while `target` dies. Must not throw. */
  down(target: Proc, reason: unknown): void;
}

/** A wait (call, start, stop) that must end if the waiting process dies. */
export interface Wait {
  /**
   * Called once, synchronously, while the waiting process dies. `silent`:
   * it died past its lease's deadline (see {@linkcode ProcLease}): end the
   * wait without settling what its code awaits, so none of it runs.
   */
  abort(reason: unknown, silent?: boolean): void;
}

/** A resource owned by a process, released when it dies (tables use it). */
export type ResourceHook = (proc: Proc) => void;

type Many<T> = T | Set<T> | null;

function addTo<T extends object>(c: Many<T>, x: T): Many<T> {
  if (c === null || c === x) return x;
  if (c instanceof Set) return c.add(x);
  return new Set([c, x]);
}

function removeFrom<T extends object>(c: Many<T>, x: T): Many<T> {
  if (c === x) return null;
  if (c instanceof Set) {
    c.delete(x);
    if (c.size === 1) return c.values().next().value!;
    return c.size === 0 ? null : c;
  }
  return c;
}

function hasIn<T extends object>(c: Many<T>, x: T): boolean {
  return c === x || (c instanceof Set && c.has(x));
}

/** The elements of a one-or-many collection, as an array. */
export function listOf<T extends object>(c: Many<T>): T[] {
  if (c === null) return [];
  return c instanceof Set ? [...c] : [c];
}

let nextId = 0;
const noop = () => {};

/** The process record. Fields are grouped by concern; see each comment. */
export class Proc {
  /** The public handle. */
  readonly pid: Pid;
  /** Unique, increasing; `<0.id.0>`. */
  readonly id: number;

  // -- life --
  dead = false;
  /** The exit reason, once dead. */
  reason: unknown = undefined;
  /** A body waiting for its first run (function bodies only). */
  starting = false;
  trapExit = false;
  /** The registered name, if any. */
  name: string | undefined = undefined;

  // -- mailbox: a ring buffer; mq[(mqHead + k) & (mq.length - 1)] is the
  //    k-th oldest of the mqLen pending messages; capacity a power of two --
  mq: unknown[] | null = null;
  mqHead = 0;
  mqLen = 0;
  /** On the run queue. */
  scheduled = false;
  /** A message-driven process whose last callback has not settled yet. */
  busy = false;
  /**
   * The oldest pending `receive`, if any; the others follow through
   * `Receiver.next`, in the order they started (DESIGN decision 11).
   */
  waiter: Receiver | null = null;
  /** The newest pending `receive` (the list's tail). */
  lastWaiter: Receiver | null = null;
  /**
   * While receives are pending: this many of the oldest messages were offered
   * to every pending receive and none took them.
   */
  scanned = 0;
  /** A receive record kept for reuse (the common case: one at a time). */
  receiver: Receiver | null = null;

  // -- message-driven body: kind.dispatch(proc, msg) with its data --
  kind: Kind | null = null;
  data: unknown;
  /**
   * Deno only (see turn()): starts this process's next turn in its own
   * async context, from a promise reaction armed there. One shot.
   */
  wake: ((proc: unknown) => void) | null = null;

  // -- relations --
  links: Many<Proc> = null;
  /** Watchers of this process (monitors on it, pending calls to it). */
  watchers: Many<DownWatcher> = null;
  /** Monitors this process holds on others (removed when it dies). */
  watching: Many<Monitor> = null;
  /** Calls, starts and stops this process waits on. */
  waits: Many<Wait> = null;
  /** Released on death, before EXIT and DOWN go out. */
  resources: ResourceHook[] | null = null;
  controller: AbortController | null = null;

  // -- introspection (system.ts): set once or counted, never allocated per
  //    message --
  /** What it is, for processes() (a behaviour sets it in its init). */
  role: ProcessKind = "process";
  /**
   * The process that spawned it (cleared on its own death, so dead
   * ancestors are not kept alive in a chain).
   */
  parent: Proc | null = null;
  /**
   * When it was spawned, on the clock of the time, in whole ms; UNSTAMPED
   * until stamped (see stampAll): a spawn reads no clock.
   */
  startedAt: number = UNSTAMPED;
  /**
   * Messages put in its mailbox, modulo COUNTER_WRAP (the carries are in
   * `meta`: the field stays a small integer, stored inline).
   */
  received = 0;
  /** Messages it sent (send, call, cast), likewise. */
  sent = 0;
  /** Neighbours in the list of live processes, oldest first. */
  prevLive: Proc | null = null;
  nextLive: Proc | null = null;
  /** Its label and tree hook, when it has either (few processes do). */
  meta: ProcMeta | null = null;
  /**
   * The lease it runs under (a cluster tracker's child and what it spawns),
   * or null: past the lease's deadline none of its code runs (see
   * {@linkcode leaseLapsed}).
   */
  lease: ProcLease | null = null;

  constructor(data: unknown) {
    this.id = nextId++;
    this.data = data;
    this.pid = makePid(this);
  }
}

/**
 * A lease a process runs under (cluster_tracker.ts). Once `deadline()` (ms
 * on `getClock()`) has passed, the scheduler runs none of the process's
 * code: before a turn, a receive's resumption or a timer's action it calls
 * `lapsed()` (which fences: kills every process of the lease) and kills the
 * process itself if it still lives.
 */
export interface ProcLease {
  /** The fence deadline, on `getClock().now()`; -Infinity once fenced. */
  deadline(): number;
  /** Called (synchronously) when a process is found past the deadline. */
  lapsed(): void;
}

/**
 * Whether `proc` runs under a lease whose deadline has passed; if so, the
 * lease is fenced and `proc` killed (reason `"killed"`) before this returns,
 * so the caller runs none of its code. Callers check `proc.lease !== null`
 * first: the normal path pays one field check.
 */
export function leaseLapsed(proc: Proc): boolean {
  const lease = proc.lease;
  if (lease === null || !pastLease(lease)) return false;
  try {
    lease.lapsed();
  } catch (error) {
    reportInternalError("a lease's fence threw", error);
  }
  if (!proc.dead) kill(proc, "killed");
  return true;
}

/** Whether `lease`'s deadline has passed (a throwing lease has lapsed). */
function pastLease(lease: ProcLease): boolean {
  let deadline: number;
  try {
    deadline = lease.deadline();
  } catch (error) {
    reportInternalError("a lease's deadline threw", error);
    return true;
  }
  return !(getClock().now() < deadline);
}

/**
 * What few processes have: a label, a tree hook, the carries of counters
 * that passed COUNTER_WRAP.
 */
export interface ProcMeta {
  /** A free label (system.ts's setLabel). */
  label: string | undefined;
  /** A supervisor-like process's children, for supervisionTrees(). */
  tree: TreeHook | null;
  /** COUNTER_WRAP times the wraps of `received`, and of `sent`. */
  receivedCarry: number;
  sentCarry: number;
}

function metaOf(proc: Proc): ProcMeta {
  return proc.meta ??= {
    label: undefined,
    tree: null,
    receivedCarry: 0,
    sentCarry: 0,
  };
}

/** Sets `proc`'s label (undefined clears it). */
export function setProcLabel(proc: Proc, label: string | undefined): void {
  if (proc.meta !== null || label !== undefined) metaOf(proc).label = label;
}

/** Installs `proc`'s tree hook (a supervisor-like process's init does). */
export function setTreeHook(proc: Proc, tree: TreeHook): void {
  metaOf(proc).tree = tree;
}

/**
 * Where the message counters wrap into `meta`: below V8's smallest Smi
 * limit (2^30 with pointer compression), so a counter never turns the
 * field into a boxed double (which would cost every process a heap number).
 */
const COUNTER_WRAP = 0x3fffffff;

/** Counts a message `proc` sent. */
export function countSent(proc: Proc): void {
  if (++proc.sent === COUNTER_WRAP) {
    proc.sent = 0;
    metaOf(proc).sentCarry += COUNTER_WRAP;
  }
}

/** Messages put in `proc`'s mailbox, and sent by it, since it started. */
export function messageCounts(proc: Proc): [received: number, sent: number] {
  const m = proc.meta;
  return m === null
    ? [proc.received, proc.sent]
    : [m.receivedCarry + proc.received, m.sentCarry + proc.sent];
}

/** What a process is, as processes() reports it. */
export type ProcessKind =
  | "process"
  | "gen_server"
  | "supervisor"
  | "dynamic_supervisor"
  | "task_supervisor"
  | "director"
  | "tracker"
  | "table_manager"
  | "task"
  | "application"
  | "main";

/** A supervisor-like process's child, as its tree hook reports it. */
export interface TreeChild {
  /** The child's id (any term; system.ts formats it). */
  id: unknown;
  pid: Pid | undefined;
  state: "running" | "restarting" | "launching" | "terminating" | "stopped";
  /** When a delayed restart is due (clock ms), if one is. */
  restartAt: number | undefined;
  type: "worker" | "supervisor";
  /** Restarts of this child (its own count where the module keeps one). */
  restarts: number;
}

/** A supervisor-like process's view of itself, for supervisionTrees(). */
export interface TreeInfo {
  strategy: string | undefined;
  /** Restarts within its intensity window. */
  restarts: number;
  children: TreeChild[];
}

/**
 * Returns the tree of a supervisor-like process (called on its record, from
 * outside its turn: must only read its state, and may throw: system.ts
 * catches).
 */
export type TreeHook = () => TreeInfo;

// The live processes, for system.ts: a doubly linked list through the
// records, which a process joins when its first turn is over (addLive, from
// turn()) and leaves when it dies. So a process that ends in its first turn
// (a task, a short job) never touches it: a spawn writes nothing but its own
// record. The ones still to run their first turn are on the run queue, and
// the one running it is the current process: liveProcs() adds them.
let firstLive: Proc | null = null;
let lastLive: Proc | null = null;

/** Puts `proc` on the live list (once, while alive). */
function addLive(proc: Proc): void {
  const last = lastLive;
  proc.prevLive = last;
  if (last === null) firstLive = proc;
  else last.nextLive = proc;
  lastLive = proc;
}

/**
 * The live process numbered `id` (its pid is `<0.id.0>`), or undefined:
 * the processes liveProcs lists, found without building their array.
 */
export function liveProcById(id: number): Proc | undefined {
  for (let p = firstLive; p !== null; p = p.nextLive) {
    if (p.id === id) return p;
  }
  for (let i = runHead; i < runLen; i++) {
    const p = runQueue[i];
    if (p.id === id && p.starting && !p.dead) return p;
  }
  const current = currentProc();
  if (current.id === id && !current.dead && !current.starting) return current;
  return undefined;
}

/** The live processes, oldest first (a fresh array). */
export function liveProcs(): Proc[] {
  const all: Proc[] = [];
  for (let p = firstLive; p !== null; p = p.nextLive) all.push(p);
  for (let i = runHead; i < runLen; i++) {
    const p = runQueue[i];
    if (p.starting && !p.dead) all.push(p);
  }
  const current = currentProc();
  if (!current.dead && !isListed(current) && !current.starting) {
    all.push(current); // in its first turn
  }
  return all.sort((a, b) => a.id - b.id);
}

/**
 * Whether `proc` is on the live list (alive past its first turn, or dead
 * with its death not finished).
 */
export function isListed(proc: Proc): boolean {
  return proc.prevLive !== null || firstLive === proc;
}

function unlinkLive(proc: Proc): void {
  const prev = proc.prevLive;
  const next = proc.nextLive;
  if (prev === null) {
    if (firstLive === proc) firstLive = next;
  } else prev.nextLive = next;
  if (next === null) {
    if (lastLive === proc) lastLive = prev;
  } else next.prevLive = prev;
  proc.prevLive = proc.nextLive = null;
}

// Start times. Reading the clock costs 40-90 ns, as much as a tenth of a
// spawn, so a spawn reads none: a process that survives its first turn is
// put on a list, stamped with one clock read for the whole list when that
// drain ends (within a scheduler slice of its spawn; a loop spawning
// thousands pays one read), and one that dies in its first turn, which no
// snapshot could have seen, is never stamped. A snapshot stamps a process
// it finds unstamped (spawned, its first turn still to come).

/** `startedAt` of a process not stamped yet (a Smi, not a real time). */
const UNSTAMPED = -0x40000000;
/** Processes to stamp when the current drain ends: unstamped[0..len). */
let unstamped: Proc[] = [];
let unstampedLen = 0;

function stampAll(): void {
  const t = clockNow();
  for (let i = 0; i < unstampedLen; i++) {
    const p = unstamped[i];
    if (p.startedAt === UNSTAMPED) p.startedAt = t;
    unstamped[i] = undefined!;
  }
  // A burst of spawns grew it: let the memory go.
  if (unstampedLen > 1024) unstamped = [];
  unstampedLen = 0;
}

/** When `proc` was spawned (clock ms), stamping it now if it is not yet. */
export function startedAtOf(proc: Proc): number {
  if (proc.startedAt === UNSTAMPED) proc.startedAt = clockNow();
  return proc.startedAt;
}

/** The clock's time in whole ms; a clock whose `now` throws gives NaN. */
function clockNow(): number {
  try {
    return Math.floor(getClock().now());
  } catch {
    return NaN;
  }
}

/**
 * What system.ts listens with: one function for spawns and deaths, set
 * only while someone subscribes to events() (else one boolean check).
 */
export interface SystemObserver {
  spawned(proc: Proc): void;
  exited(proc: Proc, reason: unknown): void;
  transferred(table: string, from: Proc, to: Proc): void;
}

/** The observer, while events() has subscribers (see setObserver). */
let observer: SystemObserver | null = null;

/** Installs (or, with null, removes) the spawn/exit observer. */
export function setObserver(o: SystemObserver | null): void {
  observer = o;
}

/** A table changed owner (ets.ts tells; one check when nobody observes). */
export function tableTransferred(table: string, from: Proc, to: Proc): void {
  if (observer !== null) observer.transferred(table, from, to);
}

let makePid: (proc: Proc) => Pid;
let procOfPid: (pid: Pid) => Proc;
let procOfValue: (value: unknown) => Proc | undefined;

/**
 * A process identifier. Opaque: compare with `===`, print with `String(pid)`
 * (`<0.42.0>`), send to it, link to it, monitor it.
 *
 * @example
 * ```ts
 * import { spawn, Pid } from "@steward/steward/process";
 * const pid = spawn(() => {});
 * console.assert(pid instanceof Pid && /^<0\.\d+\.0>$/.test(String(pid)));
 * ```
 */
export class Pid {
  readonly #proc: Proc;

  private constructor(proc: Proc) {
    this.#proc = proc;
  }

  /**
   * An `AbortSignal` that aborts when this process exits; its `reason` is an
   * `ExitError` carrying the exit reason. Pass it to `fetch` and other
   * cancellable work so a killed process's I/O stops with it.
   *
   * @example
   * ```ts
   * import { spawn, exit } from "@steward/steward/process";
   * const pid = spawn(async (self) => {
   *   await new Promise((resolve) => self.signal.addEventListener("abort", resolve));
   * });
   * exit(pid, "kill");
   * await new Promise((r) => pid.signal.addEventListener("abort", r));
   * console.assert(pid.signal.aborted);
   * ```
   */
  get signal(): AbortSignal {
    const p = this.#proc;
    if (p.controller === null) {
      p.controller = new AbortController();
      if (p.dead) p.controller.abort(new ExitError(p.reason));
    }
    return p.controller.signal;
  }

  /**
   * Ends the process when an `await using` scope exits: a gen_server is
   * stopped with reason `"shutdown"` (its `terminate` runs), any other
   * process is killed. Resolves once it is dead; a dead process is left alone,
   * so disposing twice is fine.
   *
   * @example
   * ```ts
   * import { start } from "@steward/steward/gen-server";
   * import { isAlive } from "@steward/steward/process";
   * let pid;
   * {
   *   await using server = await start({ init: () => ["ok", null] }, undefined);
   *   pid = server;
   * }
   * console.assert(!isAlive(pid));
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const p = this.#proc;
    if (p.dead) return;
    if (p.kind?.stop !== undefined) return await p.kind.stop(p, "shutdown");
    kill(p, "killed");
  }

  /**
   * `<0.N.0>`, as Erlang prints pids; a remote pid shows its node:
   * `<node~incarnation.N.0>` (cluster.ts).
   */
  toString(): string {
    const p = this.#proc;
    if (p.dead && p.kind !== null && p.kind.remote !== undefined) {
      return p.kind.remote.describe(p);
    }
    return `<0.${p.id}.0>`;
  }

  /** Node's and Deno's inspectors print `<0.N.0>` too. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** `Pid <0.N.0>` in `Object.prototype.toString` and inspectors. */
  get [Symbol.toStringTag](): string {
    return `Pid ${this.toString()}`;
  }

  /**
   * `value instanceof Pid` is a brand check: true only for real pids, and it
   * runs no code of `value`'s (a Proxy's `getPrototypeOf` trap may throw, and
   * a Proxy of a pid is not a pid).
   *
   * @example
   * ```ts
   * import { self, Pid } from "@steward/steward/process";
   * console.assert(self() instanceof Pid);
   * console.assert(!(new Proxy(self(), {}) instanceof Pid));
   * ```
   */
  static [Symbol.hasInstance](value: unknown): value is Pid {
    return typeof value === "object" && value !== null && #proc in value;
  }

  static {
    makePid = (proc) => new Pid(proc);
    procOfPid = (pid) => pid.#proc;
    procOfValue = (value) => {
      try {
        return (value as Pid).#proc;
      } catch {
        return undefined; // not a pid (a Proxy of one included)
      }
    };
  }
}

/** The record behind a pid. */
export function procOf(pid: Pid): Proc {
  return procOfPid(pid);
}

/**
 * The record behind `value` if it is a pid, else undefined. For the hot
 * paths (send, call): as fast as a field read for a pid, where `instanceof
 * Pid` calls its `Symbol.hasInstance`; runs no code of `value`'s.
 */
export function procOfAny(value: unknown): Proc | undefined {
  return procOfValue(value);
}

let nextRef = 0;
/** How refs made for other nodes' refs print (cluster.ts fills it). */
export const remoteRefNames: WeakMap<Ref, string> = new WeakMap();
let monitorOfRef: (ref: Ref) => Monitor | null;
let refNumberOf: (ref: Ref) => number;
let makeRef: (monitor: Monitor | null) => Ref;
let clearRef: (ref: Ref) => void;

/**
 * A unique reference naming one monitor; it comes back as the second element
 * of the monitor's `["DOWN", ref, "process", item, reason]` message.
 *
 * @example
 * ```ts
 * import { monitor, spawn, Ref } from "@steward/steward/process";
 * const ref = monitor(spawn(() => {}));
 * console.assert(ref instanceof Ref && String(ref).startsWith("#Ref<"));
 * ```
 */
export class Ref {
  readonly #id: number;
  #monitor: Monitor | null;

  private constructor(monitor: Monitor | null) {
    this.#id = nextRef++;
    this.#monitor = monitor;
  }

  /**
   * `#Ref<0.N>`; a remote ref shows its node: `#Ref<node~incarnation.N>`.
   */
  toString(): string {
    return remoteRefNames.get(this) ?? `#Ref<0.${this.#id}>`;
  }

  /**
   * `value instanceof Ref` is a brand check, like `instanceof Pid`: it runs
   * no code of `value`'s.
   *
   * @example
   * ```ts
   * import { demonitor, monitor, self, Ref } from "@steward/steward/process";
   * const ref = monitor(self());
   * console.assert(ref instanceof Ref && !({} instanceof Ref));
   * console.assert(!(new Proxy(ref, {}) instanceof Ref));
   * demonitor(ref);
   * ```
   */
  static [Symbol.hasInstance](value: unknown): value is Ref {
    return typeof value === "object" && value !== null && #id in value;
  }

  /** Node's and Deno's inspectors print `#Ref<0.N>` too. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  static {
    makeRef = (monitor) => new Ref(monitor);
    monitorOfRef = (ref) => ref.#monitor;
    refNumberOf = (ref) => ref.#id;
    clearRef = (ref) => {
      ref.#monitor = null;
    };
  }
}

/** A ref's creation number (refs order by it). */
export function refNumber(ref: Ref): number {
  return refNumberOf(ref);
}

/** A fresh reference that names no monitor (for tags and correlation). */
export function newRef(): Ref {
  return makeRef(null);
}

/** A user monitor: DOWN goes to the owner's mailbox. */
export class Monitor implements DownWatcher {
  readonly ref: Ref;
  target: Proc | null;

  constructor(
    readonly owner: Proc,
    target: Proc,
    /** What the DOWN message names: the pid, or the name monitored. */
    readonly item: Pid | string,
  ) {
    this.target = target;
    this.ref = makeRef(this);
  }

  down(_target: Proc, reason: unknown): void {
    this.target = null;
    clearRef(this.ref);
    this.owner.watching = removeFrom(this.owner.watching, this);
    deliver(this.owner, ["DOWN", this.ref, "process", this.item, reason]);
  }
}

// ---------------------------------------------------------------- context --

let mainProc = createMain();

function createMain(): Proc {
  const p = new Proc(undefined);
  p.role = "main";
  p.startedAt = clockNow();
  addLive(p);
  // Like the Erlang shell: top-level code can link and start_link without
  // being taken down by its children.
  p.trapExit = true;
  return p;
}

/** The process running now: the one whose code is on the stack, or main. */
export function currentProc(): Proc {
  const p = current() as Proc | undefined;
  return p === undefined ? mainProc : p;
}

// -------------------------------------------------------------- registry --

const names = new Map<string, Proc>();

/** The live process registered as `name`. */
export function whereisName(name: string): Proc | undefined {
  return names.get(name);
}

// One-shot callbacks waiting for a name to be registered, so a process can
// wait for another to appear without polling (table_manager.ts waits for its
// consumer this way). Called synchronously from registerName once the name is
// set: they must not throw, and should only deliver a message.
const nameWaiters = new Map<string, Set<(proc: Proc) => void>>();

/**
 * Calls `fn` once, the next time `name` is registered. Returns the function
 * that cancels the wait (idempotent).
 */
export function onRegistered(
  name: string,
  fn: (proc: Proc) => void,
): () => void {
  let waiters = nameWaiters.get(name);
  if (waiters === undefined) nameWaiters.set(name, waiters = new Set());
  waiters.add(fn);
  return () => {
    const current = nameWaiters.get(name);
    if (current?.delete(fn) && current.size === 0) nameWaiters.delete(name);
  };
}

/** Registers `proc` as `name`; the caller has checked it is free. */
export function registerName(name: string, proc: Proc): void {
  names.set(name, proc);
  proc.name = name;
  const waiters = nameWaiters.get(name);
  if (waiters !== undefined) {
    nameWaiters.delete(name);
    for (const fn of waiters) fn(proc);
  }
}

/** Removes `name` from the registry. */
export function unregisterName(name: string): void {
  const p = names.get(name);
  if (p !== undefined) {
    names.delete(name);
    p.name = undefined;
  }
}

/** Every registered name. */
export function registeredNames(): string[] {
  return [...names.keys()];
}

// --------------------------------------------------------------- mailbox --

/** Appends `message` to `proc`'s mailbox and makes it runnable. */
export function deliver(proc: Proc, message: unknown): void {
  if (proc.dead) {
    // A remote pid's stand-in is dead here: its kind sends the message on.
    if (proc.kind !== null && proc.kind.remote !== undefined) {
      proc.kind.dispatch(proc, message);
    }
    return;
  }
  if (++proc.received === COUNTER_WRAP) {
    proc.received = 0;
    metaOf(proc).receivedCarry += COUNTER_WRAP;
  }
  let mq = proc.mq;
  if (mq === null) mq = proc.mq = new Array(4);
  else if (proc.mqLen === mq.length) mq = grow(proc, mq);
  mq[(proc.mqHead + proc.mqLen++) & (mq.length - 1)] = message;
  if (
    !proc.scheduled &&
    (proc.waiter !== null || (proc.kind !== null && !proc.busy))
  ) {
    schedule(proc);
  }
}

function grow(proc: Proc, mq: unknown[]): unknown[] {
  const next = new Array(mq.length * 2);
  for (let k = 0; k < proc.mqLen; k++) {
    next[k] = mq[(proc.mqHead + k) & (mq.length - 1)];
  }
  proc.mqHead = 0;
  return proc.mq = next;
}

/** Number of messages waiting in `proc`'s mailbox. */
export function mailboxLength(proc: Proc): number {
  return proc.mqLen;
}

/** The k-th oldest pending message. */
function peek(proc: Proc, k: number): unknown {
  const mq = proc.mq!;
  return mq[(proc.mqHead + k) & (mq.length - 1)];
}

function shift(proc: Proc): unknown {
  const mq = proc.mq!;
  const m = mq[proc.mqHead];
  mq[proc.mqHead] = undefined;
  proc.mqHead = (proc.mqHead + 1) & (mq.length - 1);
  proc.mqLen--;
  return m;
}

/** Removes and returns the k-th oldest message (later ones move up). */
function takeAt(proc: Proc, k: number): unknown {
  if (k === 0) return shift(proc);
  const mq = proc.mq!;
  const mask = mq.length - 1;
  const head = proc.mqHead;
  const m = mq[(head + k) & mask];
  const last = proc.mqLen - 1;
  for (let j = k; j < last; j++) {
    mq[(head + j) & mask] = mq[(head + j + 1) & mask];
  }
  mq[(head + last) & mask] = undefined;
  proc.mqLen--;
  return m;
}

/**
 * Removes the first message matching `predicate` from `proc`'s mailbox;
 * returns whether one was removed.
 */
export function removeFirst(
  proc: Proc,
  predicate: (message: unknown) => boolean,
): boolean {
  for (let k = 0; k < proc.mqLen; k++) {
    if (predicate(peek(proc, k))) {
      removeAt(proc, k);
      return true;
    }
  }
  return false;
}

function removeAt(proc: Proc, k: number): void {
  takeAt(proc, k);
  // The pending receives have checked the first `scanned` messages: one of
  // them is gone, so later ones moved up.
  if (proc.waiter !== null && k < proc.scanned) proc.scanned--;
}

/** What {@linkcode takeFirst} returns when no message matched. */
export const NO_MESSAGE: unique symbol = Symbol("no message");

/**
 * The first message matching `predicate` in `proc`'s mailbox (left there), or
 * {@linkcode NO_MESSAGE}.
 */
export function findFirst(
  proc: Proc,
  predicate: (message: unknown) => boolean,
): unknown {
  for (let k = 0; k < proc.mqLen; k++) {
    const m = peek(proc, k);
    if (predicate(m)) return m;
  }
  return NO_MESSAGE;
}

/**
 * Removes and returns the first message matching `predicate` from `proc`'s
 * mailbox, or {@linkcode NO_MESSAGE}.
 */
export function takeFirst(
  proc: Proc,
  predicate: (message: unknown) => boolean,
): unknown {
  for (let k = 0; k < proc.mqLen; k++) {
    const m = peek(proc, k);
    if (predicate(m)) {
      removeAt(proc, k);
      return m;
    }
  }
  return NO_MESSAGE;
}

// --------------------------------------------------------------- receive --

/**
 * A pending receive. A process may have any number pending at once (several
 * awaits in flight, `Promise.all` over joins); they form a list in start
 * order, and each new message goes to the oldest one whose predicate accepts
 * it, else stays in the mailbox. With one receive pending this is exactly
 * OTP's selective receive.
 */
export class Receiver extends Timed {
  /** Neighbours in the process's list, oldest first. */
  prev: Receiver | null = null;
  next: Receiver | null = null;
  /** In its process's list (not settled yet). */
  pending = false;
  predicate: ((message: unknown) => boolean) | undefined = undefined;
  timeout = Infinity;
  resolve: (message: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  /** The caller's AbortSignal, while one is listened to. */
  signal: AbortSignal | null = null;
  readonly #onAbort = () => {
    const signal = this.signal;
    if (!this.pending || signal === null) return;
    endReceive(this);
    this.reject(signal.reason);
  };

  constructor(readonly proc: Proc) {
    super();
  }

  listen(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  unlisten(): void {
    this.signal!.removeEventListener("abort", this.#onAbort);
    this.signal = null;
  }

  expire(): void {
    if (!this.pending) return;
    // Past its lease: killed (the receive is dropped with the process).
    if (this.proc.lease !== null && leaseLapsed(this.proc)) return;
    endReceive(this);
    this.reject(
      new TimeoutError(
        `Cannot receive in ${this.proc.pid}: no matching message within ${this.timeout} ms`,
        this.timeout,
      ),
    );
  }
}

/** Takes `w` out of its process's list, its timeout and its signal. */
function endReceive(w: Receiver): void {
  const proc = w.proc;
  if (w.prev === null) proc.waiter = w.next;
  else w.prev.next = w.next;
  if (w.next === null) proc.lastWaiter = w.prev;
  else w.next.prev = w.prev;
  w.prev = w.next = null;
  w.pending = false;
  cancelTimeout(w);
  if (w.signal !== null) w.unlisten();
}

/**
 * Position of the first message from the `from`-th oldest on that matches, or
 * -1. Runs the predicate, so callers catch.
 */
function findMatch(
  proc: Proc,
  predicate: ((message: unknown) => boolean) | undefined,
  from: number,
): number {
  if (predicate === undefined) return from < proc.mqLen ? from : -1;
  for (let k = from; k < proc.mqLen; k++) {
    if (predicate(peek(proc, k))) return k;
  }
  return -1;
}

/**
 * Takes the first message matching `predicate` from `proc`'s mailbox,
 * waiting up to `timeout` ms (Infinity: forever; 0: poll) or until `signal`
 * aborts (rejecting with its reason).
 */
export function receiveIn(
  proc: Proc,
  predicate: ((message: unknown) => boolean) | undefined,
  timeout: number,
  signal?: AbortSignal,
): Promise<unknown> {
  if (proc.dead) return Promise.reject(new ExitError(proc.reason));
  if (signal?.aborted) return Promise.reject(signal.reason);
  // Messages not yet offered to the receives already pending go to them
  // first: they are older.
  if (proc.waiter !== null && proc.scanned < proc.mqLen) serveWaiters(proc);
  let i: number;
  try {
    i = findMatch(proc, predicate, 0);
  } catch (error) {
    return Promise.reject(error);
  }
  if (i >= 0) {
    if (proc.waiter !== null && i < proc.scanned) proc.scanned--;
    return Promise.resolve(takeAt(proc, i));
  }
  if (timeout <= 0) {
    return Promise.reject(
      new TimeoutError(
        `Cannot receive in ${proc.pid}: no matching message (timeout 0)`,
        0,
      ),
    );
  }
  let w = proc.receiver;
  if (w === null || w.pending) w = new Receiver(proc);
  if (proc.receiver === null) proc.receiver = w;
  w.predicate = predicate;
  w.timeout = timeout;
  return new Promise((resolve, reject) => {
    w.resolve = resolve;
    w.reject = reject;
    w.pending = true;
    const last = proc.lastWaiter;
    w.prev = last;
    if (last === null) proc.waiter = w;
    else last.next = w;
    proc.lastWaiter = w;
    // Every message now in the mailbox was offered to every pending receive.
    proc.scanned = proc.mqLen;
    if (timeout !== Infinity) startTimeout(w, timeout);
    if (signal !== undefined) w.listen(signal);
  });
}

/**
 * Offers the messages not yet offered to the pending receives, oldest
 * message first, each to the oldest receive first. A predicate that throws
 * rejects its own receive only.
 */
function serveWaiters(proc: Proc): void {
  let k = proc.scanned;
  while (k < proc.mqLen && proc.waiter !== null) {
    const m = peek(proc, k);
    let w: Receiver | null = proc.waiter;
    while (w !== null) {
      const next: Receiver | null = w.next;
      let match: boolean;
      try {
        match = w.predicate === undefined || w.predicate(m);
      } catch (error) {
        endReceive(w);
        w.reject(error);
        w = next;
        continue;
      }
      if (match) break;
      w = next;
    }
    if (w === null) {
      k++;
    } else {
      takeAt(proc, k);
      endReceive(w);
      w.resolve(m);
    }
  }
  proc.scanned = k;
}

/** Ends every pending receive of `proc`, rejecting with `error` if given. */
function dropWaiters(proc: Proc, error?: unknown): void {
  while (proc.waiter !== null) {
    const w = proc.waiter;
    endReceive(w);
    if (error !== undefined) w.reject(error);
  }
}

// ------------------------------------------------------------- scheduler --

// Runnable processes, FIFO: runQueue[runHead..runLen). Slots are cleared as
// they are taken and the indices reset when it empties (no `length` writes:
// they are slow on V8).
const runQueue: Proc[] = [];
let runHead = 0;
let runLen = 0;
let drainQueued = false;
// Fairness: messages are delivered on microtasks, which starve timers and
// I/O if processes keep messaging each other. Every SLICE_RUNS turns or
// messages (a turn may take up to BATCH messages) the drain checks the time
// and, past SLICE_MS since it last yielded, yields a macrotask turn. (After a
// quiet spell the first check yields at once: one cheap hop, not worth a
// clock read per drain to avoid.)
const SLICE_RUNS = 1024;
const SLICE_MS = 20;
let runs = 0;
let sliceStart = 0;

/**
 * Whether the scheduler has work queued or handed on to a later macrotask
 * turn (it yields to timers after 20 ms of work). For tests that wait until
 * the system is quiet.
 */
export function schedulerBusy(): boolean {
  return drainQueued;
}

/** Puts `proc` on the run queue (once). */
export function schedule(proc: Proc): void {
  proc.scheduled = true;
  runQueue[runLen++] = proc;
  if (!drainQueued) {
    drainQueued = true;
    microtask(drain);
  }
}

function drain(): void {
  // drainQueued stays true while this drain runs: a process scheduled by
  // the work below is taken by this loop, not by a second drain queued
  // behind it (which would also run straight after a yield to timers, and
  // defeat it).
  drainQueued = true;
  let handedOn = false;
  try {
    while (runHead < runLen) {
      const proc = runQueue[runHead];
      runQueue[runHead++] = undefined!;
      // Empty now: restart at slot 0, or a long ping-pong inside one drain
      // would grow the array forever.
      if (runHead === runLen) runHead = runLen = 0;
      proc.scheduled = false;
      if (proc.dead || (proc.lease !== null && leaseLapsed(proc))) continue;
      if (proc.waiter !== null) {
        // Pending receives: the code after each await resumes in the context
        // it captured, so only the predicates run here, with the synchronous
        // slot (a predicate must not schedule work: see receive()).
        const previous = swapCurrent(proc);
        try {
          serveWaiters(proc);
        } finally {
          swapCurrent(previous);
        }
      } else if (proc.wake !== null && !inContext(proc)) {
        const wake = proc.wake;
        // Deno: continue this drain from proc's armed reaction, which runs
        // in proc's context, rather than pay for entering it (turn()).
        proc.wake = null;
        handedOn = true;
        wake(proc);
        return;
      } else {
        // The whole turn (body start, callbacks) runs in proc's context: what
        // its code schedules carries proc (_context.ts).
        callAs(proc, turn as never, undefined, proc);
      }
      if (++runs >= SLICE_RUNS) {
        runs = 0;
        const now = performance.now();
        if (now - sliceStart > SLICE_MS) {
          sliceStart = now;
          if (runHead < runLen) {
            if (hasLaterTimeouts()) startLaterTimeouts();
            handedOn = true;
            setTimeout(drain, 0);
            return;
          }
        }
      }
    }
    runHead = runLen = 0;
  } finally {
    if (!handedOn) drainQueued = false;
    if (unstampedLen > 0) stampAll();
  }
  if (hasLaterTimeouts()) startLaterTimeouts();
}

/**
 * Starts `node`'s timeout once the scheduler's current burst is done (see
 * startTimeoutLater): a call answered in the meantime never reads the clock.
 */
export function startTimeoutAfterBurst(node: Timed, ms: number): void {
  startTimeoutLater(node, ms);
  if (!drainQueued) {
    drainQueued = true;
    microtask(drain);
  }
}

// At most this many messages per turn, then the process goes to the back.
const BATCH = 64;

/**
 * One turn of `proc`, in its async context. Where entering a context is
 * dear (Deno, see _context.ts), a process still alive after a turn that was
 * not its first gets a promise reaction armed in its context: its next turn
 * starts there (handoff), with no context to enter. Not after the first turn,
 * so a process that never takes a message (an idle server) holds none.
 */
function turn(proc: Proc): void {
  const first = proc.starting;
  run(proc);
  // Past its first turn: listed, and stamped when this drain ends (see
  // addLive and stampAll).
  if (first && !proc.dead) {
    addLive(proc);
    unstamped[unstampedLen++] = proc;
  }
  if (!CHEAP_SWITCH && !first && proc.wake === null && !proc.dead) {
    proc.wake = armHere(handoff as (proc: unknown) => void);
  }
}

/** Deno: proc's turn, started from its armed reaction; then the drain goes on. */
function handoff(proc: Proc): void {
  if (!proc.dead && !(proc.lease !== null && leaseLapsed(proc))) {
    callAs(proc, turn as never, undefined, proc);
  }
  drain();
}

/** One turn of `proc`; the scheduler calls it in proc's context. */
function run(proc: Proc): void {
  if (proc.starting) {
    proc.starting = false;
    startBody(proc);
    return;
  }
  if (proc.waiter !== null) {
    serveWaiters(proc);
    return;
  }
  const kind = proc.kind;
  if (kind === null || proc.busy) return;
  try {
    for (let n = 0; mailboxLength(proc) > 0; n++) {
      if (n === BATCH) {
        // To the back of the queue (once: a message it sent itself may have
        // queued it already).
        if (!proc.scheduled) schedule(proc);
        return;
      }
      runs++; // each message counts toward the time slice
      const result = kind.dispatch(proc, shift(proc));
      if (result != null && typeof result.then === "function") {
        proc.busy = true;
        result.then(() => resume(proc), (e) => kindFailed(proc, e));
        return;
      }
      if (proc.dead || proc.waiter !== null || proc.kind !== kind) return;
    }
  } catch (error) {
    // A kind must not throw (see Kind); if one does, the process dies of it
    // rather than the scheduler's drain unwinding (which would leave other
    // processes unscheduled and crash the program from a microtask).
    kindFailed(proc, error);
  }
}

/** A message-driven process's async step settled: take the next message. */
export function resume(proc: Proc): void {
  proc.busy = false;
  // Receives the callback started and did not await to the end: left alone,
  // they would take messages from the server loop. Dropped (their promises
  // never settle).
  if (proc.waiter !== null) dropWaiters(proc);
  if (!proc.dead && !proc.scheduled && mailboxLength(proc) > 0) {
    schedule(proc);
  }
}

function kindFailed(proc: Proc, error: unknown): void {
  // A kind must turn failures into exits itself; if one slips through, the
  // process dies with it rather than hanging.
  proc.busy = false;
  kill(proc, error);
}

/**
 * The exit reason a thrown value stands for. Never throws: `instanceof` runs
 * a Proxy's `getPrototypeOf` trap, and reading `reason` its `get` trap; a
 * value whose inspection throws is its own reason.
 */
export function thrownReason(error: unknown): unknown {
  if (error === null || typeof error !== "object") return error;
  try {
    return error instanceof ExitError ? error.reason : error;
  } catch {
    return error;
  }
}

function startBody(proc: Proc): void {
  const body = proc.data as (pid: Pid) => unknown;
  proc.data = undefined;
  // Busy until the body settles: a gen_server's init may install its kind
  // and still be running (an async continue); no message is dispatched
  // before it is done.
  proc.busy = true;
  let result: unknown;
  try {
    result = callAs(proc, body as never, undefined, proc.pid);
  } catch (error) {
    bodyThrew(proc, error);
    return;
  }
  const then = result !== null && typeof result === "object"
    ? thenOf(result)
    : null;
  if (then !== null) {
    try {
      // A user thenable's `then` may throw, or call both callbacks (the
      // first call wins: bodyDone ignores a dead process).
      Reflect.apply(then, result, [
        () => bodyDone(proc, "normal"),
        (error: unknown) => bodyThrew(proc, error),
      ]);
    } catch (error) {
      bodyThrew(proc, error);
    }
  } else {
    bodyDone(proc, "normal");
  }
}

/**
 * The body threw (or its promise rejected). Unless the process is dead
 * already (killed: its receive rejected) or it called exit(reason) (an
 * ExitError), that is a crash, reported as OTP's "Error in process".
 */
function bodyThrew(proc: Proc, error: unknown): void {
  let exited = true;
  try {
    exited = error instanceof ExitError;
  } catch {
    exited = false; // a Proxy whose prototype trap throws: not an exit
  }
  if (
    !proc.dead && !exited && error !== "normal" && enabled(undefined, "error")
  ) {
    log({
      level: "error",
      kind: "process_crashed",
      time: Date.now(),
      source: "process",
      pid: proc.pid,
      name: proc.name,
      reason: error,
    });
  }
  bodyDone(proc, thrownReason(error));
}

function bodyDone(proc: Proc, reason: unknown): void {
  if (proc.dead) return;
  proc.busy = false;
  // A body that installed a kind (a gen_server's init) lives on as a
  // message-driven process.
  if (proc.kind !== null && reason === "normal") {
    if (mailboxLength(proc) > 0 && !proc.scheduled) schedule(proc);
    return;
  }
  kill(proc, reason);
}

// ------------------------------------------------------------- lifecycle --

/**
 * A new process. A function body starts on a later microtask; pass `null`
 * for a process whose kind and data the caller sets up. `role` is its kind
 * for system.ts, `parent` its spawner (`link`, else the current process).
 */
export function spawnProc(
  body: ((pid: Pid) => unknown) | null,
  link: Proc | null,
  role: ProcessKind = "process",
  parent: Proc | null = link,
): Proc {
  const proc = new Proc(body);
  proc.role = role;
  // The spawner: given by callers that know it (the process linked to is),
  // else looked up.
  const spawner = proc.parent = parent !== null ? parent : currentProc();
  // What a leased process spawns runs under its lease.
  if (spawner !== null && spawner.lease !== null) proc.lease = spawner.lease;
  if (link !== null && !link.dead) {
    proc.links = link;
    link.links = addTo(link.links, proc);
  }
  if (body !== null) {
    proc.starting = true;
    schedule(proc);
  } else {
    // No first turn to wait for (rare: the caller sets up its kind).
    proc.startedAt = clockNow();
    addLive(proc);
  }
  // Last: a subscriber is handed the event on a microtask queued after the
  // new process's first turn, so it sees the kind its init set.
  if (observer !== null) observer.spawned(proc);
  return proc;
}

/** Links two live processes. */
export function linkProcs(a: Proc, b: Proc): void {
  if (a === b) return;
  a.links = addTo(a.links, b);
  b.links = addTo(b.links, a);
}

/** Removes the link between two processes, if any. */
export function unlinkProcs(a: Proc, b: Proc): void {
  a.links = removeFrom(a.links, b);
  b.links = removeFrom(b.links, a);
}

/** Whether `a` and `b` are linked. */
export function linked(a: Proc, b: Proc): boolean {
  return hasIn(a.links, b);
}

/** Adds a watcher that hears of `target`'s death (it must be alive). */
export function watch(target: Proc, watcher: DownWatcher): void {
  target.watchers = addTo(target.watchers, watcher);
}

/** Removes a watcher. */
export function unwatch(target: Proc, watcher: DownWatcher): void {
  target.watchers = removeFrom(target.watchers, watcher);
}

/** A monitor from `owner` on `target` (dead: DOWN noproc at once). */
export function monitorProc(
  owner: Proc,
  target: Proc | undefined,
  item: Pid | string,
): Ref {
  if (target === undefined || (target.dead && !isRemote(target))) {
    const ref = makeRef(null);
    deliver(owner, ["DOWN", ref, "process", item, "noproc"]);
    return ref;
  }
  const m = new Monitor(owner, target, item);
  target.watchers = addTo(target.watchers, m);
  owner.watching = addTo(owner.watching, m);
  // A remote pid's stand-in: its node asks the other node to watch.
  if (target.dead) target.kind!.remote!.watched(target);
  return m.ref;
}

/** Removes the monitor `ref` if `owner` holds it; returns whether it did. */
export function demonitorRef(owner: Proc, ref: Ref): boolean {
  const m = monitorOfRef(ref);
  if (m === null || m.owner !== owner || m.target === null) return false;
  m.target.watchers = removeFrom(m.target.watchers, m);
  owner.watching = removeFrom(owner.watching, m);
  m.target = null;
  clearRef(ref);
  return true;
}

/** The monitors `proc` holds, and the ones held on it. */
export function monitorsOf(proc: Proc): { held: Monitor[]; on: Monitor[] } {
  return {
    held: listOf(proc.watching),
    on: listOf(proc.watchers).filter((w): w is Monitor => w instanceof Monitor),
  };
}

/** Registers a wait that must end if `proc` dies. */
export function addWait(proc: Proc, wait: Wait): void {
  proc.waits = addTo(proc.waits, wait);
}

/** Removes a wait. */
export function removeWait(proc: Proc, wait: Wait): void {
  proc.waits = removeFrom(proc.waits, wait);
}

/** Registers a resource released when `proc` dies. */
export function addResource(proc: Proc, hook: ResourceHook): void {
  (proc.resources ??= []).push(hook);
}

/** Unregisters a resource (it was released some other way). */
export function removeResource(proc: Proc, hook: ResourceHook): void {
  const i = proc.resources?.indexOf(hook) ?? -1;
  if (i >= 0) proc.resources!.splice(i, 1);
}

/**
 * An exit signal from `from` to `to`, following OTP's decision table, in
 * order: a `kill` not sent through a link kills `to` with `"killed"`,
 * trapping or not; a receiver that traps exits gets `["EXIT", from,
 * reason]` (a link-propagated `kill` too); `"normal"` ends `to` only when
 * it sent it to itself, and is dropped otherwise; any other reason ends
 * `to` with that reason. `isLink` is the link flag. (The table's first
 * rule, a link signal over a link that is gone is dropped, is the callers'
 * part: they send link signals over live links only.)
 */
export function exitSignal(
  from: Proc,
  to: Proc,
  reason: unknown,
  isLink: boolean,
): void {
  if (to.dead) {
    if (to.kind !== null && to.kind.remote !== undefined) {
      to.kind.remote.exit(from, to, reason, isLink);
    }
    return;
  }
  if (!isLink && reason === "kill") return kill(to, "killed");
  if (to.trapExit) {
    if (to === mainProc) return exitToMain(to, from, reason);
    return deliver(to, ["EXIT", from.pid, reason]);
  }
  if (reason === "normal") {
    if (from === to) kill(to, "normal");
    return;
  }
  kill(to, reason);
}

// Deaths in progress, finished one at a time (see the file's comment):
// dying[0..dyingLen).
const dying: Proc[] = [];
let dyingLen = 0;

/**
 * Ends `proc` with `reason` now: it is dead when this returns, and its
 * links, monitors and waits have heard of it.
 */
export function kill(proc: Proc, reason: unknown): void {
  if (proc.dead) return;
  proc.dead = true;
  proc.reason = reason;
  proc.wake = null;
  // Its own waits end now, before any death queued ahead of it is finished:
  // a caller dying in the same chain as the server it waits on must unwind
  // with ExitError, not see the call fail and carry on.
  endWaits(proc, reason);
  if (dyingLen > 0) {
    dying[dyingLen++] = proc; // finished by the loop below, further up
    return;
  }
  dying[dyingLen++] = proc;
  try {
    for (let i = 0; i < dyingLen; i++) {
      finishDeath(dying[i]);
      dying[i] = undefined!;
    }
  } finally {
    dyingLen = 0;
  }
}

/** Rejects `proc`'s pending receive and aborts its waits, so its code unwinds. */
function endWaits(proc: Proc, reason: unknown): void {
  // Past its lease (a fenced cluster child): nothing it awaits settles, so
  // none of its code runs (no catch or finally) past the deadline.
  const silent = proc.lease !== null && pastLease(proc.lease);
  if (proc.waiter !== null) {
    dropWaiters(proc, silent ? undefined : new ExitError(reason));
  }
  const waits = proc.waits;
  proc.waits = null;
  for (const w of listOf(waits)) {
    // Waits must not throw; if one does, the death goes on.
    try {
      w.abort(reason, silent);
    } catch (error) {
      reportInternalError(`a wait of ${proc.pid} threw on its death`, error);
    }
  }
}

function finishDeath(proc: Proc): void {
  const reason = proc.reason;
  unlinkLive(proc); // a no-op for one that dies in its first turn
  proc.parent = null;
  if (proc.meta !== null) proc.meta.tree = null;
  if (observer !== null) observer.exited(proc, reason);
  // 1. The name is free before anyone hears of the death.
  if (proc.name !== undefined) unregisterName(proc.name);
  // 2. Owned resources (tables: deleted, or handed to the heir with
  //    ETS-TRANSFER, which so arrives before EXIT and DOWN).
  const resources = proc.resources;
  proc.resources = null;
  if (resources !== null) {
    for (const hook of resources) {
      try {
        hook(proc);
      } catch (error) {
        reportInternalError(
          `a resource of ${proc.pid} threw on its death`,
          error,
        );
      }
    }
  }
  // 3. (Its own pending waits ended when it was marked dead, in kill().)
  // 4. The monitors it holds go away.
  const watching = proc.watching;
  proc.watching = null;
  for (const m of listOf(watching)) {
    if (m.target !== null) m.target.watchers = removeFrom(m.target.watchers, m);
    m.target = null;
  }
  // 5. EXIT to links (which may kill them: queued in `dying`), DOWN to
  //    watchers.
  const links = proc.links;
  proc.links = null;
  for (const other of listOf(links)) {
    other.links = removeFrom(other.links, proc);
    exitSignal(proc, other, reason, true);
  }
  const watchers = proc.watchers;
  proc.watchers = null;
  for (const w of listOf(watchers)) {
    // Watchers must not throw; if one does, the others still hear of it.
    try {
      w.down(proc, reason);
    } catch (error) {
      reportInternalError(`a watcher of ${proc.pid} threw on its death`, error);
    }
  }
  // 6. Drop what a dead process no longer needs.
  if (proc.kind?.released !== undefined) {
    try {
      proc.kind.released(proc);
    } catch (error) {
      reportInternalError(`${proc.pid}'s kind threw on its death`, error);
    }
  }
  proc.mq = null;
  proc.mqHead = proc.mqLen = 0;
  proc.receiver = null;
  proc.kind = null;
  proc.data = undefined;
  proc.busy = false;
  const controller = proc.controller;
  if (controller !== null) {
    // Abort listeners are user code: not on the killer's stack.
    microtask(() => controller.abort(new ExitError(reason)));
  }
  if (proc === mainProc) {
    mainProc = createMain();
    mainExits = [];
    mainIgnoresNormal = true;
  }
}

// ------------------------------------------------------------------ main --
//
// Top-level code runs as the main process, which traps exits (so a linked
// crash reaches it as a message instead of taking it down). But main is not a
// loop that reads its mailbox: a service whose request handlers spawnLink,
// startLink or Task.async from top-level code would pile up one EXIT per
// request, forever. So main keeps only the EXIT messages someone can use:
// - a "normal" exit signal does nothing to main, as to a process that does
//   not trap exits, and as in the Erlang shell (to wait for a process's end,
//   monitor it: DOWN messages stay), unless top-level code asked for every
//   EXIT with trapExit(true), as a test process does;
// - any other EXIT arrives as a message, but main keeps at most
//   MAIN_EXIT_LIMIT unread ones: past that the oldest unread EXIT is dropped,
//   and that is reported.

/** Most unread EXIT messages main keeps. */
export const MAIN_EXIT_LIMIT = 1000;
/** EXIT messages put in main's mailbox, oldest first (some may be taken). */
let mainExits: unknown[][] = [];
let mainExitsDropped = 0;

/**
 * Main ignores normal exit signals until top-level code calls
 * `trapExit(true)` itself (then it gets them, as any trapping process).
 */
let mainIgnoresNormal = true;

/** Sets `proc`'s trap-exit flag; returns the previous one. */
export function setTrapExit(proc: Proc, flag: boolean): boolean {
  const previous = proc.trapExit;
  proc.trapExit = flag;
  if (proc === mainProc) mainIgnoresNormal = false;
  return previous;
}

function exitToMain(main: Proc, from: Proc, reason: unknown): void {
  if (reason === "normal" && mainIgnoresNormal) return;
  const message = ["EXIT", from.pid, reason];
  deliver(main, message);
  mainExits.push(message);
  if (mainExits.length > MAIN_EXIT_LIMIT) trimMainExits(main);
}

function trimMainExits(main: Proc): void {
  const unread = new Set<unknown>();
  for (let k = 0; k < main.mqLen; k++) unread.add(peek(main, k));
  mainExits = mainExits.filter((m) => unread.has(m));
  let dropped = 0;
  while (mainExits.length > MAIN_EXIT_LIMIT) {
    const m = mainExits.shift();
    removeFirst(main, (x) => x === m);
    dropped++;
  }
  if (dropped === 0) return;
  const before = mainExitsDropped;
  mainExitsDropped += dropped;
  // Reported at the 1st, 10th, 100th... drop: enough to be seen, never a
  // flood.
  if (
    String(before).length !== String(mainExitsDropped).length || before === 0
  ) {
    if (enabled(undefined, "warning")) {
      log({
        level: "warning",
        kind: "main_exits_dropped",
        time: Date.now(),
        source: "process",
        pid: main.pid,
        count: mainExitsDropped,
      });
    }
  }
}
