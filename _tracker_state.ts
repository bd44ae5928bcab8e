// A tracker's state (tracker.ts is the public face, _tracker_spec.ts the
// checks, _tracker.ts the server loop and the caller side): one Entry per
// child id, the Trk record with its tables, and what happens when a child
// starts, exits, restarts or is terminated (its afterTerminate included).
// A child's status moves as the shared lifecycle allows (_child_table.ts);
// the restart arithmetic is _restart.ts's.
//
// Invariants worth knowing before changing anything:
// - An Entry's `pid` is set only while its child runs (find() reads just
//   that), and `found` holds the promise findOrOpen's hits share.
// - Attributes live in the Entry (authoritative) and in the attrs table
//   (for everyone else); the children table mirrors each Entry's status.
//   Both tables are protected: only the tracker writes them, through
//   swapCurrent when the writing code runs in a caller.
// - State changes happen in the server loop, except a launch's completion
//   (launched, on the start's promise) and the attribute writes, which are
//   single synchronous steps; a restart decision that may stop the tracker
//   always runs in the loop (Exited, Done, Due and Retry messages).
// - A child that started runs its afterTerminate exactly once after it
//   dies: from `ending` (exit, terminateChild), terminateAll (the tracker's
//   shutdown), `late` (a start that finished after the tracker stopped) or
//   `died` (the tracker was killed).

import {
  deliver,
  type DownWatcher,
  kill,
  Pid,
  type Proc,
  procOf,
  spawnProc,
  unwatch,
  watch,
  whereisName,
} from "./_runtime.ts";
import { applyAs, swapCurrent } from "./_context.ts";
import {
  failed,
  reportChild,
  type Shutdown,
  shutdownAll,
  shutdownChild,
  startChildThen,
  type StartOutcome,
  unlinkAndFlush,
} from "./_child.ts";
import {
  cancelTimeout,
  reportLater,
  startTimeout,
  Timed,
  TimedWait,
} from "./_timers.ts";
import { canMove, type ChildStateTag } from "./_child_table.ts";
import {
  addRestart,
  backoffDelay,
  cancelPending,
  exitAction,
  type PendingRestart,
  restartWindow,
  retrySoon,
  startRestartTimer,
} from "./_restart.ts";
import { type DistributiveOmit, Failure, then } from "./_request.ts";
import { getClock } from "./clock.ts";
import { microtask } from "./_microtask.ts";
import { EventHub } from "./_events.ts";

import { formatTerm } from "./_format.ts";
import { KeyMap } from "./_key_map.ts";
import { ExitError, NoProcError, TimeoutError } from "./errors.ts";
import * as genServer from "./gen_server.ts";
import type * as ets from "./ets.ts";
import type {
  AfterTerminate,
  Attrs,
  ChildStatus,
  TrackerEvent,
} from "./tracker.ts";
import {
  copyKey,
  type FullSpec,
  type Options,
  TrackerError,
  type TrackerErrorCode,
} from "./_tracker_spec.ts";
import { isInstance } from "./_safe.ts";

/** Every tracker's event stream (subscribe). */
export const events = new EventHub<TrackerEvent>();

// ---------------------------------------------------------------- state --

/**
 * One launch of a child (stale completions are told apart by it): `"new"`
 * for an id that had no child, `"restart"` for a restart, `"start"` for a
 * stopped child started again.
 */
class Launch {
  constructor(readonly kind: "new" | "restart" | "start") {}
}

/**
 * One child id. The same entry lives on across restarts and successive
 * temporary children of the id while callers keep it busy; it is removed
 * when the id has no child and nobody waits.
 */
