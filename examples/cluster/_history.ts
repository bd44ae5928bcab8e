/**
 * The history checker of the cluster tracker (used by the fault tests and
 * by `npm run demo:cluster`): from the events the nodes printed, it counts
 *
 * - **overlaps**: pairs of children of one id that were live at the same
 *   time. A child is live from its `start` event to its `stop` event, or,
 *   if its node was killed (a `crash` event the driver records when it
 *   sends SIGKILL), to that kill; one still running at the end is live
 *   until then. A fenced child's `stop` is dated at its fence deadline
 *   (cluster_tracker.ts), but a child is live at least until its last
 *   `attempt`, `refused` or `unknown` event (code it ran): a child that
 *   ran on after its deadline, or after a kill, counts as live until then.
 *   Times are wall-clock ms of the nodes: the nodes of one history run on
 *   one machine, so their clocks agree. Each overlap also tells whether
 *   the KV revisions agree (the later claim's revision is above the
 *   earlier child's), for diagnosis.
 * - **stale writes**: acknowledged attribute writes made by a child after
 *   another node had claimed its id, by KV revision: a write at revision
 *   `r` belongs to the claim with the highest revision below `r`; if that
 *   claim is another node's, a fenced child still wrote (the compare-and-
 *   set the tracker does on every write must make this impossible).
 * - **lost writes**: acknowledged attribute writes that the store does not
 *   end with. For each id and key, the store's final value must be the
 *   value of the last acknowledged write (highest revision), or of a write
 *   attempted after it (after its ack was seen, or by a child whose claim
 *   came after it) whose outcome is unknown: never answered (its node
 *   died, or was fenced, with the write in flight) or answered `unknown`
 *   (no answer from the store: `setAttr` rejected with `"timeout"`); the
 *   store may have such a write, or not. A `refused` write was surely not
 *   made: the store may not end with it. Anything else lost an
 *   acknowledged write.
 *
 * @module
 */

/** One event of a history. */
export interface HistoryEvent {
  /**
   * `start`/`stop`/`attr`: from the tracker's `onEvent`; `attempt`: a
   * write sent; `refused`: that write was not made (`setAttr` rejected with
   * `"fenced"`, `"not_owner"` or `"closed"`); `unknown`: its outcome is
   * unknown (any other rejection: it may or may not be stored); `crash`:
   * the node was killed.
   */
  readonly type:
    | "start"
    | "stop"
    | "attr"
    | "attempt"
    | "refused"
    | "unknown"
    | "crash";
  /** The id (all but `crash`). */
  readonly id?: string;
  /** The node. */
  readonly node: string;
  /** Wall-clock ms on that node. */
  readonly time: number;
  /** The KV revision (`start`: the claim, `attr`: the write). */
  readonly revision?: number;
  /** The attribute written (`attr`, `attempt`, `refused`, `unknown`). */
  readonly key?: string;
  /** Its value. */
  readonly value?: unknown;
  /** For `stop`: whether fencing stopped it. */
  readonly fenced?: boolean;
  /** For `stop`: the exit reason (as text). */
  readonly reason?: string;
}

/** A live interval of one child. */
export interface Interval {
  readonly id: string;
  readonly node: string;
  readonly from: number;
  /** `Infinity`: still live at the end of the history. */
  readonly to: number;
  /** KV revision of its claim. */
  readonly revision: number;
  /** How it ended. */
  readonly end: "stop" | "fenced" | "crash" | "running";
}

/** Two children of one id live at once. */
export interface Overlap {
  readonly id: string;
  readonly first: Interval;
  readonly second: Interval;
  /** Ms both were live. */
  readonly ms: number;
}

/** An acknowledged write the store does not end with. */
export interface LostWrite {
  readonly id: string;
  readonly key: string;
  /** The last acknowledged value. */
  readonly acknowledged: unknown;
  /** Its revision. */
  readonly revision: number;
  /** What the store has. */
  readonly stored: unknown;
}

/** What {@linkcode checkHistory} found. */
export interface HistoryReport {
  /** How many ids the history has. */
  readonly ids: number;
  /** Every child's live interval, by start time. */
  readonly intervals: Interval[];
  readonly overlaps: Overlap[];
  /** Writes acknowledged after another node claimed the id. */
  readonly staleWrites: HistoryEvent[];
  readonly lostWrites: LostWrite[];
}

