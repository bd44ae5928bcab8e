/**
 * A tracker for the whole cluster: at most one live child per id across
 * every node, found from any node (erlyvideo's gen_tracker, Horde's
 * registry, Orleans' grain directory, on a strongly consistent store).
 *
 * ```ts ignore
 * import { connect } from "@steward/steward/cluster";
 * import { ClusterTracker } from "@steward/steward/cluster-tracker";
 * import { spawn } from "@steward/steward/process";
 *
 * await using node = await connect({ servers: "nats://127.0.0.1:4222", node: "a" });
 * await using streams = await ClusterTracker.open(node, {
 *   name: "streams",
 *   start: (id) => spawn(async () => { await serve(id); }),
 * });
 * const pid = await streams.findOrOpen("cam-7"); // here, or wherever it lives
 * ```
 *
 * Open the tracker on every node that may run children, with the same
 * `name` and the same `start` (the child spec is code, so it does not
 * cross the wire: each node has its own copy, as each Erlang node has its
 * own modules).
 *
 * ## What is stored
 * The tracker keeps a JetStream key-value bucket per cluster and tracker
 * name, `steward_<cluster>_tracker_<name>` (kept in `replicas` copies:
 * use 3 on a three-server NATS cluster, so that losing one server loses
 * no tracker), and answers opens placed on its node on the
 * subject `steward.<cluster>.tr.<name>.<node>`. Two kinds of keys:
 * - one per node **lease**, `l.<token>`: written by its node every
 *   `renewMs` (by default the node's heartbeat) with a compare-and-set on
 *   its last revision; the token is random, and a new one is drawn after
 *   the node is fenced (below), so a lease once lost is never renewed;
 * - one per **id**, `i.<the id in base64url>`: `{ node, token, pid,
 *   attrs }`, the owner, the
 *   lease that holds it, the child, and the id's attributes. It is written
 *   with `create` (an id never opened) or with `update` at the revision
 *   read (compare-and-set): two nodes racing for an id cannot both win.
 *
 * ## findOrOpen, find
 * `findOrOpen(id)` asks the node chosen by `place(id, nodes)` (by default:
 * this node) to open the id. That node reads the id's entry: no entry, or
 * one released by its last owner, is claimed at once; an entry held by a
 * lease still being renewed is the owner's (its child's pid is returned,
 * wherever it lives); an entry held by a lease that lapsed is taken over,
 * and the new child is told which node lost it (`lost` in
 * {@linkcode OpenContext}). `find(id)` answers from a cache of the bucket
 * kept by a watch on it: cheap, and a little behind (what a node wrote a
 * few ms ago may not be in another node's cache yet).
 *
 * ## Fencing, and why there are never two live children for one id
 * A node must stop using a lease **before** any other node can take it.
 * - The holder counts from the moment it **sent** its last successful
 *   renewal. At `leaseMs - safetyMs` after that, it kills (reason
 *   `"killed"`, which cannot be trapped) every child it runs for the
 *   tracker, and refuses their attribute writes from then on. A renewal
 *   refused by the compare-and-set (another node revoked the lease)
 *   fences it at once.
 * - Another node takes the id only once it has seen the holder's lease key
 *   at one revision, unchanged, for `leaseMs` on **its own** clock,
 *   counted from when it first read that revision. It then revokes the
 *   lease (a delete at that revision: if the holder renewed meanwhile, the
 *   delete fails and the lease lives on), and claims the id with a
 *   compare-and-set on the id's entry.
 *
 * The holder sent its renewal before the store kept it, and the store
 * kept it before anyone read it, so the holder's count starts first; it is
 * also shorter, by `safetyMs`. So the holder has stopped its children
 * before anyone may take the id, **provided the two clocks measure
 * `leaseMs` alike within `safetyMs`**: clock *rates* may drift (ordinary
 * quartz drifts by parts per million; the default `safetyMs` is a fifth of
 * the lease), but no clock may jump (a monotonic clock is used), and the
 * clocks need not agree on the time of day. A holder that is paused (a
 * `SIGSTOP`, a long GC, a blocked event loop) cannot run its fence timer,
 * but its children cannot run either. When it resumes, timers fire in the
 * order they fell due, a child's before the fence timer; so each child (and
 * every process it, or `start`, spawns) runs under the lease: the scheduler
 * checks the lease's deadline before it runs any of the child's code (a
 * turn, a Steward timer's action, a `receive`'s message or timeout, a
 * `call`'s reply or timeout, a `setAttr`'s answer), and past it fences the
 * node instead (every child killed, reason `"killed"`); nothing the child
 * awaits settles then, so not even its `catch` or `finally` runs. On the
 * normal path this costs one field check per turn.
 *
 * The limit: code a child started outside Steward (a raw `setTimeout`, a
 * socket or file callback, another library's promise) runs when its event
 * comes, and the scheduler cannot hold it back: it may run briefly after a
 * pause, before the fence kills the child (killing a process does not stop
 * JavaScript it already started). So may the rest of an `async start` that
 * was awaiting when the node was fenced (its process is killed, and what it
 * spawned never runs; `findOrOpen` rejects with `fenced`), and the one turn
 * the scheduler had let run when the pause fell (the check and the code it
 * let run are a scheduler burst apart, and a SIGSTOP can fall between). Nothing such code
 * does through the tracker takes effect (every `setAttr` checks the
 * deadline, and the store refuses a write at a stale revision once another
 * node claimed the id). For writes to other systems, `start` gets a
 * **fencing token** (`context.fencingToken`, the KV revision of the claim,
 * growing with every claim of the id): a system that keeps the highest
 * token it saw per id and refuses lower ones refuses a stale child too.
 *
 * For the history (`onEvent`), a fenced child's stop is dated at its
 * deadline (or its death, if earlier): the last moment the tracker let it
 * act. (The demo's history checker counts a child live until its last
 * write attempt, if that is later.)
 *
 * ## Availability: the trade-off
 * Uniqueness is chosen over availability (CP, in CAP's words). While a
 * node is cut off from NATS, or paused, or dead, its ids are unavailable:
 * nobody else opens them until its lease lapses (`leaseMs` after its last
 * renewal, plus the time to notice). A node that cannot reach the store
 * stops its own children, even if they were serving someone who could
 * reach them. Without a JetStream quorum nothing can be opened at all, and
 * every node stops its children once its lease runs out.
 *
 * ## Attributes
 * `setAttr(id, key, value)` is done by the node that owns the id (the
 * child, or code on its node): a compare-and-set on the id's entry, which
 * resolves once the store has it. An acknowledged write is never lost: the
 * next owner claims the id with a compare-and-set too, so it starts from
 * the entry that holds every acknowledged write (the attributes survive
 * their child and move with the id). `getAttr(id, key)` from any node reads
 * the store.
 *
 * A write the store does not answer (a timeout, a reconnect) may have been
 * stored or not; the tracker reads the entry back to find out. Found there,
 * the write resolves (it is acknowledged); not there while the entry is
 * still this node's, it is made once more (a compare-and-set at the
 * revision read: at most one of the two lands). When that cannot tell
 * either, `setAttr` rejects with code `"timeout"`: the write **may or may
 * not** be stored, and the next owner starts from whichever it is. Only
 * `"fenced"`, `"not_owner"` and `"closed"` mean the write was not made.
 *
 * ## afterTerminate, and nodes that die
 * - A child that ends (any reason) on a live node: its node releases the
 *   id (its entry keeps the attributes) and then runs `afterTerminate(id,
 *   reason, info)` there.
 * - A child killed by fencing: its node runs `afterTerminate` with reason
 *   `"killed"` and `info.fenced` true, once it runs again; it cannot write
 *   attributes any more.
 * - A node that dies (`SIGKILL`, a crash, a lost machine): nobody runs
 *   `afterTerminate` for its children: there is nobody to run it. Instead
 *   the next node that opens one of its ids gets `lost: "<node>"` in the
 *   `start` context, with the attributes, and can clean up there.
 *
 * ## Differs from the local tracker
 * The child's `start` is given once, to `open`, not with each
 * `findOrOpen` (a function cannot cross to the node that opens the id);
 * `findOrOpen` passes `args` to it instead. Ids are strings (1 to 256
 * characters). Attribute values must be able to cross the wire (what
 * `send` to another node accepts), and only the owning node writes them.
 * `find` may return the pid of a child on a node that has just died: a
 * call to it fails with `"noconnection"`, as with any remote pid. Children
 * are not restarted: a child that ends releases its id, and the next
 * `findOrOpen` starts a new one.
 *
 * @module
 */