export class Entry implements DownWatcher {
  /** A watch on the running child, set by nobody's monitor (see down). */
  readonly owner = null;
  status: ChildStatus = "stopped"; // until launched (at once) or adopted
  /** The pid, while running (and only then: find() reads just this). */
  pid: Pid | undefined = undefined;
  /** A promise of `pid`, shared by findOrOpen's hits (see setPid). */
  found: Promise<Pid> | null = null;
  extra: unknown = undefined;
  /** This incarnation's attributes (null: none set). */
  attrs: Map<string, unknown> | null = null;
  /** Callers waiting for a pid. */
  waiters: Open[] | null = null;
  /** terminateChild callers waiting for the child to be gone. */
  stoppers: genServer.From[] | null = null;
  /** The launch in progress. */
  launch: Launch | null = null;
  /** The spec of the next fresh launch (a temporary child's successor). */
  next: FullSpec | null = null;
  /** Pending while terminating: the shutdown, then the afterTerminate. */
  ending: Promise<void> | null = null;
  /** A pending restart (delayed, or a retry at once). */
  pending: PendingRestart | null = null;
  /** Consecutive restarts, for the backoff. */
  failures = 0;
  startedAt = 0;
  /** Restart attempts (for system.ts's trees). */
  restarts = 0;
  /** Whether the children table has a row for it. */
  row = false;
  /** Whether that row's spec columns are an older spec's (rewrite it). */
  rowStale = false;

  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    public spec: FullSpec,
  ) {}

  /**
   * The running child died: the tracker hears of it by a message naming
   * the entry and the pid. A watch rather than the link's EXIT (it still
   * comes, and is dropped): no pid-to-entry map to keep per child.
   */
  down(child: Proc, reason: unknown): void {
    deliver(this.trk.proc, new Exited(this, child.pid, reason));
  }
}

/** A running child died (Entry.down). */
export class Exited {
  constructor(
    readonly entry: Entry,
    readonly pid: Pid,
    readonly reason: unknown,
  ) {}
}

/** A child is gone and its afterTerminate is done: finish its entry. */
export class Done {
  constructor(
    readonly entry: Entry,
    readonly reason: unknown,
    readonly how: How,
  ) {}
}

/**
 * A child's status as a state of the shared child lifecycle
 * (_child_table.ts): launching is its `"starting"`.
 */
const STATE_OF: Readonly<Record<ChildStatus, ChildStateTag>> = {
  launching: "starting",
  running: "running",
  restarting: "restarting",
  terminating: "terminating",
  stopped: "stopped",
};

/** Moves `e` to `status`: a legal move of the child lifecycle, or a bug. */
export function moveStatus(e: Entry, status: ChildStatus): void {
  if (!canMove(STATE_OF[e.status], STATE_OF[status])) {
    throw new Error(
      `Steward internal error: a tracker child cannot go from ${e.status} to ${status}`,
    );
  }
  e.status = status;
}

/** How a child ended: it exited by itself, or it was terminated. */
export type How = "exit" | "terminate";

/** Tells the server loop to stop with "shutdown" (intensity reached). */
export const STOP = Symbol("stop");
export type Step = typeof STOP | undefined;

/** A getAttr waiting for an attribute to be set. */
export class AttrWait extends TimedWait {
  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    readonly key: string,
    readonly timeout: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
    this.listen(signal, (reason) => this.fail(reason));
  }

  #end(): boolean {
    if (!this.end()) return false;
    this.trk.dropAttrWait(this);
    return true;
  }

  ok(value: unknown): void {
    if (this.#end()) this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.#end()) this.reject(error);
  }

  expire(): void {
    this.fail(
      new TimeoutError(
        `Cannot getAttr ${JSON.stringify(this.key)} of child ${
          formatTerm(this.id)
        } of tracker ${
          JSON.stringify(this.trk.name)
        }: it was not set within ${this.timeout} ms`,
        this.timeout,
      ),
    );
  }
}

/** Runs an afterTerminate in a process of its own, with a timeout. */
class AfterTerminateRun extends Timed implements DownWatcher {
  readonly owner = null;
  timedOut = false;
  helper: Proc | null = null;
  #resolve: () => void = () => {};
  readonly promise: Promise<void>;

  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    fn: AfterTerminate,
    attrs: Attrs,
    reason: unknown,
  ) {
    super();
    this.promise = new Promise((resolve) => this.#resolve = resolve);
    const helper = spawnProc((pid) => {
      // A throw is reported as after_terminate_failed, not as a crash too:
      // thrown as an ExitError (the same exit reason), which is not one.
      try {
        const r = applyAs(procOf(pid), fn as never, [id, attrs, reason]);
        return r !== null && typeof r === "object" &&
            typeof (r as PromiseLike<unknown>).then === "function"
          ? Promise.resolve(r).catch(asExit)
          : r;
      } catch (error) {
        asExit(error);
      }
    }, null);
    this.helper = helper;
    watch(helper, this);
    const ms = trk.options.afterTerminateTimeout;
    if (ms !== Infinity) startTimeout(this, ms);
  }

  down(_helper: Proc, reason: unknown): void {
    cancelTimeout(this);
    if (reason !== "normal") {
      const why = this.timedOut ? "timeout" : reason;
      // Reported through the logger (kind "after_terminate_failed").
      this.trk.emit({
        type: "after_terminate_failed",
        id: this.id,
        reason: why,
      });
    }
    this.#resolve();
  }

  expire(): void {
    this.timedOut = true;
    const helper = this.helper!;
    // Killed: its watch fires (synchronously), reporting the timeout.
    kill(helper, "killed");
  }
}