/**
 * Checks a history: the events in any order (several nodes' outputs put
 * together), and `final`, the attributes the store ends with, by id.
 *
 * @example
 * ```ts
 * import { checkHistory } from "./_history.ts";
 * const r = checkHistory([
 *   { type: "start", id: "s", node: "a", time: 0, revision: 1 },
 *   { type: "start", id: "s", node: "b", time: 5, revision: 2 },
 *   { type: "stop", id: "s", node: "a", time: 10 },
 * ], new Map());
 * console.assert(r.overlaps.length === 1 && r.overlaps[0].ms === 5);
 * ```
 */
export function checkHistory(
  events: readonly HistoryEvent[],
  final: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): HistoryReport {
  for (const e of events) {
    if (typeof e.time !== "number" || !Number.isFinite(e.time)) {
      throw new TypeError(
        `Cannot check a history: an event has no time: ${JSON.stringify(e)}`,
      );
    }
  }
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const intervals = liveIntervals(sorted);
  const ids = new Set(intervals.map((i) => i.id));
  for (const e of sorted) if (e.id !== undefined) ids.add(e.id);
  return {
    ids: ids.size,
    intervals,
    overlaps: overlapsOf(intervals),
    staleWrites: staleWritesOf(sorted),
    lostWrites: lostWritesOf(sorted, final),
  };
}

/** Pairs each start with the stop (or crash) of that child. */
function liveIntervals(sorted: readonly HistoryEvent[]): Interval[] {
  const open = new Map<string, { from: number; revision: number }>();
  const out: Interval[] = [];
  const k = (id: string, node: string) => JSON.stringify([id, node]);
  for (const e of sorted) {
    if (e.type === "start" && e.id !== undefined) {
      const key = k(e.id, e.node);
      const prev = open.get(key);
      if (prev !== undefined) {
        // A second start on one node without a stop: the first never ended
        // in the history; count it as live until this start.
        out.push({
          id: e.id,
          node: e.node,
          from: prev.from,
          to: e.time,
          revision: prev.revision,
          end: "running",
        });
      }
      open.set(key, { from: e.time, revision: e.revision ?? 0 });
    } else if (e.type === "stop" && e.id !== undefined) {
      const key = k(e.id, e.node);
      const start = open.get(key);
      if (start === undefined) continue;
      open.delete(key);
      out.push({
        id: e.id,
        node: e.node,
        from: start.from,
        to: e.time,
        revision: start.revision,
        end: e.fenced ? "fenced" : "stop",
      });
    } else if (e.type === "crash") {
      for (const [key, start] of [...open]) {
        const [id, node] = JSON.parse(key) as [string, string];
        if (node !== e.node) continue;
        open.delete(key);
        out.push({
          id,
          node,
          from: start.from,
          to: e.time,
          revision: start.revision,
          end: "crash",
        });
      }
    }
  }
  for (const [key, start] of open) {
    const [id, node] = JSON.parse(key) as [string, string];
    out.push({
      id,
      node,
      from: start.from,
      to: Infinity,
      revision: start.revision,
      end: "running",
    });
  }
  return actedUntil(sorted, out)
    .sort((a, b) => a.from - b.from || a.revision - b.revision);
}

/**
 * Extends each interval to the child's last `attempt`, `refused` or
 * `unknown` event:
 * code a child ran is evidence that it was live then, whatever its `stop`
 * says (a fenced stop is dated at the deadline, so without this a child
 * that ran on after it would count as stopped by construction). An event
 * belongs to the interval of its id and node that started last before it.
 */
function actedUntil(
  sorted: readonly HistoryEvent[],
  intervals: Interval[],
): Interval[] {
  const out = intervals.map((i) => ({ ...i }));
  const k = (id: string, node: string) => JSON.stringify([id, node]);
  const byKey = new Map<
    string,
    { -readonly [P in keyof Interval]: Interval[P] }[]
  >();
  for (const i of out) {
    const key = k(i.id, i.node);
    const list = byKey.get(key) ?? [];
    list.push(i);
    byKey.set(key, list);
  }
  for (const e of sorted) {
    if (
      (e.type !== "attempt" && e.type !== "refused" &&
        e.type !== "unknown") || e.id === undefined
    ) continue;
    let owner: (typeof out)[number] | undefined;
    for (const i of byKey.get(k(e.id, e.node)) ?? []) {
      if (i.from <= e.time && (owner === undefined || i.from > owner.from)) {
        owner = i;
      }
    }
    if (owner !== undefined && owner.to < e.time) owner.to = e.time;
  }
  return out;
}