import {
  connect as natsConnect,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import { jetstream, JetStreamApiError } from "@nats-io/jetstream";
import type { ClusterNode } from "./cluster.ts";
import { connectedNode, type Node } from "./_node.ts";
import {
  currentProc,
  isRemote,
  kill,
  leaseLapsed,
  type Pid,
  procOf,
  spawnProc,
  unwatch,
  watch,
} from "./_runtime.ts";
import type { DownWatcher, Proc, ProcLease } from "./_runtime.ts";
import { type Address, decode, encode, fromWire, toWire } from "./_wire.ts";
import { getClock, type TimerHandle } from "./clock.ts";
import { ClusterTrackerError, WireDecodeError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import { HeldLease, LeaseSightings } from "./_cluster_lease.ts";
import { enabled, log } from "./_logger.ts";
import { checkReplicas } from "./_global.ts";
import { checkOptionsObject, refuseUnknown } from "./_options.ts";

/** What `start` gets besides the id. */
export interface OpenContext {
  /** The `args` given to `findOrOpen` (copied across the wire if remote). */
  readonly args: unknown;
  /**
   * The node that held the id and lost it without releasing it (it died,
   * was cut off, or paused past its lease), or `null`.
   */
  readonly lost: string | null;
  /** The id's attributes as the store has them (every acknowledged write). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /**
   * The fencing token: the KV revision of this node's claim on the id. It
   * grows with every claim of the id (on any node), so a system outside the
   * tracker that remembers the highest token it has seen for the id can
   * refuse a write carrying a lower one: a child of an older claim, still
   * running for a moment after its node was paused past its lease, is
   * refused there too.
   */
  readonly fencingToken: number;
}

/** What `afterTerminate` gets besides the id and the exit reason. */
export interface TerminateInfo {
  /** Whether this node killed the child because its lease lapsed. */
  readonly fenced: boolean;
}

/** One event of a tracker's history (see `onEvent`). */
export interface TrackerEvent {
  /** A child started, stopped, or an attribute write was acknowledged. */
  readonly type: "start" | "stop" | "attr";
  /** The id. */
  readonly id: string;
  /** This node's name. */
  readonly node: string;
  /**
   * Wall-clock ms (`Date.now()`): when `start` was called, when the child
   * died (for a fenced child: its fence deadline), when the write was
   * acknowledged.
   */
  readonly time: number;
  /** KV revision of the id's entry: the claim, the release, the write. */
  readonly revision: number;
  /** For `"stop"`: the exit reason. */
  readonly reason?: unknown;
  /** For `"stop"`: whether the child was fenced. */
  readonly fenced?: boolean;
  /** For `"attr"`: the key and value written. */
  readonly key?: string;
  /** For `"attr"`: the value written. */
  readonly value?: unknown;
}

/** Options of {@linkcode ClusterTracker.open}. */
export interface ClusterTrackerOptions {
  /**
   * The tracker's name: letters, digits and `-`, 1 to 32; the same on
   * every node.
   * @default {"tracker"}
   */
  name?: string;
  /** Starts the child for `id` on this node; returns its (local) pid. */
  start: (id: string, context: OpenContext) => Pid | Promise<Pid>;
  /** Runs on the owning node after its child for `id` ended. */
  afterTerminate?: (
    id: string,
    reason: unknown,
    info: TerminateInfo,
  ) => void | Promise<void>;
  /**
   * Which node opens a new id: gets the id and the live nodes' names
   * (this one included, sorted); returns one of them.
   * @default {this node}
   */
  place?: (id: string, nodes: readonly string[]) => string;
  /**
   * How long a lease lasts without renewal (ms).
   * @default {the node's leaseMs}
   */
  leaseMs?: number;
  /**
   * How much earlier than `leaseMs` a node stops its own children (ms);
   * covers clock-rate drift and a late fence timer.
   * @default {leaseMs / 5}
   */
  safetyMs?: number;
  /**
   * How often the lease is renewed (ms); less than `leaseMs - safetyMs`.
   * @default {the node's heartbeatMs}
   */
  renewMs?: number;
  /**
   * How many copies JetStream keeps of the tracker's bucket, 1 to 5: the
   * bucket survives losing fewer than half of them. With 1 (fit for a
   * single NATS server) the bucket lives on one server, and losing that
   * server fences every node's children. **On a NATS cluster of three
   * servers, use 3.** It counts when the bucket is made (by the first node
   * to open the tracker); a bucket made already keeps its replicas.
   * @default {1}
   */
  replicas?: number;
  /** Gets every start, stop and acknowledged attribute write here. */
  onEvent?: (event: TrackerEvent) => void;
}

/** Options of {@linkcode ClusterTracker.findOrOpen}. */
export interface FindOrOpenOptions {
  /** Passed to `start` as `context.args`. */
  args?: unknown;
  /**
   * Ms to wait (for a lapsing lease, a remote node).
   * @default {2 * leaseMs + 5000}
   */
  timeout?: number;
}

/** An id this node owns. */
interface Owned {
  readonly proc: Proc;
  readonly pid: Pid;
  /** The lease token the claim was made under. */
  readonly token: string;
  /** Revision of the id's entry as this node last wrote it. */
  revision: number;
  /** The attributes, in wire form, as last written. */
  attrs: Record<string, unknown>;
  readonly watcher: DownWatcher;
  /** Attribute writes, one at a time (each a compare-and-set). */
  chain: Promise<unknown>;
  /** Set when fencing killed the child. */
  fenced: boolean;
  /** Settles once the child's end is handled (release, afterTerminate). */
  readonly done: Promise<void>;
  readonly finish: () => void;
}

/** An id's entry in the store. */
interface Entry {
  node: string | null;
  token: string | null;
  pid: Address | null;
  attrs: Record<string, unknown>;
}

const OPTIONS = [
  "name",
  "start",
  "afterTerminate",
  "place",
  "leaseMs",
  "safetyMs",
  "renewMs",
  "replicas",
  "onEvent",
];
const TRACKER_NAME = /^[A-Za-z0-9-]{1,32}$/;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

let openTracker: (
  node: ClusterNode,
  options: ClusterTrackerOptions,
) => Promise<ClusterTracker>;

/**
 * A cluster-wide tracker: made by {@linkcode ClusterTracker.open} on each
 * node, ended by {@linkcode ClusterTracker.close}. See the module docs for
 * what it guarantees.
 */
export class ClusterTracker {
  readonly #node: Node;
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #name: string;
  readonly #subject: string;
  readonly #start: ClusterTrackerOptions["start"];
  readonly #afterTerminate: ClusterTrackerOptions["afterTerminate"];
  readonly #place: ClusterTrackerOptions["place"];
  readonly #onEvent: ClusterTrackerOptions["onEvent"];
  readonly #leaseMs: number;
  readonly #safetyMs: number;
  readonly #renewMs: number;
  /** This node's lease; replaced after a fence. */
  #lease: HeldLease;
  readonly #sightings: LeaseSightings;
  /** Ids this node owns: their children run here. */
  readonly #owned = new Map<string, Owned>();
  /** Opens under way here, by id (one at a time per id). */
  readonly #opening = new Map<string, Promise<Pid>>();
  /**
   * The watched bucket: id -> its child's address (held ids only), and its
   * pid once `find` has made it (kept: a remote pid's stand-in lives while
   * it is referenced, and making a new one per `find` cost ~1 µs).
   */
  readonly #cache = new Map<string, { address: Address; pid?: Pid }>();
  /** Processes running `start` here, by the lease they run under. */
  readonly #starters = new Map<Proc, HeldLease>();
  /** The scheduler's view of each lease (see ProcLease). */
  readonly #procLeases = new WeakMap<HeldLease, ProcLease>();
  #renewTimer: TimerHandle | undefined;
  #fenceTimer: TimerHandle | undefined;
  #renewing: Promise<void> | null = null;
  /** The bucket, for lease renewals (a shorter request timeout). */
  #renewKv: KV | null = null;
  /**
   * Renewals of the current lease that failed unanswered since the last
   * acknowledged one (wall time sent -> clock time sent): one may have been
   * written all the same.
   */
  readonly #unanswered = new Map<number, number>();
  #sub: Subscription | null = null;
  #watch: { stop(): void } | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Sleeps under way (close wakes them). */
  readonly #sleeps = new Set<() => void>();

  private constructor(
    node: Node,
    nc: NatsConnection,
    kv: KV,
    name: string,
    options: ClusterTrackerOptions,
    lease: HeldLease,
  ) {
    this.#node = node;
    this.#nc = nc;
    this.#kv = kv;
    this.#name = name;
    this.#subject = `steward.${node.config.cluster}.tr.${name}.`;
    this.#start = options.start;
    this.#afterTerminate = options.afterTerminate;
    this.#place = options.place;
    this.#onEvent = options.onEvent;
    this.#leaseMs = lease.leaseMs;
    this.#safetyMs = lease.safetyMs;
    this.#renewMs = options.renewMs ?? node.config.heartbeatMs;
    this.#lease = lease;
    this.#sightings = new LeaseSightings(lease.leaseMs);
  }

  static {
    openTracker = async (handle, options) => {
      const opts = checkOpenOptions(options);
      const node = connectedNode();
      if (
        node === null || node.closed || typeof handle?.name !== "string" ||
        node.name !== handle.name
      ) {
        throw new TypeError(
          `Cannot open a cluster tracker: 'node' must be this runtime's open ClusterNode, got ${
            formatTerm(handle)
          }`,
        );
      }
      const leaseMs = opts.leaseMs ?? node.config.leaseMs;
      const safetyMs = opts.safetyMs ?? leaseMs / 5;
      const renewMs = opts.renewMs ?? node.config.heartbeatMs;
      if (!(safetyMs < leaseMs)) {
        throw new RangeError(
          `Cannot open a cluster tracker: 'safetyMs' (${safetyMs}) must be less than 'leaseMs' (${leaseMs})`,
        );
      }
      if (!(renewMs < leaseMs - safetyMs)) {
        throw new RangeError(
          `Cannot open a cluster tracker: 'renewMs' (${renewMs}) must be less than 'leaseMs' - 'safetyMs' (${
            leaseMs - safetyMs
          })`,
        );
      }
      const name = opts.name ?? "tracker";
      const nc = await natsConnect({
        ...node.config.nats,
        servers: node.config.servers,
        name: `steward ${node.config.cluster}/${node.name} tracker ${name}`,
      });
      try {
        const cluster = node.config.cluster;
        const bucket = `steward_${cluster}_tracker_${name}`;
        // Reads go to the stream's leader (allow_direct off): a follower
        // may not have applied the last write yet.
        const kv = await new Kvm(nc).create(bucket, {
          history: 1,
          replicas: opts.replicas ?? 1,
          allow_direct: false,
        });
        const lease = await newLease(kv, node.name, leaseMs, safetyMs);
        const tracker = new ClusterTracker(
          node,
          nc,
          kv,
          name,
          { ...opts, renewMs },
          lease,
        );
        // Renewals time out after renewMs: one lost in a reconnect or a
        // leader election is sent again within the lease, instead of
        // waiting out JetStream's default 5 s past the fence deadline.
        tracker.#renewKv = await new Kvm(
          jetstream(nc, { timeout: Math.max(renewMs, 250) }),
        ).open(bucket);
        await tracker.#begin();
        return tracker;
      } catch (error) {
        await nc.close().catch(() => {});
        throw error;
      }
    };
  }

  /**
   * Opens the tracker `options.name` on this node: joins its bucket, takes
   * a lease, watches the bucket for `find`, and serves opens placed here.
   * Open it on every node that may run its children.
   *
   * @param node this runtime's node (from `connect`).
   * @param options `start` (required), `name`, `afterTerminate`, `place`,
   *   the lease timings, `onEvent`.
   * @returns the tracker; close it (or `await using` it) before the node.
   * @throws {TypeError} (rejects) for a malformed or unknown option, or a
   *   node that is not this runtime's open node.
   * @throws {RangeError} (rejects) for timings out of range.
   * @throws {Error} (rejects) the NATS client's error if JetStream is not
   *   there.
   *
   * @example
   * ```ts
   * import { ClusterTracker } from "@steward/steward/cluster-tracker";
   * import type { ClusterNode } from "@steward/steward/cluster";
   * const e = await ClusterTracker.open({} as ClusterNode, {
   *   start: () => { throw new Error("unused"); },
   *   colour: "red",
   * } as never).catch((e) => e);
   * console.assert(e instanceof TypeError && /unknown option "colour"/.test(e.message));
   * ```
   */
  static open(
    node: ClusterNode,
    options: ClusterTrackerOptions,
  ): Promise<ClusterTracker> {
    return openTracker(node, options);
  }

  /** Starts the watch, the request subscription, the renewals. */
  async #begin(): Promise<void> {
    const watcher = await this.#kv.watch({ key: "i.>" });
    this.#watch = watcher;
    void (async () => {
      try {
        for await (const e of watcher) this.#cached(e);
      } catch {
        // the connection closed
      }
    })();
    this.#sub = this.#nc.subscribe(this.#subject + this.#node.name, {
      callback: (err, msg) => {
        if (err === null) void this.#served(msg);
      },
    });
    await this.#nc.flush();
    this.#armFence();
    this.#scheduleRenew();
  }

  /** The tracker's name. */
  get name(): string {
    return this.#name;
  }

  // ------------------------------------------------------------ leases --

  #scheduleRenew(): void {
    if (this.#closed) return;
    this.#renewTimer = getClock().setTimeout(() => {
      this.#renewTimer = undefined;
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = null;
        this.#scheduleRenew();
      });
    }, this.#renewMs);
  }

  /** One renewal: a compare-and-set on the lease key. */
  async #renew(): Promise<void> {
    const lease = this.#lease;
    const clock = getClock();
    const sentAt = clock.now();
    const sentAtWall = Date.now();
    if (lease.revision === 0) {
      // A new lease after a fence, whose key is not written yet.
      this.#unanswered.clear();
      try {
        const revision = await this.#kv.create(
          "l." + lease.token,
          leaseValue(this.#node.name, sentAtWall),
        );
        if (this.#lease === lease) {
          lease.renewed(revision, sentAt, sentAtWall);
          this.#armFence();
        }
      } catch {
        // no store: try again at the next renewal
      }
      return;
    }
    if (!lease.valid(sentAt)) {
      this.#fence("the fence deadline passed");
      return;
    }
    const kv = this.#renewKv ?? this.#kv;
    try {
      const revision = await kv.update(
        "l." + lease.token,
        leaseValue(this.#node.name, sentAtWall),
        lease.revision,
      );
      if (this.#lease !== lease) return;
      this.#unanswered.clear();
      lease.renewed(revision, sentAt, sentAtWall);
      if (!lease.valid(clock.now())) {
        this.#fence("the renewal came back after the fence deadline");
      } else {
        this.#armFence();
      }
    } catch (error) {
      if (this.#closed || this.#lease !== lease) return;
      if (!isWrongRevision(error)) {
        // No answer: the fence timer decides; the next renewal may find
        // that this one was written.
        this.#unanswered.set(sentAtWall, sentAt);
        return;
      }
      if (this.#unanswered.size > 0) {
        // Refused: maybe because an unanswered renewal was written.
        const entry = await kv.get("l." + lease.token).catch(() => null);
        if (this.#closed || this.#lease !== lease) return;
        const at = entry?.operation === "PUT"
          ? leaseWall(entry.value, this.#node.name)
          : undefined;
        const sent = at === undefined ? undefined : this.#unanswered.get(at);
        if (entry != null && sent !== undefined) {
          this.#unanswered.clear();
          lease.renewed(entry.revision, sent, at!);
          if (lease.valid(clock.now()) && lease.revision === entry.revision) {
            this.#armFence();
            return;
          }
        }
      }
      this.#fence("another node revoked the lease");
    }
  }

  #armFence(): void {
    if (this.#closed) return;
    const clock = getClock();
    if (this.#fenceTimer !== undefined) clock.clearTimeout(this.#fenceTimer);
    const lease = this.#lease;
    this.#fenceTimer = clock.setTimeout(() => {
      this.#fenceTimer = undefined;
      if (this.#lease === lease) this.#fence("the lease was not renewed");
    }, Math.max(0, lease.deadline - clock.now()));
  }

  /**
   * Stops every child here (the lease can no longer be trusted) and starts
   * over with a new lease. Synchronous up to the kills, so nothing of the
   * children's runs between the decision and their death.
   */
  #fence(why: string): void {
    if (this.#closed) return;
    const old = this.#lease;
    const children = [...this.#owned.entries()].filter(([, o]) =>
      o.token === old.token
    );
    this.#fenceWall.set(old.token, Math.min(Date.now(), old.deadlineWall));
    if (children.length > 0 && enabled(undefined, "warning")) {
      log({
        level: "warning",
        kind: "fenced",
        time: Date.now(),
        source: "cluster",
        node: this.#node.name,
        name: this.#name,
        count: children.length,
        message: why,
      });
    }
    // kill(), not exit(): exit() sends from the process whose async
    // context this runs in, which may be any (a dead one sends nothing).
    for (const [, o] of children) {
      o.fenced = true;
      kill(o.proc, "killed");
    }
    for (const [proc, lease] of this.#starters) {
      if (lease === old) kill(proc, "killed");
    }
    // A lease once lost is never renewed: a new token, a new key.
    this.#lease = new HeldLease(
      randomToken(),
      0,
      -Infinity,
      -Infinity,
      this.#leaseMs,
      this.#safetyMs,
    );
    if (this.#fenceTimer !== undefined) {
      getClock().clearTimeout(this.#fenceTimer);
      this.#fenceTimer = undefined;
    }
    // Lets the others take the old ids at once (if nobody did already);
    // the next renewal writes the new lease's key.
    void this.#kv.delete("l." + old.token, { previousSeq: old.revision })
      .catch(() => {});
  }

  // ------------------------------------------------------------- cache --

  #cached(e: KvEntry): void {
    const id = idOfKey(e.key);
    if (id === undefined) return;
    const entry = e.operation === "PUT" ? parseEntry(e.value) : undefined;
    if (entry?.pid != null && entry.token !== null) {
      this.#cache.set(id, { address: entry.pid });
    } else {
      this.#cache.delete(id);
    }
  }

  /**
   * The pid of `id`'s child, wherever it runs, from this node's cache of
   * the store (no round trip), or `undefined` if the cache knows none.
   * The cache follows the store a few ms behind.
   *
   * @param id the id.
   * @returns its pid, or `undefined`.
   * @throws {TypeError} if `id` is not a string of 1 to 256 characters.
   *
   * @example
   * ```ts ignore
   * const pid = streams.find("cam-7");
   * if (pid !== undefined) send(pid, "status");
   * ```
   */
  find(id: string): Pid | undefined {
    checkId("find", id);
    // A remote child's pid, as found before (never set for an id this node
    // owns): one lookup.
    const cached = this.#cache.get(id);
    if (cached?.pid !== undefined) return cached.pid;
    const here = this.#owned.get(id);
    if (here !== undefined && !here.proc.dead) return here.pid;
    if (cached === undefined) return undefined;
    if (cached.address[0] === this.#node.name) return undefined;
    return cached.pid = this.#node.pidIn(cached.address);
  }

  // ------------------------------------------------------------ opening --

  /**
   * The child for `id`, wherever it runs; starts one (on the node `place`
   * chooses, by default this one) if no node holds the id. At most one
   * child per id runs in the cluster at any time.
   *
   * @param id the id.
   * @param options `args` for `start`, `timeout`.
   * @returns the child's pid (remote pids work with send, call, monitor).
   * @throws {ClusterTrackerError} (rejects) code `"timeout"` (the owner's
   *   lease did not lapse in time, or the chosen node did not answer),
   *   `"no_tracker"`, `"start_failed"` (with the `start` error as cause),
   *   `"closed"`.
   * @throws {TypeError} (rejects) for a malformed id or option, or `args`
   *   that cannot cross to another node.
   *
   * @example
   * ```ts ignore
   * const a = await streams.findOrOpen("cam-7");
   * const b = await streams.findOrOpen("cam-7");
   * console.assert(a === b);
   * ```
   */
  async findOrOpen(id: string, options?: FindOrOpenOptions): Promise<Pid> {
    checkId("findOrOpen", id);
    const opts = checkOptionsObject("findOrOpen", options, [
      "args",
      "timeout",
    ]);
    const timeout = opts?.timeout ?? 2 * this.#leaseMs + 5000;
    if (typeof timeout !== "number" || !(timeout > 0)) {
      throw new RangeError(
        `Cannot findOrOpen: 'timeout' must be a number of ms > 0, got ${
          formatTerm(timeout)
        }`,
      );
    }
    this.#checkOpen("findOrOpen", id);
    const here = this.#owned.get(id);
    if (here !== undefined && !here.proc.dead) return here.pid;
    const nodes = [this.#node.name, ...this.#node.nodes()].sort();
    let target = this.#node.name;
    if (this.#place !== undefined) {
      target = this.#place(id, nodes);
      if (!nodes.includes(target)) {
        throw new TypeError(
          `Cannot findOrOpen ${JSON.stringify(id)}: 'place' returned ${
            formatTerm(target)
          }, not one of the live nodes ${JSON.stringify(nodes)}`,
        );
      }
    }
    const args = opts?.args;
    if (target === this.#node.name) {
      return await this.#openHere(id, args, timeout);
    }
    return await this.#openThere(target, id, args, timeout);
  }

  async #openThere(
    target: string,
    id: string,
    args: unknown,
    timeout: number,
  ): Promise<Pid> {
    const body = encode(["open", id, args, timeout], this.#node);
    let reply: Msg;
    try {
      reply = await this.#nc.request(this.#subject + target, body, {
        timeout,
      });
    } catch (error) {
      const noResponders = String((error as Error)?.message).includes(
        "503",
      ) || (error as { code?: unknown })?.code === "503" ||
        /no responders/i.test(String((error as Error)?.message));
      throw new ClusterTrackerError(
        noResponders ? "no_tracker" : "timeout",
        "findOrOpen",
        id,
        noResponders
          ? `node ${JSON.stringify(target)} has no tracker ${
            JSON.stringify(this.#name)
          }`
          : `node ${JSON.stringify(target)} did not answer in ${timeout} ms`,
        { cause: error },
      );
    }
    const answer = decode(reply.data, this.#node) as unknown[];
    if (Array.isArray(answer) && answer[0] === "ok") return answer[1] as Pid;
    const [, code, message] = Array.isArray(answer) ? answer : [];
    throw new ClusterTrackerError(
      (typeof code === "string" ? code : "timeout") as "timeout",
      "findOrOpen",
      id,
      `on node ${JSON.stringify(target)}: ${String(message)}`,
    );
  }

  /** Serves an open placed here by another node. */
  async #served(msg: Msg): Promise<void> {
    let answer: unknown[];
    try {
      const req = decode(msg.data, this.#node, {
        maxBytes: this.#node.config.maxFrameBytes,
      });
      if (
        !Array.isArray(req) || req[0] !== "open" || typeof req[1] !== "string"
      ) {
        return;
      }
      const [, id, args, timeout] = req as [string, string, unknown, unknown];
      checkId("findOrOpen", id);
      const t = typeof timeout === "number" && timeout > 0 ? timeout : 5000;
      answer = ["ok", await this.#openHere(id, args, t)];
    } catch (error) {
      if (error instanceof WireDecodeError) {
        if (enabled(undefined, "warning")) {
          log({
            level: "warning",
            kind: "bad_frame",
            time: Date.now(),
            source: "cluster",
            node: this.#node.name,
            message: msg.subject,
            reason: error,
          });
        }
        return; // dropped: the asker times out
      }
      answer = error instanceof ClusterTrackerError
        ? ["error", error.code, error.message]
        : ["error", "start_failed", String((error as Error)?.message)];
    }
    try {
      msg.respond(encode(answer, this.#node));
    } catch {
      // the asker is gone
    }
  }

  #openHere(id: string, args: unknown, timeout: number): Promise<Pid> {
    const here = this.#owned.get(id);
    if (here !== undefined && !here.proc.dead) return Promise.resolve(here.pid);
    let opening = this.#opening.get(id);
    if (opening === undefined) {
      opening = this.#claim(id, args, timeout).finally(() =>
        this.#opening.delete(id)
      );
      this.#opening.set(id, opening);
    }
    return opening;
  }

  /** The claim loop: read, decide, compare-and-set, start. */
  async #claim(id: string, args: unknown, timeout: number): Promise<Pid> {
    const clock = getClock();
    const deadline = clock.now() + timeout;
    const key = keyOf(id);
    for (;;) {
      this.#checkOpen("findOrOpen", id);
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new ClusterTrackerError(
          "timeout",
          "findOrOpen",
          id,
          `its owner's lease did not lapse within ${timeout} ms`,
        );
      }
      const lease = this.#lease;
      if (!lease.valid(clock.now())) {
        // Between leases (just fenced): wait for the new one.
        await this.#sleep(Math.min(left, this.#renewMs));
        continue;
      }
      const current = await this.#kv.get(key);
      const entry = current?.operation === "PUT"
        ? parseEntry(current.value)
        : undefined;
      let lost: string | null = null;
      if (entry !== undefined && entry.token !== null) {
        if (entry.token === lease.token) {
          // Ours, from an open that failed halfway: take it again below.
        } else {
          const wait = await this.#lapse(entry.token);
          if (wait > 0) {
            if (entry.pid !== null) return this.#node.pidIn(entry.pid);
            await this.#sleep(Math.min(left, wait, this.#renewMs));
            continue;
          }
          lost = entry.node;
        }
      }
      const attrs = entry?.attrs ?? {};
      const claim: Entry = {
        node: this.#node.name,
        token: lease.token,
        pid: null,
        attrs,
      };
      let revision: number;
      try {
        revision = current === null
          ? await this.#kv.create(key, encodeEntry(claim))
          : await this.#kv.update(key, encodeEntry(claim), current.revision);
      } catch (error) {
        if (isWrongRevision(error) || isExists(error)) continue;
        throw error;
      }
      return await this.#startChild(id, args, lost, attrs, lease, revision);
    }
  }

  /**
   * Ms until the lease `token` lapses as seen from here (0: lapsed, and
   * revoked, so its holder can no longer renew it).
   */
  async #lapse(token: string): Promise<number> {
    const clock = getClock();
    const current = await this.#kv.get("l." + token);
    if (current === null || current.operation !== "PUT") {
      this.#sightings.forget(token);
      return 0; // released, revoked, or never there
    }
    this.#sightings.saw(token, current.revision, clock.now());
    const left = this.#sightings.remaining(token, clock.now())!;
    if (left > 0) return left;
    try {
      // Revoke: if the holder renewed since, this fails and it lives on.
      await this.#kv.delete("l." + token, { previousSeq: current.revision });
      this.#sightings.forget(token);
      return 0;
    } catch (error) {
      if (isWrongRevision(error)) return this.#renewMs;
      throw error;
    }
  }

  /**
   * Gives back an id claimed for a start that failed. A failure that proves
   * nothing (a timeout, NATS reconnecting) is retried every `renewMs`:
   * otherwise the id would stay claimed by a live lease with no child, and
   * every other node would wait for it in vain. It stops when the store
   * refuses (the entry changed: not ours any more), or once the lease is
   * gone or the tracker closes (the lease then lapses, which frees the id).
   */
  async #release(
    key: string,
    wireAttrs: Record<string, unknown>,
    lease: HeldLease,
    claimRevision: number,
  ): Promise<void> {
    const free = encodeEntry({
      node: null,
      token: null,
      pid: null,
      attrs: wireAttrs,
    });
    for (;;) {
      try {
        await this.#kv.update(key, free, claimRevision);
        return;
      } catch (error) {
        if (isWrongRevision(error)) return;
      }
      if (
        this.#closed || this.#closing !== null || this.#lease !== lease ||
        !lease.valid(getClock().now())
      ) return;
      await this.#sleep(this.#renewMs);
    }
  }

  async #startChild(
    id: string,
    args: unknown,
    lost: string | null,
    wireAttrs: Record<string, unknown>,
    lease: HeldLease,
    claimRevision: number,
  ): Promise<Pid> {
    const key = keyOf(id);
    const time = Date.now();
    let pid: Pid;
    try {
      const attrs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(wireAttrs)) {
        attrs[k] = fromWire(v, this.#node);
      }
      pid = await this.#runStart(id, {
        args,
        lost,
        attrs,
        fencingToken: claimRevision,
      }, lease);
      const proc = procOf(pid);
      if (isRemote(proc)) throw new TypeError("start returned a remote pid");
      // Under the lease from now on (and what it spawns): past the fence
      // deadline the scheduler runs none of its code.
      if (proc.lease === null) proc.lease = this.#procLease(lease);
    } catch (error) {
      await this.#release(key, wireAttrs, lease, claimRevision);
      if (error instanceof ClusterTrackerError && error.code === "fenced") {
        throw error; // fenced while start ran (see #runStart)
      }
      throw new ClusterTrackerError(
        "start_failed",
        "findOrOpen",
        id,
        `start failed: ${String((error as Error)?.message ?? error)}`,
        { cause: error },
      );
    }
    const proc = procOf(pid);
    let finish!: () => void;
    const done = new Promise<void>((resolve) => finish = resolve);
    const owned: Owned = {
      proc,
      pid,
      token: lease.token,
      revision: claimRevision,
      attrs: wireAttrs,
      watcher: {
        owner: null,
        down: (_target, reason) => {
          // Dated at the death, not after the release's round trip.
          const at = Date.now();
          queueMicrotask(() => this.#ended(id, owned, reason, at));
        },
      },
      chain: Promise.resolve(),
      fenced: false,
      done,
      finish,
    };
    this.#emit({ type: "start", id, time, revision: claimRevision });
    if (proc.dead) {
      const at = Date.now();
      queueMicrotask(() => this.#ended(id, owned, proc.reason, at));
      return pid;
    }
    this.#owned.set(id, owned);
    // find() answers from the cache's pid before looking here: no remote
    // pid of an id this node now owns.
    const cached = this.#cache.get(id);
    if (cached !== undefined) cached.pid = undefined;
    watch(proc, owned.watcher);
    if (this.#lease !== lease || !lease.valid(getClock().now())) {
      // Fenced while starting.
      owned.fenced = true;
      kill(proc, "killed");
      throw new ClusterTrackerError(
        "fenced",
        "findOrOpen",
        id,
        "this node's lease lapsed while the child started",
      );
    }
    owned.chain = this.#write(id, owned, (e) => ({
      ...e,
      pid: this.#node.pidOut(pid),
    })).catch(() => {});
    await owned.chain;
    return pid;
  }

  /**
   * The scheduler's view of `lease`: its fence deadline while it is this
   * node's lease (-Infinity once replaced); a process found past it fences.
   */
  #procLease(lease: HeldLease): ProcLease {
    let pl = this.#procLeases.get(lease);
    if (pl === undefined) {
      pl = {
        deadline: () => this.#lease === lease ? lease.deadline : -Infinity,
        lapsed: () => {
          if (this.#lease === lease) {
            this.#fence("a child was due to run past the fence deadline");
          }
        },
      };
      this.#procLeases.set(lease, pl);
    }
    return pl;
  }

  /**
   * Runs `start` in a process of its own under `lease`, so what it spawns
   * runs under the lease from its first turn: a fence while `start` is
   * under way kills that process and, at their next turn, whatever it
   * spawned (linked children at once, through the link).
   */
  #runStart(
    id: string,
    context: OpenContext,
    lease: HeldLease,
  ): Promise<Pid> {
    return new Promise<Pid>((resolve, reject) => {
      const start = this.#start;
      const starter = spawnProc(async () => {
        try {
          resolve(await start(id, context));
        } catch (error) {
          reject(error);
        }
      }, null);
      starter.lease = this.#procLease(lease);
      this.#starters.set(starter, lease);
      watch(starter, {
        owner: null,
        down: (_target, reason) => {
          this.#starters.delete(starter);
          reject(
            new ClusterTrackerError(
              "fenced",
              "findOrOpen",
              id,
              `start did not finish: its process ended (${formatTerm(reason)})`,
            ),
          );
        },
      });
    });
  }

  /** A child here ended: release its id, then afterTerminate. */
  async #ended(
    id: string,
    owned: Owned,
    reason: unknown,
    diedAt: number,
  ): Promise<void> {
    if (this.#owned.get(id) === owned) this.#owned.delete(id);
    unwatch(owned.proc, owned.watcher);
    const fenceTime = this.#fencedAt(owned);
    let revision = owned.revision;
    if (!owned.fenced) {
      await owned.chain.catch(() => {});
      try {
        revision = await this.#kv.update(
          keyOf(id),
          encodeEntry({
            node: null,
            token: null,
            pid: null,
            attrs: owned.attrs,
          }),
          owned.revision,
        );
      } catch {
        // taken over already: nothing to release
      }
    }
    this.#emit({
      type: "stop",
      id,
      time: fenceTime ?? diedAt,
      revision,
      reason,
      fenced: owned.fenced,
    });
    if (this.#afterTerminate !== undefined) {
      try {
        await this.#afterTerminate(id, reason, { fenced: owned.fenced });
      } catch (error) {
        if (enabled(undefined, "error")) {
          log({
            level: "error",
            kind: "after_terminate_failed",
            time: Date.now(),
            source: "tracker",
            name: this.#name,
            id,
            reason: error,
          });
        }
      }
    }
    owned.finish();
  }

  /** When a fenced child's lease ended (wall clock), for the history. */
  #fencedAt(owned: Owned): number | undefined {
    if (!owned.fenced) return undefined;
    return this.#fenceWall.get(owned.token);
  }

  /** Wall-clock fence deadlines of past leases, by token. */
  readonly #fenceWall = new Map<string, number>();

  // --------------------------------------------------------- attributes --

  /**
   * Writes attribute `key` of `id`, which this node must own; resolves once
   * the store has it (acknowledged: never lost, readable from every node).
   * Writes to one id are applied in call order.
   *
   * @param id an id whose child runs on this node.
   * @param key the attribute's name.
   * @param value any value that can cross to another node.
   * @throws {ClusterTrackerError} (rejects) code `"not_owner"` (no child
   *   for `id` here), `"fenced"` (this node's lease lapsed: the write was
   *   not made), `"timeout"` (the store did not answer, and reading the
   *   entry back could not tell: the write **may or may not** have been
   *   stored; a write whose answer was lost but which is found in the store
   *   resolves), `"closed"`.
   * @throws {TypeError} for a malformed argument, or a value that cannot
   *   cross.
   *
   * @example
   * ```ts ignore
   * await streams.setAttr("cam-7", "bytes", 4096);
   * console.assert(await streams.getAttr("cam-7", "bytes") === 4096);
   * ```
   */
  setAttr(id: string, key: string, value: unknown): Promise<void> {
    checkId("setAttr", id);
    if (typeof key !== "string") {
      throw new TypeError(
        `Cannot setAttr ${JSON.stringify(id)}: 'key' must be a string, got ${
          formatTerm(key)
        }`,
      );
    }
    const wire = toWire(value, this.#node, "value");
    this.#checkOpen("setAttr", id);
    const owned = this.#owned.get(id);
    if (owned === undefined || owned.proc.dead) {
      return Promise.reject(
        new ClusterTrackerError(
          "not_owner",
          "setAttr",
          id,
          "its child does not run on this node",
        ),
      );
    }
    const done = owned.chain.catch(() => {}).then(() =>
      this.#write(
        id,
        owned,
        (e) => ({ ...e, attrs: { ...e.attrs, [key]: wire } }),
      )
    ).then((revision) => {
      this.#emit({
        type: "attr",
        id,
        time: Date.now(),
        revision,
        key,
        value,
      });
    });
    owned.chain = done;
    // A caller under a lease (the child, or what it spawned) that was
    // fenced while the write was under way never resumes: the promise
    // stays pending, as a dead process's receive does, so none of its code
    // runs past the fence deadline.
    const caller = currentProc();
    if (caller.lease === null) return done;
    const alive = () => !caller.dead && !leaseLapsed(caller);
    return new Promise<void>((resolve, reject) => {
      done.then(
        () => alive() && resolve(),
        (error) => alive() && reject(error),
      );
    });
  }

  /**
   * A compare-and-set of an owned id's entry; returns the new revision.
   *
   * A write the store did not answer (a timeout, a reconnect) may or may
   * not have been stored, so the entry is read back: if it holds this very
   * write (this lease's token, a revision past the one it was written at,
   * these bytes), the write landed and is acknowledged like any other;
   * if the entry is still ours but without it, the write is made once more
   * at the revision read (a compare-and-set: of the two, at most one
   * lands). What still cannot be told rejects with `"timeout"`, never with
   * a code that says "not stored" (`"fenced"` only when the store refused
   * the compare-and-set, or before anything was sent).
   */
  async #write(
    id: string,
    owned: Owned,
    change: (e: Entry) => Entry,
    retry = true,
    unanswered: { error: unknown } | null = null,
  ): Promise<number> {
    const lease = this.#lease;
    if (
      owned.fenced || lease.token !== owned.token ||
      !lease.valid(getClock().now())
    ) {
      if (!owned.fenced && lease.token === owned.token) {
        this.#fence("the fence deadline passed");
      }
      if (unanswered !== null) throw unknownOutcome(id, unanswered.error);
      throw new ClusterTrackerError(
        "fenced",
        "setAttr",
        id,
        "this node's lease lapsed",
      );
    }
    const next = change({
      node: this.#node.name,
      token: owned.token,
      pid: this.#node.pidOut(owned.pid),
      attrs: owned.attrs,
    });
    const bytes = encodeEntry(next);
    const at = owned.revision;
    try {
      const revision = await this.#kv.update(keyOf(id), bytes, at);
      owned.revision = revision;
      owned.attrs = next.attrs;
      return revision;
    } catch (error) {
      // Refused by the store (an answer), or no answer: the outcome is
      // unknown until the entry is read back.
      const refused = isWrongRevision(error) ||
        error instanceof JetStreamApiError;
      const noAnswer = refused ? unanswered : (unanswered ?? { error });
      let now: KvEntry | null | undefined;
      try {
        now = await this.#kv.get(keyOf(id));
      } catch {
        now = undefined; // could not read it back
      }
      const entry = now?.operation === "PUT"
        ? parseEntry(now.value)
        : undefined;
      const ours = now != null && entry !== undefined &&
        entry.token === owned.token;
      if (ours && now!.revision > at && sameBytes(now!.value, bytes)) {
        // This write landed; its answer was lost (or a second copy of it
        // was refused because the first had landed).
        if (owned.revision === at) {
          owned.revision = now!.revision;
          owned.attrs = next.attrs;
        }
        return now!.revision;
      }
      const mine = ours && this.#lease.token === owned.token && !owned.fenced;
      if (mine) {
        owned.revision = now!.revision;
        owned.attrs = entry!.attrs;
        if (retry && (noAnswer !== null || isWrongRevision(error))) {
          return await this.#write(id, owned, change, false, noAnswer);
        }
      } else if (
        (now !== undefined || isWrongRevision(error)) && !ours &&
        this.#lease.token === owned.token
      ) {
        // Another node holds the entry (or may: the store refused the
        // compare-and-set, and the entry could not be read): this node's
        // lease is lost.
        this.#fence("another node took an id");
      }
      if (noAnswer !== null) throw unknownOutcome(id, noAnswer.error);
      if (isWrongRevision(error) && !mine) {
        throw new ClusterTrackerError(
          "fenced",
          "setAttr",
          id,
          "another node took the id",
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Attribute `key` of `id` as the store has it now (one round trip), from
   * any node; `undefined` if it was never written.
   *
   * @param id the id.
   * @param key the attribute's name.
   * @returns its value.
   * @throws {TypeError} for a malformed argument.
   * @throws {ClusterTrackerError} (rejects) code `"closed"`.
   *
   * @example
   * ```ts ignore
   * const bytes = await streams.getAttr("cam-7", "bytes");
   * ```
   */
  async getAttr(id: string, key: string): Promise<unknown> {
    checkId("getAttr", id);
    if (typeof key !== "string") {
      throw new TypeError(
        `Cannot getAttr ${JSON.stringify(id)}: 'key' must be a string, got ${
          formatTerm(key)
        }`,
      );
    }
    this.#checkOpen("getAttr", id);
    const e = await this.#kv.get(keyOf(id));
    const entry = e?.operation === "PUT" ? parseEntry(e.value) : undefined;
    if (entry === undefined || !Object.hasOwn(entry.attrs, key)) {
      return undefined;
    }
    return fromWire(entry.attrs[key], this.#node);
  }

  // ----------------------------------------------------------- lifecycle --

  /**
   * Stops this node's children (exit reason `"shutdown"`, which they
   * cannot trap; their `afterTerminate` runs), releases their ids, gives up the lease, and leaves. Close it
   * before the node. Idempotent.
   *
   * @example
   * ```ts ignore
   * await streams.close();
   * await streams.close(); // no-op
   * ```
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closing = (async () => {
      const clock = getClock();
      await Promise.allSettled(this.#opening.values());
      const ended: Promise<void>[] = [];
      for (const owned of [...this.#owned.values()]) {
        ended.push(owned.done);
        kill(owned.proc, "shutdown");
      }
      await Promise.all(ended);
      // Renewals went on while the children stopped (their releases need
      // the lease); from here none is scheduled (#scheduleRenew checks).
      this.#closed = true;
      for (const wake of this.#sleeps) wake();
      if (this.#renewTimer !== undefined) clock.clearTimeout(this.#renewTimer);
      this.#renewTimer = undefined;
      if (this.#fenceTimer !== undefined) clock.clearTimeout(this.#fenceTimer);
      this.#fenceTimer = undefined;
      await this.#renewing;
      await this.#kv.delete("l." + this.#lease.token, {
        previousSeq: this.#lease.revision,
      }).catch(() => {});
      this.#sub?.unsubscribe();
      this.#watch?.stop();
      await this.#nc.close().catch(() => {});
    })();
    return this.#closing;
  }

  /** Closes the tracker when an `await using` scope exits. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------ helpers --

  #checkOpen(op: string, id: string): void {
    if (this.#closed || this.#closing !== null || this.#node.closed) {
      throw new ClusterTrackerError("closed", op, id, "the tracker is closed");
    }
  }

  #emit(event: Omit<TrackerEvent, "node">): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent({ ...event, node: this.#node.name });
    } catch {
      // an observer cannot break the tracker
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = getClock();
      const wake = () => {
        clock.clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = clock.setTimeout(wake, ms);
      this.#sleeps.add(wake);
    });
  }
}

// ---------------------------------------------------------------- pure --

function checkOpenOptions(options: ClusterTrackerOptions) {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot open a cluster tracker: 'options' must be an object, got ${
        formatTerm(options)
      }`,
    );
  }
  refuseUnknown("open a cluster tracker", options, OPTIONS);
  const o = options;
  if (
    o.name !== undefined &&
    (typeof o.name !== "string" || !TRACKER_NAME.test(o.name))
  ) {
    throw new TypeError(
      `Cannot open a cluster tracker: 'name' must be 1 to 32 letters, digits or '-', got ${
        formatTerm(o.name)
      }`,
    );
  }
  if (o.name === "names") {
    // steward_<c>_tracker_names would be the names bucket of the cluster
    // `<c>_tracker`.
    throw new TypeError(
      `Cannot open a cluster tracker: 'name' must not be "names" (its bucket would be another cluster's global names)`,
    );
  }
  checkReplicas("open a cluster tracker", o.replicas);
  if (typeof o.start !== "function") {
    throw new TypeError(
      `Cannot open a cluster tracker: 'start' must be a function, got ${
        formatTerm(o.start)
      }`,
    );
  }
  for (const k of ["afterTerminate", "place", "onEvent"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "function") {
      throw new TypeError(
        `Cannot open a cluster tracker: '${k}' must be a function, got ${
          formatTerm(o[k])
        }`,
      );
    }
  }
  for (const k of ["leaseMs", "safetyMs", "renewMs"] as const) {
    const v = o[k];
    if (
      v !== undefined &&
      (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    ) {
      throw new RangeError(
        `Cannot open a cluster tracker: '${k}' must be a finite number > 0, got ${
          formatTerm(v)
        }`,
      );
    }
  }
  return o;
}

function checkId(op: string, id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > 256) {
    throw new TypeError(
      `Cannot ${op}: 'id' must be a string of 1 to 256 characters, got ${
        formatTerm(id)
      }`,
    );
  }
}

/** The KV key of an id: `i.` and its UTF-8 in base64url. */
function keyOf(id: string): string {
  let binary = "";
  for (const b of textEncoder.encode(id)) binary += String.fromCharCode(b);
  return "i." +
    btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function idOfKey(key: string): string | undefined {
  if (!key.startsWith("i.")) return undefined;
  try {
    const b64 = key.slice(2).replaceAll("-", "+").replaceAll("_", "/");
    const binary = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
    return textDecoder.decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

function randomToken(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

function leaseValue(node: string, wall: number): Uint8Array {
  return textEncoder.encode(JSON.stringify({ node, at: wall }));
}

/** The `at` of a lease value written by `node`, or undefined. */
function leaseWall(value: Uint8Array, node: string): number | undefined {
  try {
    const v = JSON.parse(textDecoder.decode(value));
    return v !== null && typeof v === "object" && v.node === node &&
        typeof v.at === "number"
      ? v.at
      : undefined;
  } catch {
    return undefined;
  }
}

function encodeEntry(entry: Entry): Uint8Array {
  return textEncoder.encode(JSON.stringify(entry));
}

/** An entry from the store, or undefined if it is not one (trust nothing). */
function parseEntry(bytes: Uint8Array): Entry | undefined {
  try {
    const e = JSON.parse(textDecoder.decode(bytes));
    if (e === null || typeof e !== "object") return undefined;
    const { node, token, pid, attrs } = e;
    if (node !== null && typeof node !== "string") return undefined;
    if (token !== null && typeof token !== "string") return undefined;
    if (
      pid !== null &&
      !(Array.isArray(pid) && pid.length === 3 && typeof pid[0] === "string" &&
        typeof pid[1] === "string" && Number.isSafeInteger(pid[2]))
    ) return undefined;
    if (attrs === null || typeof attrs !== "object" || Array.isArray(attrs)) {
      return undefined;
    }
    const own: Record<string, unknown> = {};
    for (const k of Object.keys(attrs)) {
      Object.defineProperty(own, k, {
        value: attrs[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return { node, token, pid, attrs: own };
  } catch {
    return undefined;
  }
}

async function newLease(
  kv: KV,
  node: string,
  leaseMs: number,
  safetyMs: number,
): Promise<HeldLease> {
  const token = randomToken();
  const sentAt = getClock().now();
  const sentAtWall = Date.now();
  const revision = await kv.create("l." + token, leaseValue(node, sentAtWall));
  return new HeldLease(token, revision, sentAt, sentAtWall, leaseMs, safetyMs);
}

/**
 * The error of a write whose outcome is unknown: no answer from the store,
 * and reading the entry back did not show it.
 */
function unknownOutcome(id: string, cause: unknown): ClusterTrackerError {
  let why: string;
  try {
    why = String((cause as Error)?.message ?? cause);
  } catch {
    why = "an error that cannot be shown";
  }
  return new ClusterTrackerError(
    "timeout",
    "setAttr",
    id,
    `no answer from the store (${why}): the write may or may not have been stored`,
    { cause },
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isWrongRevision(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /wrong last sequence|10071|key exists/i.test(text);
}

function isExists(error: unknown): boolean {
  return /key exists|wrong last sequence/i.test(
    String((error as Error)?.message ?? error),
  );
}