function asExit(error: unknown): never {
  throw error instanceof ExitError ? error : new ExitError(error);
}

/** A tracker's state (the gen_server state). */
export class Trk {
  readonly pid: Pid;
  /** Entries by id: the index find() reads. */
  readonly index: KeyMap<Entry> = new KeyMap();
  /** Every entry, in the order their ids were first opened. */
  readonly entries: Set<Entry> = new Set();
  /** Restart times in the intensity window. */
  readonly restarts = restartWindow();
  /** getAttr waiters by id, then key. */
  attrWaits: KeyMap<Map<string, AttrWait[]>> | null = null;
  /** Every getAttr waiter. */
  readonly allAttrWaits: Set<AttrWait> = new Set();
  /** Launching entries whose row the queued flush writes (rowLater). */
  unrowed: Entry[] = [];
  /** Launching entries for the flush after that one. */
  unrowedNext: Entry[] = [];
  /** A flush is queued. */
  rowsQueued = false;
  readonly #flushRows = () => this.flushRows();
  /** Terminating its children (terminate/2): no more launches. */
  stopping = false;
  /** The process is dead (the tables with it). */
  dead = false;

  constructor(
    readonly name: string,
    readonly proc: Proc,
    readonly options: Options,
    readonly children: ets.Table,
    readonly attrTable: ets.Table,
  ) {
    this.pid = proc.pid;
  }

  /** Emits an event, and reports it (`spec`: the child's, for exits). */
  emit(
    event: DistributiveOmit<TrackerEvent, "tracker" | "name" | "time">,
    spec?: FullSpec,
  ) {
    reportChild(this.options.log, "tracker", this.pid, this.name, event, spec);
    if (!events.active) return;
    events.emit(
      {
        ...event,
        tracker: this.pid,
        name: this.name,
        time: getClock().now(),
      } as TrackerEvent,
    );
  }

  // -- the tables (written as the tracker: they are protected) --

  /** Writes the child's row: its pid, or its status. */
  setRow(e: Entry, value: Pid | ChildStatus): void {
    if (this.dead) return;
    const previous = swapCurrent(this.proc);
    try {
      if (e.row && !e.rowStale) {
        this.children.updateElement(e.id, [1, value]);
      } else {
        const s = e.spec;
        this.children.insert([
          e.id,
          value,
          s.restart,
          s.shutdown,
          s.type,
          s.modules,
        ]);
        e.row = true;
        e.rowStale = false;
      }
    } finally {
      swapCurrent(previous);
    }
  }

  putAttr(e: Entry, key: string, value: unknown): void {
    (e.attrs ??= new Map()).set(key, value);
    const previous = swapCurrent(this.proc);
    try {
      this.attrTable.insert([[e.id, key], value]);
    } finally {
      swapCurrent(previous);
    }
    if (this.attrWaits !== null) this.wakeAttr(e.id, key, value);
  }

  deleteAttr(e: Entry, key: string): boolean {
    if (e.attrs === null || !e.attrs.delete(key)) return false;
    const previous = swapCurrent(this.proc);
    try {
      this.attrTable.delete([e.id, key]);
    } finally {
      swapCurrent(previous);
    }
    return true;
  }

  /** Drops an incarnation's attributes (they never outlive it). */
  dropAttrs(e: Entry): void {
    const attrs = e.attrs;
    if (attrs === null) return;
    e.attrs = null;
    if (this.dead) return;
    const previous = swapCurrent(this.proc);
    try {
      for (const key of attrs.keys()) this.attrTable.delete([e.id, key]);
    } finally {
      swapCurrent(previous);
    }
  }

  // -- getAttr waiters --

  addAttrWait(w: AttrWait): void {
    this.allAttrWaits.add(w);
    const waits = this.attrWaits ??= new KeyMap();
    let byKey = waits.get(w.id);
    if (byKey === undefined) waits.set(w.id, byKey = new Map());
    const list = byKey.get(w.key);
    if (list === undefined) byKey.set(w.key, [w]);
    else list.push(w);
  }