function overlapsOf(intervals: readonly Interval[]): Overlap[] {
  const byId = new Map<string, Interval[]>();
  for (const i of intervals) {
    const list = byId.get(i.id) ?? [];
    list.push(i);
    byId.set(i.id, list);
  }
  const out: Overlap[] = [];
  for (const [id, list] of byId) {
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        const ms = Math.min(list[a].to, list[b].to) -
          Math.max(list[a].from, list[b].from);
        if (ms > 0) {
          out.push({ id, first: list[a], second: list[b], ms });
        }
      }
    }
  }
  return out;
}

function staleWritesOf(sorted: readonly HistoryEvent[]): HistoryEvent[] {
  const claims = new Map<string, HistoryEvent[]>();
  for (const e of sorted) {
    if (e.type !== "start" || e.id === undefined) continue;
    const list = claims.get(e.id) ?? [];
    list.push(e);
    claims.set(e.id, list);
  }
  const out: HistoryEvent[] = [];
  for (const e of sorted) {
    if (e.type !== "attr" || e.id === undefined) continue;
    let owner: HistoryEvent | undefined;
    for (const c of claims.get(e.id) ?? []) {
      if (
        (c.revision ?? 0) < (e.revision ?? 0) &&
        (owner === undefined || (c.revision ?? 0) > (owner.revision ?? 0))
      ) owner = c;
    }
    if (owner !== undefined && owner.node !== e.node) out.push(e);
  }
  return out;
}

function lostWritesOf(
  sorted: readonly HistoryEvent[],
  final: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): LostWrite[] {
  // For each id and key: the last acknowledged write, and the writes
  // attempted on each node whose outcome is unknown (never answered, or
  // answered `unknown`): they stay pending. An `attr` (made) or `refused`
  // (not made) settles its attempt.
  const acked = new Map<string, HistoryEvent>();
  const pending = new Map<string, HistoryEvent[]>();
  const pk = (e: HistoryEvent) => JSON.stringify([e.id, e.key, e.node]);
  for (const e of sorted) {
    if (e.id === undefined || e.key === undefined) continue;
    const key = JSON.stringify([e.id, e.key]);
    if (e.type === "attempt") {
      const list = pending.get(pk(e)) ?? [];
      list.push(e);
      pending.set(pk(e), list);
    } else if (e.type === "attr" || e.type === "refused") {
      const list = pending.get(pk(e)) ?? [];
      const i = list.findIndex((p) => same(p.value, e.value));
      if (i >= 0) list.splice(i, 1);
      if (e.type === "attr") {
        const last = acked.get(key);
        if (last === undefined || (e.revision ?? 0) > (last.revision ?? 0)) {
          acked.set(key, e);
        }
      }
    }
  }
  const out: LostWrite[] = [];
  for (const [key, last] of acked) {
    const [id, attr] = JSON.parse(key) as [string, string];
    const stored = final.get(id)?.[attr];
    if (same(stored, last.value)) continue;
    // A write of unknown outcome explains the store only if it may have
    // landed after the last acknowledged one: it was sent after that ack
    // was seen (the ack's time is when its node got the answer, which may
    // be late: a node paused with the answer on its way), or by a child
    // whose claim came after that write (its revision is higher), which
    // could only write after it.
    const unanswered = [...pending.entries()].some(([p, list]) => {
      const [pid, pkey] = JSON.parse(p) as [string, string];
      return pid === id && pkey === attr &&
        list.some((w) =>
          same(w.value, stored) &&
          (w.time >= last.time - 1 ||
            claimOf(sorted, w) > (last.revision ?? 0))
        );
    });
    if (unanswered) continue;
    out.push({
      id,
      key: attr,
      acknowledged: last.value,
      revision: last.revision ?? 0,
      stored,
    });
  }
  return out;
}

/**
 * The KV revision of the claim of the child that made `e`: the last start
 * of its id on its node before it (0 if none).
 */
function claimOf(sorted: readonly HistoryEvent[], e: HistoryEvent): number {
  let claim: HistoryEvent | undefined;
  for (const s of sorted) {
    if (s.time > e.time) break;
    if (s.type === "start" && s.id === e.id && s.node === e.node) claim = s;
  }
  return claim?.revision ?? 0;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