  dropAttrWait(w: AttrWait): void {
    this.allAttrWaits.delete(w);
    const byKey = this.attrWaits?.get(w.id);
    const list = byKey?.get(w.key);
    if (list === undefined) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length > 0) return;
    byKey!.delete(w.key);
    if (byKey!.size > 0) return;
    this.attrWaits!.delete(w.id);
    if (this.attrWaits!.size === 0) this.attrWaits = null;
  }

  wakeAttr(id: unknown, key: string, value: unknown): void {
    const list = this.attrWaits!.get(id)?.get(key);
    if (list !== undefined) { for (const w of [...list]) w.ok(value); }
  }

  // -- entries --

  newEntry(id: unknown, spec: FullSpec): Entry {
    const e = new Entry(this, copyKey(id), spec);
    this.index.set(e.id, e);
    this.entries.add(e);
    return e;
  }

  /** Forgets an id: its row, attributes and timer go. */
  remove(e: Entry): void {
    if (!this.entries.delete(e)) return;
    this.index.delete(e.id);
    this.cancelTimer(e);
    this.dropAttrs(e);
    if (e.row && !this.dead) {
      const previous = swapCurrent(this.proc);
      try {
        this.children.delete(e.id);
      } finally {
        swapCurrent(previous);
      }
    }
    e.row = false;
    this.emit({ type: "child_removed", id: e.id });
  }

  cancelTimer(e: Entry): void {
    if (e.pending !== null) {
      cancelPending(e.pending);
      e.pending = null;
    }
  }

  /** Answers the callers waiting for a pid. */
  answer(e: Entry, value: unknown): void {
    const waiters = e.waiters;
    if (waiters === null) return;
    e.waiters = null;
    for (const w of waiters) {
      // restartChild's answer has supervisor's shape (StartedChild).
      genServer.reply(
        w.from!,
        w.started && value instanceof Pid
          ? { pid: value, extra: e.extra }
          : value,
      );
    }
  }

  /** Answers the terminateChild callers. */
  stopped(e: Entry): void {
    const stoppers = e.stoppers;
    if (stoppers === null) return;
    e.stoppers = null;
    for (const from of stoppers) genServer.reply(from, undefined);
  }

  // -- launching --

  /**
   * Starts the child of `e` with `spec`. The start function runs as the
   * tracker (so startLink links the child to it); a start that returns a
   * promise leaves the child launching while the tracker serves others.
   */
  launch(e: Entry, spec: FullSpec, kind: Launch["kind"]): void {
    if (spec !== e.spec) {
      e.spec = spec;
      e.rowStale = e.row; // its row's spec columns are another spec's
    }
    moveStatus(e, "launching");
    setPid(e, undefined);
    e.next = null;
    const launch = e.launch = new Launch(kind);
    const done = startChildThen(
      this.proc,
      spec.start!,
      spec.args,
      (outcome) => {
        // Runs later for a start that returned a promise: as the tracker,
        // so its table writes and replies are its own.
        const previous = swapCurrent(this.proc);
        try {
          this.launched(e, launch, outcome);
        } catch (error) {
          reportLater(error);
        } finally {
          swapCurrent(previous);
        }
      },
    );
    if (!done && e.launch === launch) {
      // A new id's row waits (rowLater); an existing row says it at once.
      if (e.row) this.setRow(e, "launching");
      else this.rowLater(e);
    }
  }

  /**
   * A child still launching gets its "launching" row a few microtasks
   * later, if it is still launching then. Most starts (a gen_server's
   * init that returns at once) are done by then: their first row is the
   * running one, and the table is written once instead of twice (a write
   * costs about as much as the rest of an open).
   */
  rowLater(e: Entry): void {
    if (!this.rowsQueued) {
      this.unrowed.push(e);
      this.rowsQueued = true;
      afterHops(ROW_HOPS, this.#flushRows);
    } else {
      // Every entry waits the whole delay: it goes to the next flush.
      this.unrowedNext.push(e);
    }
  }

  flushRows(): void {
    const entries = this.unrowed;
    this.unrowed = this.unrowedNext;
    this.unrowedNext = entries.length > 0 ? [] : entries;
    this.rowsQueued = this.unrowed.length > 0;
    if (this.rowsQueued) afterHops(ROW_HOPS, this.#flushRows);
    const previous = swapCurrent(this.proc);
    try {
      for (const e of entries) {
        if (e.status === "launching" && !e.row && this.entries.has(e)) {
          this.setRow(e, "launching");
        }
      }
    } catch (error) {
      reportLater(error);
    } finally {
      swapCurrent(previous);
    }
  }

  /** A start finished (see launch). May run outside the server loop. */
  launched(e: Entry, launch: Launch, outcome: StartOutcome): void {
    if (e.launch !== launch || this.stopping || this.dead) {
      // The tracker is stopping or gone: a child that started anyway ends
      // now, and gets its afterTerminate.
      if (e.launch === launch) e.launch = null;
      if (typeof outcome === "object" && "pid" in outcome) {
        this.late(e, outcome.pid);
      }
      return;
    }
    e.launch = null;
    if (failed(outcome)) return this.launchFailed(e, launch, outcome.error);
    if (outcome === "ignore") {
      this.answer(e, this.failure("findOrOpen", e, "ignored"));
      this.stopped(e);
      if (launch.kind === "start") this.toStopped(e);
      else this.remove(e);
      return;
    }
    const pid = outcome.pid;
    moveStatus(e, "running");
    setPid(e, pid);
    e.extra = outcome.extra;
    if (this.options.backoff !== null) e.startedAt = getClock().now();
    this.setRow(e, pid);
    this.emit({
      type: launch.kind === "restart" ? "child_restarted" : "child_started",
      id: e.id,
      pid,
    });
    const proc = procOf(pid);
    if (proc.dead) {
      // Died before we got here (its EXIT, if any, is dropped).
      const reason = unlinkAndFlush(this.proc, pid, proc.reason);
      deliver(this.proc, new Exited(e, pid, reason));
    } else watch(proc, e);
    this.answer(e, pid);
    if (e.stoppers !== null) this.terminateRunning(e);
  }

  launchFailed(e: Entry, launch: Launch, reason: unknown): void {
    const restart = launch.kind === "restart";
    this.emit({
      type: restart ? "restart_failed" : "start_failed",
      id: e.id,
      reason,
    });
    this.answer(
      e,
      this.failure("findOrOpen", e, "start_failed", { reason }),
    );
    if (restart && e.stoppers === null) {
      // A restart that failed: try again (counted against the intensity).
      this.dropAttrs(e);
      this.retryLater(e);
      return;
    }
    this.stopped(e);
    if (launch.kind === "new") this.remove(e);
    else this.toStopped(e);
  }

  retryLater(e: Entry): void {
    moveStatus(e, "restarting");
    this.setRow(e, "restarting");
    if (this.options.backoff !== null) this.delay(e);
    else e.pending = retrySoon(this.proc, e, undefined);
  }

  /** A permanent or transient child that stays down until restarted. */
  toStopped(e: Entry): void {
    this.cancelTimer(e);
    moveStatus(e, "stopped");
    setPid(e, undefined);
    this.dropAttrs(e);
    this.setRow(e, "stopped");
  }

  /** A child that started after the tracker began stopping: ended now. */
  late(e: Entry, pid: Pid): void {
    const r = shutdownChild(this.proc, pid, e.spec.shutdown);
    const at = this.afterTerminateOf(e);
    if (at === undefined) return;
    const attrs = attrsObject(e.attrs);
    void then(
      r,
      (reason) => new AfterTerminateRun(this, e.id, at, attrs, reason).promise,
    );
  }

  failure(
    op: string,
    e: Entry,
    code: TrackerErrorCode,
    details?: { reason?: unknown; pid?: Pid; status?: ChildStatus },
  ): Failure {
    return new Failure(new TrackerError(op, this.name, e.id, code, details));
  }

  // -- endings --

  afterTerminateOf(e: Entry): AfterTerminate | undefined {
    return e.spec.afterTerminate ?? this.options.afterTerminate;
  }

  /**
   * The child of `e` is dead (`reason`) or being shut down (a promise of
   * its reason): `e` is terminating until its afterTerminate is done, then
   * finished. Finishes at once when nothing is pending and `inLoop` (only
   * the server loop may stop the tracker).
   */
  ending(
    e: Entry,
    reason: unknown,
    how: How,
    inLoop: boolean,
  ): Step {
    moveStatus(e, "terminating");
    setPid(e, undefined);
    this.setRow(e, "terminating");
    const at = this.afterTerminateOf(e);
    if (at === undefined && !isInstance(reason, Promise) && inLoop) {
      return this.finished(e, reason, how);
    }
    e.ending = this.end(e, at, reason, how);
    return undefined;
  }

  async end(
    e: Entry,
    at: AfterTerminate | undefined,
    reasonOrPromise: unknown,
    how: How,
  ): Promise<void> {
    const reason = await reasonOrPromise;
    if (at !== undefined) {
      await new AfterTerminateRun(this, e.id, at, attrsObject(e.attrs), reason)
        .promise;
    }
    if (!this.stopping && !this.dead) {
      deliver(this.proc, new Done(e, reason, how));
    }
  }

  /**
   * `e`'s child is gone and its afterTerminate done: its attributes go,
   * then it restarts, stops, is removed, or (callers waiting) a fresh child
   * starts.
   */
  finished(e: Entry, reason: unknown, how: How): Step {
    e.ending = null;
    this.dropAttrs(e);
    const restart = e.spec.restart;
    if (e.stoppers !== null) {
      how = "terminate";
      this.stopped(e);
    }
    if (how === "terminate" || exitAction(restart, reason) !== "restart") {
      // Terminated: kept (temporary: removed); exited: forgotten.
      const keep = how === "terminate" && restart !== "temporary";
      if (e.waiters !== null) {
        // Callers came while it was ending: a fresh child for them.
        this.launch(e, e.next ?? e.spec, keep ? "start" : "new");
        return undefined;
      }
      if (keep) this.toStopped(e);
      else this.remove(e);
      return undefined;
    }
    if (this.options.backoff !== null) {
      if (getClock().now() - e.startedAt >= this.options.backoff.max) {
        e.failures = 0;
      }
      moveStatus(e, "restarting");
      this.setRow(e, "restarting");
      this.delay(e);
      return undefined;
    }
    return this.restart(e);
  }

  // -- restarts --

  /** Records a restart; false if that exceeds the intensity. */
  addRestart(): boolean {
    const o = this.options;
    return addRestart(this.restarts, getClock().now(), o.periodMs, o.intensity);
  }

  restart(e: Entry): Step {
    if (!this.addRestart()) {
      this.emit({
        type: "gave_up",
        id: e.id,
        reason: "reached_max_restart_intensity",
      });
      this.remove(e);
      return STOP;
    }
    e.restarts++;
    this.launch(e, e.spec, "restart");
    return undefined;
  }

  delay(e: Entry): void {
    const delay = backoffDelay(this.options.backoff!, e.failures);
    e.failures++;
    this.cancelTimer(e);
    const timer = startRestartTimer(this.proc, e, getClock().now(), delay);
    e.pending = timer;
    this.emit({
      type: "restart_delayed",
      id: e.id,
      delay,
      restartAt: timer.at,
    });
  }

  tryAgain(e: Entry): Step {
    if (!this.entries.has(e) || e.status !== "restarting") return undefined;
    this.cancelTimer(e);
    return this.restart(e);
  }

  // -- terminating children --

  /** Shuts a running child down (terminateChild). */
  terminateRunning(e: Entry): void {
    const pid = e.pid!;
    // Its death is the shutdown's to report: no Exited message (they would
    // pile up before the EXIT that shutdownChild takes from the mailbox).
    unwatch(procOf(pid), e);
    const r = shutdownChild(this.proc, pid, e.spec.shutdown);
    const reason = then(r, (reason) => {
      this.emit({ type: "child_terminated", id: e.id, pid, reason }, e.spec);
      return reason;
    });
    this.ending(e, reason, "terminate", false);
  }

  /** The tracker stops: every child is shut down, all at once. */
  async terminateAll(): Promise<void> {
    this.stopping = true;
    const pending: Promise<unknown>[] = [];
    const groups = new Map<Shutdown, Entry[]>();
    for (const e of this.entries) {
      switch (e.status) {
        case "running": {
          let g = groups.get(e.spec.shutdown);
          if (g === undefined) groups.set(e.spec.shutdown, g = []);
          g.push(e);
          break;
        }
        case "terminating":
          if (e.ending !== null) pending.push(e.ending);
          break;
        case "restarting":
          this.cancelTimer(e);
          break;
      }
    }
    for (const [shutdown, group] of groups) {
      const pids = group.map((e) => {
        const pid = e.pid!;
        unwatch(procOf(pid), e); // see terminateRunning
        moveStatus(e, "terminating");
        setPid(e, undefined);
        return pid;
      });
      pending.push(
        shutdownAll(this.proc, pids, shutdown).then((reasons) =>
          Promise.all(group.map((e, i) => {
            const reason = reasons[i];
            this.emit({
              type: "child_terminated",
              id: e.id,
              pid: pids[i],
              reason,
            }, e.spec);
            const at = this.afterTerminateOf(e);
            return at === undefined ? undefined : new AfterTerminateRun(
              this,
              e.id,
              at,
              attrsObject(e.attrs),
              reason,
            ).promise;
          }))
        ),
      );
    }
    await Promise.all(pending);
  }

  /**
   * The tracker's process died (a resource hook: before its tables go and
   * its links hear of it). Killed without terminate running, its running
   * children still get their afterTerminate when they die.
   */
  died(): void {
    this.dead = true;
    if (registry.get(this.name) === this) registry.delete(this.name);
    byTrackerPid.delete(this.pid);
    if (this.allAttrWaits.size > 0) {
      // Rejected on a later microtask: user code never runs in a death.
      const all = [...this.allAttrWaits];
      const error = new NoProcError("getAttr", this.name);
      microtask(() => {
        for (const w of all) w.fail(error);
      });
    }
    for (const e of this.entries) {
      this.cancelTimer(e);
      if (e.status !== "running") continue;
      moveStatus(e, "terminating");
      const at = this.afterTerminateOf(e);
      if (at === undefined) continue;
      const attrs = attrsObject(e.attrs);
      const child = procOf(e.pid!);
      const run = (reason: unknown) =>
        void new AfterTerminateRun(this, e.id, at, attrs, reason);
      if (child.dead) run(child.reason);
      else watch(child, { owner: null, down: (_p, reason) => run(reason) });
    }
  }
}

/** Microtask hops before a launching child's row is written (rowLater). */
const ROW_HOPS = 8;

function afterHops(hops: number, fn: () => void): void {
  if (hops === 0) fn();
  else microtask(() => afterHops(hops - 1, fn));
}

/** Sets a child's pid (undefined: not running), dropping the old promise. */
export function setPid(e: Entry, pid: Pid | undefined): void {
  e.pid = pid;
  e.found = null;
}

export function attrsObject(attrs: Map<string, unknown> | null): Attrs {
  const out: Attrs = {};
  if (attrs !== null) { for (const [k, v] of attrs) out[k] = v; }
  return out;
}

/** Trackers by name and by pid, for the functions that send no message. */
export const registry = new Map<string, Trk>();
export const byTrackerPid = new Map<Pid, Trk>();

/** The tracker `tracker` names, or undefined (no errors: the hot path). */
export function registryLookup(tracker: unknown): Trk | undefined {
  return typeof tracker === "string"
    ? registry.get(tracker)
    : tracker instanceof Pid
    ? byTrackerPid.get(tracker)
    : undefined;
}

export function resolve(op: string, tracker: unknown): Trk {
  let t: Trk | undefined;
  let proc: Proc | undefined;
  if (typeof tracker === "string") {
    t = registry.get(tracker);
    if (t === undefined) proc = whereisName(tracker);
  } else if (tracker instanceof Pid) {
    t = byTrackerPid.get(tracker);
    if (t === undefined) proc = procOf(tracker);
  } else {
    throw new TypeError(
      `Cannot ${op}: 'tracker' must be a tracker's name or Pid, got ${
        formatTerm(tracker)
      }`,
    );
  }
  if (t !== undefined) return t;
  if (proc !== undefined && !proc.dead) {
    // A supervisor, a director, any live process: not a tracker.
    throw new TypeError(
      `Cannot ${op}: 'tracker' must be a tracker, got ${
        formatTerm(tracker)
      } (a live process that is not a tracker)`,
    );
  }
  throw new NoProcError(op, tracker);
}

/**
 * A caller waiting for a child's pid: findOrOpen's request (its identity
 * names the waiter, for Cancel), or restartChild's. The tracker sets `from`
 * when it queues it.
 */
export class Open {
  from: genServer.From | null = null;
  constructor(
    readonly id: unknown,
    readonly spec: FullSpec,
    /** Answered `{ pid, extra }` (restartChild), not the bare pid. */
    readonly started = false,
  ) {}
}
