// A cluster node (cluster.ts is its public face): the NATS connection, the
// stand-ins for remote pids, the frames between nodes, and node liveness by
// heartbeats.
//
// Subjects (all under `steward.<cluster>.`, so two clusters on one NATS
// server never see each other's traffic):
//   n.<node>.<incarnation>   frames to one incarnation of a node (a frame
//              meant for a node's earlier incarnation is never delivered to
//              a restarted one, which reuses its process ids)
//   n.<node>   whereis requests (the asker knows no incarnation); any other
//              frame there is dropped
//   hb         heartbeats: ["hb", node, incarnation], ["bye", node, inc]
//
// Frames to a node (wire values, _wire.ts), by their first element:
//   ["msg", id, message]                    send to the local pid `id`
//   ["cast", id, message]                   GenServer.cast
//   ["call", id, fromPid, tag, request]     GenServer.call; answered by
//   ["reply", tag, value]  or  ["down", tag, reason]  (the server died
//                                           first; "noproc": it was dead)
//   ["stop", id, fromPid, tag, reason]      GenServer.stop; answered by
//   ["stopped", tag]  or  ["down", tag, reason]
//   ["exit", id, fromPid, reason]           exit(pid, reason)
//   ["whereis", name]                       (NATS request) -> ["pid", pid]
// One subject per node incarnation, so NATS keeps the order of the frames one node sends
// another: per-sender order, as in Erlang.
//
// A remote pid is a stand-in record created dead (_runtime.ts remoteProc):
// every local path leaves it alone at its `dead` check, and the paths that
// serve remote pids (deliver, exitSignal, gen_server's sendRequest) hand what
// goes to it to this node from inside that branch. Stand-ins are cached per
// address (WeakRefs), so one remote pid is one Pid object here: `===` works.
//
// Liveness: every node publishes a heartbeat every `heartbeatMs`; a node not
// heard of for `leaseMs` is down: every call pending on it fails with reason
// "noconnection", and what is sent to it afterwards is dropped. A node that
// closes says goodbye, so the others know at once. A heartbeat from a node
// with the same name and another incarnation means the old one is gone.

import {
  connect as natsConnect,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import {
  deadProc,
  deliver,
  type DownWatcher,
  exitSignal,
  isRemote,
  linked,
  linkProcs,
  listOf,
  newRef,
  type Pid,
  type Proc,
  procOf,
  type Ref,
  refNumber,
  type RemoteKind,
  remoteProc,
  remoteRefNames,
  unlinkProcs,
  unwatch,
  watch,
  whereisName,
} from "./_runtime.ts";
import {
  type Address,
  decode,
  encode,
  encodeFrame,
  type WirePeer,
} from "./_wire.ts";
import { genServerRemote } from "./_gen_server_remote.ts";
import { getClock, type TimerHandle } from "./clock.ts";
import { CallError, ClusterError, WireDecodeError } from "./errors.ts";
import { enabled, log } from "./_logger.ts";
import { stop as stopServer } from "./gen_server.ts";
import { GlobalNames } from "./_global.ts";
import { NodeName } from "./_node_name.ts";

/** What a node needs to start (checked by cluster.ts). */
export interface NodeConfig {
  servers: string[];
  node: string;
  cluster: string;
  leaseMs: number;
  heartbeatMs: number;
  maxFrameBytes: number;
  /** Replicas of the global names' KV bucket. */
  replicas: number;
  /** Passed to the NATS client as they are (auth, TLS, reconnects). */
  nats: Record<string, unknown>;
}

/** Another node, one incarnation of it, as this node knows it. */
interface Peer {
  readonly name: string;
  readonly incarnation: string;
  /** Heard of within the lease. */
  up: boolean;
  /**
   * A heartbeat came from it: only such peers are listed by `nodes()` (a
   * frame can name any node; only a live node heartbeats).
   */
  heard: boolean;
  /** When last heard of (clock ms). */
  lastSeen: number;
  /** Stand-ins for its pids, by id. */
  readonly pids: Map<number, WeakRef<Pid>>;
  /** Refs standing for its refs, by number. */
  readonly refs: Map<number, WeakRef<Ref>>;
}

/** A stand-in's data (`proc.data`). */
interface StandIn {
  readonly peer: Peer;
  readonly id: number;
  /** Its node asked the other node to watch it (for monitors). */
  watched: boolean;
}

/** A call or stop sent to another node, waiting for its answer. */
interface Pending {
  readonly request: unknown;
  readonly standIn: Proc;
  readonly peer: Peer;
  /** A stop's reason (a stop succeeds as a death with it). */
  readonly stopReason: unknown;
}

/**
 * At most this many peers named by frames only (an incarnation a pid, a ref
 * or a frame's sender names, never heard heartbeating) are known at once: a
 * frame that would make one more is dropped and reported
 * (`"too_many_peers"`), so hostile frames full of made-up pids cannot grow
 * memory without bound. A peer that is down and no longer named (no
 * stand-in of it held) is forgotten, which makes room again.
 */
export const MAX_UNHEARD_PEERS = 1024;
/**
 * At most this many peers heard heartbeating are known at once: a
 * heartbeat from one more is dropped and reported.
 */
export const MAX_HEARD_PEERS = 4096;
/**
 * How many incarnations heard and then gone (lease lapsed, goodbye, replaced)
 * are remembered after their peer is forgotten, so that a pid of one that
 * comes back in a frame (or from a tracker's cache) is down, not revived as
 * up for a lease. The oldest is dropped first.
 */
const MAX_GONE = 4096;

/** The node connected in this runtime, if any (one per runtime). */
let connected: Node | null = null;

/** The node connected in this runtime, if any. */
export function connectedNode(): Node | null {
  return connected;
}

const cleanup = new FinalizationRegistry<
  { map: Map<number, WeakRef<object>>; key: number }
>(({ map, key }) => {
  if (map.get(key)?.deref() === undefined) map.delete(key);
});

function remember<T extends object>(
  map: Map<number, WeakRef<T>>,
  key: number,
  value: T,
): void {
  map.set(key, new WeakRef(value));
  cleanup.register(value, { map: map as Map<number, WeakRef<object>>, key });
}

/** One cluster node: see the file's comment. */
export class Node implements RemoteKind, WirePeer {
  readonly remote: RemoteKind = this;
  readonly name: string;
  readonly incarnation: string = crypto.randomUUID().slice(0, 8);
  readonly config: NodeConfig;
  readonly #prefix: string;
  #nc: NatsConnection | null = null;
  #names: GlobalNames | null = null;
  /** This node's hold on its name (_node_name.ts). */
  #nodeName: NodeName | null = null;
  #subs: Subscription[] = [];
  #timer: TimerHandle | undefined = undefined;
  #closed = false;
  /** The NATS connection is up (not between a disconnect and a reconnect). */
  #connected = true;
  #closing: Promise<void> | null = null;
  /** Local pids sent to other nodes, by proc id. */
  readonly #pids = new Map<number, WeakRef<Pid>>();
  /** Local refs sent to other nodes, by number. */
  readonly #refs = new Map<number, WeakRef<Ref>>();
  /** Other nodes' refs: their addresses. */
  readonly #remoteRefs = new WeakMap<Ref, Address>();
  /** Peers by `name + "\0" + incarnation`. */
  readonly #peers = new Map<string, Peer>();
  /** How many of #peers were never heard (made by frames). */
  #unheard = 0;
  /**
   * Incarnations heard, then gone, by `name + "\0" + incarnation`, oldest
   * first (at most MAX_GONE): a peer made again for one starts down.
   */
  readonly #gone = new Set<string>();
  /**
   * Local processes other nodes watch (for their monitors), by proc id:
   * which peers to tell of the death, and the watcher that tells them.
   */
  readonly #watchedHere = new Map<
    number,
    { peers: Set<Peer>; watcher: DownWatcher; proc: Proc }
  >();
  /** Node monitors (monitorNode): node name -> processes to tell. */
  readonly #nodeMonitors = new Map<string, Proc[]>();
  /** Calls and stops sent, by tag. */
  readonly #pending = new Map<number, Pending>();
  #nextTag = 0;

  constructor(config: NodeConfig) {
    this.config = config;
    this.name = config.node;
    this.#prefix = `steward.${config.cluster}.`;
  }

  // ---------------------------------------------------------- lifecycle --

  /** Connects, subscribes, and starts the heartbeats. */
  async start(): Promise<void> {
    if (connected !== null) {
      throw new ClusterError(
        "already_connected",
        "connect",
        `this runtime is node ${
          JSON.stringify(connected.name)
        } already (one node per runtime)`,
      );
    }
    connected = this;
    try {
      const nc = await natsConnect({
        ...this.config.nats,
        servers: this.config.servers,
        name: `steward ${this.config.cluster}/${this.name}`,
      });
      this.#nc = nc;
      this.#names = new GlobalNames(
        nc,
        this.config.cluster,
        this.config.leaseMs,
        this,
        this.config.replicas,
      );
      // The name first: a node refused it never heartbeats (its heartbeat
      // would take the live node of that name for gone, at every peer).
      const names = this.#names;
      this.#nodeName = new NodeName(
        () => names.store(),
        this.config.cluster,
        this.name,
        this.incarnation,
        this.config.leaseMs,
        (holder) => this.#nameLost(holder),
      );
      await this.#nodeName.claim();
      this.#subs.push(
        // Frames to this incarnation; a frame meant for an earlier (or
        // later) incarnation of this name never reaches it.
        nc.subscribe(this.#prefix + "n." + this.name + "." + this.incarnation, {
          callback: (err, msg) => {
            if (err === null) this.#onFrame(msg, true);
          },
        }),
        // Requests to the name (whereis: the asker knows no incarnation).
        nc.subscribe(this.#prefix + "n." + this.name, {
          callback: (err, msg) => {
            if (err === null) this.#onFrame(msg, false);
          },
        }),
        nc.subscribe(this.#prefix + "hb", {
          callback: (err, msg) => {
            if (err === null) this.#onHeartbeat(msg);
          },
        }),
      );
      await nc.flush();
      this.#watchConnection(nc);
      this.#beat();
    } catch (error) {
      connected = null;
      await this.#nc?.close().catch(() => {});
      this.#nc = null;
      throw error;
    }
  }

  /**
   * When this node's NATS connection breaks (its server gone, restarting),
   * the frames written to it last may be lost with it, and so may the
   * replies on their way here; and until the client has reconnected, what
   * is published is dropped (the NATS client discards its buffer when it
   * dials again). So the calls and stops pending at that moment fail with
   * reason "noconnection", as Erlang's do when the connection to a node
   * breaks (the request may or may not have been served), and while the
   * connection is down every peer is out of reach (#live): calls fail at
   * once with "noconnection", sends are dropped, a new monitor or link gets
   * its DOWN or EXIT "noconnection". Nodes are not taken for down: the
   * client reconnects on its own, and only the lease says a node is gone.
   */
  #watchConnection(nc: NatsConnection): void {
    (async () => {
      for await (const status of nc.status()) {
        if (status.type === "reconnect") this.#connected = true;
        if (status.type !== "disconnect" || this.#closed) continue;
        this.#connected = false;
        for (const [tag, p] of this.#pending) {
          this.#pending.delete(tag);
          genServerRemote.current!.fail(p.request, p.standIn, "noconnection");
        }
      }
    })().catch(() => {
      // The iterator ends when the connection closes.
    });
  }

  /** Whether close() was called (or the connection is gone for good). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Says goodbye, fails what is pending with "noconnection", and closes the
   * connection. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closed = true;
    if (connected === this) connected = null;
    if (this.#timer !== undefined) getClock().clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const peer of this.#peers.values()) this.#down(peer, null);
    this.#pids.clear();
    this.#refs.clear();
    const nc = this.#nc;
    const names = this.#names;
    const nodeName = this.#nodeName;
    this.#closing = (async () => {
      if (nc === null) return;
      await names?.close().catch(() => {});
      await nodeName?.release().catch(() => {});
      try {
        nc.publish(
          this.#prefix + "hb",
          encode(["bye", this.name, this.incarnation], this),
        );
        await nc.flush();
      } catch {
        // the connection may be gone already
      }
      await nc.close().catch(() => {});
    })();
    return this.#closing;
  }

  /**
   * Another incarnation holds this node's name: this one was away (paused,
   * cut off) past its lease and a new node took the name. Two live nodes
   * with one name would confuse every peer: this one closes.
   */
  #nameLost(holder: string): void {
    if (this.#closed) return;
    if (enabled(undefined, "error")) {
      log({
        level: "error",
        kind: "node_name_lost",
        time: Date.now(),
        source: "cluster",
        node: this.name,
        name: this.incarnation,
        message: holder,
      });
    }
    void this.close();
  }

  // ------------------------------------------------------------ liveness --

  #beat(): void {
    if (this.#closed) return;
    const now = getClock().now();
    // Not while this node may have lost its name (_node_name.ts fresh()).
    if (this.#nodeName?.fresh(now) !== false) {
      this.#publish(this.#prefix + "hb", ["hb", this.name, this.incarnation]);
    }
    for (const peer of this.#peers.values()) {
      if (peer.up && now - peer.lastSeen > this.config.leaseMs) {
        this.#down(peer, "noconnection");
      }
    }
    this.#prune();
    for (const [tag, p] of this.#pending) {
      if (genServerRemote.current!.done(p.request)) this.#pending.delete(tag);
    }
    this.#names?.refresh();
    this.#nodeName?.refresh();
    // Node monitors of processes that died since.
    for (const [name, procs] of this.#nodeMonitors) {
      const live = procs.filter((p) => !p.dead);
      if (live.length === 0) this.#nodeMonitors.delete(name);
      else if (live.length !== procs.length) this.#nodeMonitors.set(name, live);
    }
    this.#timer = getClock().setTimeout(
      () => this.#beat(),
      this.config.heartbeatMs,
    );
  }

  #onHeartbeat(msg: Msg): void {
    this.#connected = true;
    const frame = this.#decode(msg);
    if (frame === undefined) return;
    const [tag, name, incarnation] = frame;
    if (
      (tag !== "hb" && tag !== "bye") || typeof name !== "string" ||
      typeof incarnation !== "string" || frame.length !== 3
    ) {
      return this.#badFrame(
        msg,
        new WireDecodeError("bad_frame", "a heartbeat"),
      );
    }
    // Ours (NATS echoes), or a node under our name: not a peer.
    if (name === this.name) return;
    const key = name + "\0" + incarnation;
    if (tag === "bye") {
      const known = this.#peers.get(key);
      if (known !== undefined) this.#down(known, "noconnection");
      else this.#bury(key);
      return;
    }
    let peer: Peer;
    try {
      peer = this.#peer(name, incarnation, "heartbeat");
    } catch (error) {
      return this.#badFrame(msg, error);
    }
    peer.lastSeen = getClock().now();
    peer.up = true;
    if (!peer.heard) {
      peer.heard = true;
      this.#unheard--;
    }
    this.#gone.delete(key);
    // Another incarnation of that name is gone (restarted node).
    for (const other of this.#peers.values()) {
      if (other.name === name && other !== peer && other.up) {
        this.#down(other, "noconnection");
      }
    }
  }

  /**
   * The peer for that incarnation. A new one is taken to be up (for
   * messaging: it goes down `leaseMs` later unless it heartbeats), unless
   * it is one heard before and gone since (#gone): a frame naming a dead
   * incarnation does not revive it. Only a heartbeat makes a peer listed by
   * `nodes()` (`heard`). Throws WireDecodeError "too_many_peers" past
   * MAX_UNHEARD_PEERS (frames) or MAX_HEARD_PEERS (heartbeats).
   */
  #peer(
    name: string,
    incarnation: string,
    source: "frame" | "heartbeat",
  ): Peer {
    const key = name + "\0" + incarnation;
    let peer = this.#peers.get(key);
    if (peer !== undefined) return peer;
    if (
      source === "frame"
        ? this.#unheard >= MAX_UNHEARD_PEERS
        : this.#peers.size - this.#unheard >= MAX_HEARD_PEERS
    ) {
      this.#prune();
      if (
        source === "frame"
          ? this.#unheard >= MAX_UNHEARD_PEERS
          : this.#peers.size - this.#unheard >= MAX_HEARD_PEERS
      ) {
        throw new WireDecodeError(
          "too_many_peers",
          source === "frame"
            ? `it names more than ${MAX_UNHEARD_PEERS} node incarnations never heard of`
            : `more than ${MAX_HEARD_PEERS} nodes heartbeat`,
        );
      }
    }
    peer = {
      name,
      incarnation,
      up: !this.#closed && (source === "heartbeat" || !this.#gone.has(key)),
      heard: false,
      lastSeen: getClock().now(),
      pids: new Map(),
      refs: new Map(),
    };
    this.#peers.set(key, peer);
    this.#unheard++;
    return peer;
  }

  /** Forgets the peers that are down and no longer named here. */
  #prune(): void {
    for (const [key, peer] of this.#peers) {
      if (peer.up || !forgotten(peer)) continue;
      // Nothing here names it any more (a peer made up by a frame that
      // named a node that never spoke is dropped this way too).
      this.#peers.delete(key);
      if (!peer.heard) this.#unheard--;
    }
  }

  /** Remembers that incarnation `key` is gone (see #gone). */
  #bury(key: string): void {
    this.#gone.delete(key);
    this.#gone.add(key);
    if (this.#gone.size > MAX_GONE) {
      this.#gone.delete(this.#gone.values().next().value!);
    }
  }

  /** How many peers this node knows (tests: the cap holds). */
  get peerCount(): number {
    return this.#peers.size;
  }

  /** `peer` is down: its pending requests fail with `reason`. */
  #down(peer: Peer, reason: "noconnection" | null): void {
    const wasUp = peer.up;
    peer.up = false;
    if (peer.heard && reason !== null) {
      this.#bury(peer.name + "\0" + peer.incarnation);
    }
    for (const [tag, p] of this.#pending) {
      if (p.peer !== peer) continue;
      this.#pending.delete(tag);
      genServerRemote.current!.fail(p.request, p.standIn, "noconnection");
    }
    // Its processes are out of reach: DOWN and EXIT "noconnection" to who
    // monitors or is linked to one; its watches here end.
    for (const ref of [...peer.pids.values()]) {
      const pid = ref.deref();
      if (pid === undefined) continue;
      const standIn = procOf(pid);
      this.#standInDown(standIn, "noconnection");
      for (const local of listOf(standIn.links)) {
        unlinkProcs(standIn, local);
        exitSignal(standIn, local, "noconnection", true);
      }
    }
    for (const [id, w] of this.#watchedHere) {
      w.peers.delete(peer);
      if (w.peers.size === 0) {
        unwatch(w.proc, w.watcher);
        this.#watchedHere.delete(id);
      }
    }
    if (wasUp) this.#nodeDown(peer.name);
    if (wasUp && reason !== null && enabled(undefined, "notice")) {
      log({
        level: "notice",
        kind: "node_down",
        time: Date.now(),
        source: "cluster",
        node: this.name,
        name: peer.name,
        reason,
      });
    }
  }

  /** DOWN `reason` to every watcher of a stand-in (monitors, calls). */
  #standInDown(standIn: Proc, reason: unknown): void {
    (standIn.data as StandIn).watched = false;
    const watchers = listOf(standIn.watchers);
    standIn.watchers = null;
    for (const w of watchers) {
      try {
        w.down(standIn, reason);
      } catch {
        // Watchers must not throw (as in _runtime.ts's deaths).
      }
    }
  }

  /** `["nodedown", name]` to the processes that monitor that node. */
  #nodeDown(name: string): void {
    // Another incarnation of that name may still be up.
    for (const p of this.#peers.values()) if (p.name === name && p.up) return;
    const procs = this.#nodeMonitors.get(name);
    if (procs === undefined) return;
    this.#nodeMonitors.delete(name);
    for (const proc of procs) deliver(proc, ["nodedown", name]);
  }

  /**
   * `proc` gets `["nodedown", name]` once when that node goes down (at once
   * if it is not up); `enable` false removes one such monitor.
   */
  monitorNode(proc: Proc, name: string, enable: boolean): void {
    const procs = this.#nodeMonitors.get(name) ?? [];
    if (!enable) {
      const i = procs.indexOf(proc);
      if (i >= 0) procs.splice(i, 1);
      if (procs.length === 0) this.#nodeMonitors.delete(name);
      return;
    }
    if (!this.nodes().includes(name)) {
      deliver(proc, ["nodedown", name]);
      return;
    }
    procs.push(proc);
    this.#nodeMonitors.set(name, procs);
  }

  /** Names of the other nodes heard of within the lease. */
  nodes(): string[] {
    const names = new Set<string>();
    for (const p of this.#peers.values()) {
      if (p.up && p.heard) names.add(p.name);
    }
    return [...names].sort();
  }

  // -------------------------------------------------------------- frames --

  #publish(subject: string, frame: unknown[]): void {
    const bytes = encode(frame, this);
    try {
      this.#nc?.publish(subject, bytes);
    } catch {
      // A closed connection: as a send to a node that is gone, dropped.
    }
  }

  #decode(msg: Msg): unknown[] | undefined {
    try {
      const frame = decode(msg.data, this, {
        maxBytes: this.config.maxFrameBytes,
      });
      if (!Array.isArray(frame) || typeof frame[0] !== "string") {
        throw new WireDecodeError("bad_frame", "not a frame");
      }
      return frame;
    } catch (error) {
      this.#badFrame(msg, error);
      return undefined;
    }
  }

  #badFrame(msg: Msg, error: unknown): void {
    if (!enabled(undefined, "warning")) return;
    log({
      level: "warning",
      kind: "bad_frame",
      time: Date.now(),
      source: "cluster",
      node: this.name,
      message: msg.subject,
      reason: error,
    });
  }

  #onFrame(msg: Msg, incarnation: boolean): void {
    if (this.#closed) return;
    // What arrives came over a live connection (maybe before the client's
    // "reconnect" status reaches #watchConnection).
    this.#connected = true;
    const f = this.#decode(msg);
    if (f === undefined) return;
    if (!incarnation && f[0] !== "whereis") {
      return this.#badFrame(
        msg,
        new WireDecodeError("bad_frame", "a frame without its incarnation"),
      );
    }
    try {
      this.#handle(f, msg);
    } catch (error) {
      this.#badFrame(
        msg,
        error instanceof WireDecodeError
          ? error
          : new WireDecodeError("bad_frame", String(error)),
      );
    }
  }

  #handle(f: unknown[], msg: Msg): void {
    const gs = genServerRemote.current!;
    switch (f[0]) {
      case "msg": {
        const to = this.#target(f[1]);
        if (to !== undefined) deliver(to, f[2]);
        return;
      }
      case "cast": {
        const to = this.#target(f[1]);
        if (to !== undefined) gs.cast(to, f[2]);
        return;
      }
      case "call": {
        const standIn = callerArg(f[2]);
        const tag = tagArg(f[3]);
        this.#heardFrom(standIn);
        const to = this.#target(f[1]) ?? deadProc("noproc");
        gs.serve(
          to,
          standIn,
          f[4],
          (value) => this.#answer(standIn, ["reply", tag], value, "reply"),
          (reason) => this.#answer(standIn, ["down", tag], reason, "reason"),
        );
        return;
      }
      case "stop": {
        const from = callerArg(f[2]);
        const tag = tagArg(f[3]);
        this.#heardFrom(from);
        const to = this.#target(f[1]);
        if (to === undefined) {
          return this.#answer(from, ["down", tag], "noproc", "reason");
        }
        stopServer(to.pid, f[4]).then(
          () => this.#answer(from, ["stopped"], tag, "tag"),
          (e) =>
            this.#answer(
              from,
              ["down", tag],
              e instanceof CallError ? e.reason : "noproc",
              "reason",
            ),
        );
        return;
      }
      case "exit": {
        // ["exit", id, fromPid, isLink, reason]
        const to = this.#target(f[1]);
        const from = callerArg(f[2]);
        if (to === undefined) return;
        if (f[3] === true) {
          // A link signal over a link that is gone is dropped (OTP).
          if (!linked(from, to)) return;
          unlinkProcs(from, to);
          exitSignal(from, to, f[4], true);
        } else exitSignal(from, to, f[4], false);
        return;
      }
      case "watch": {
        // ["watch", id, node, incarnation]: tell that node when id dies.
        const peer = this.#sender(f[2], f[3]);
        const id = tagArg(f[1]);
        const to = this.#target(id);
        if (to === undefined) {
          return this.#sendTo(
            peer,
            ["died", id, this.name, this.incarnation],
            "noproc",
          );
        }
        let w = this.#watchedHere.get(to.id);
        if (w === undefined) {
          const entry = {
            peers: new Set<Peer>(),
            proc: to,
            watcher: {
              owner: null,
              down: (_: Proc, reason: unknown) => {
                this.#watchedHere.delete(to.id);
                for (const p of entry.peers) {
                  this.#sendTo(
                    p,
                    ["died", id, this.name, this.incarnation],
                    reason,
                  );
                }
              },
            },
          };
          w = entry;
          this.#watchedHere.set(to.id, w);
          watch(to, w.watcher);
        }
        w.peers.add(peer);
        return;
      }
      case "died": {
        // ["died", id, node, incarnation, reason]
        const peer = this.#sender(f[2], f[3]);
        const pid = peer.pids.get(tagArg(f[1]))?.deref();
        if (pid !== undefined) this.#standInDown(procOf(pid), f[4]);
        return;
      }
      case "link": {
        // ["link", id, fromPid]: link id here to the caller's stand-in.
        const from = callerArg(f[2]);
        const id = tagArg(f[1]);
        const to = this.#target(id);
        if (to === undefined) {
          const { peer, id: fromId } = from.data as StandIn;
          return this.#sendTo(
            peer,
            ["linkfail", fromId, id, this.name, this.incarnation],
            "noproc",
          );
        }
        linkProcs(to, from);
        return;
      }
      case "linkfail": {
        // ["linkfail", localId, remoteId, node, incarnation, reason]
        const peer = this.#sender(f[3], f[4]);
        const pid = peer.pids.get(tagArg(f[2]))?.deref();
        const local = this.#target(f[1]);
        if (pid === undefined || local === undefined) return;
        const standIn = procOf(pid);
        if (!linked(standIn, local)) return;
        unlinkProcs(standIn, local);
        exitSignal(standIn, local, f[5], true);
        return;
      }
      case "unlink": {
        const from = callerArg(f[2]);
        const to = this.#target(f[1]);
        if (to !== undefined) unlinkProcs(to, from);
        return;
      }
      case "reply":
      case "down":
      case "stopped": {
        const p = this.#pending.get(tagArg(f[1]));
        if (p === undefined) return; // the caller gave up
        this.#pending.delete(tagArg(f[1]));
        if (f[0] === "reply") gs.settle(p.request, f[2]);
        else if (f[0] === "down") gs.fail(p.request, p.standIn, f[2]);
        else gs.fail(p.request, p.standIn, p.stopReason);
        return;
      }
      case "whereis": {
        if (typeof f[1] !== "string" || msg.reply === undefined) {
          throw new WireDecodeError("bad_frame", "a malformed whereis");
        }
        const proc = whereisName(f[1]);
        msg.respond(encode(["pid", proc?.pid], this));
        return;
      }
      default:
        throw new WireDecodeError(
          "bad_frame",
          `unknown frame ${JSON.stringify(String(f[0]).slice(0, 20))}`,
        );
    }
  }

  /**
   * Sends an answer to a caller's node. One that cannot cross says so: a
   * reply fails the call with `["bad_reply", message]`; a reason that
   * cannot cross is sent as `["unsendable_reason", message]`.
   */
  #answer(caller: Proc, head: unknown[], payload: unknown, root: string) {
    const peer = (caller.data as StandIn).peer;
    const subject = this.#frameSubject(peer);
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(head, payload, root, this);
    } catch (error) {
      const why = error instanceof TypeError ? error.message : String(error);
      bytes = encodeFrame(
        ["down", head[1]],
        [root === "reply" ? "bad_reply" : "unsendable_reason", why],
        root,
        this,
      );
    }
    if (this.#live(peer)) this.#send(subject, bytes);
  }

  /**
   * A call or stop came from `caller`'s node: it is up, as a heartbeat
   * would say. (Its request can arrive before its first heartbeat after an
   * outage; the answer must not be dropped as if to a node that is down.)
   */
  #heardFrom(caller: Proc): void {
    const peer = (caller.data as StandIn).peer;
    if (peer.up || this.#closed) return;
    peer.up = true;
    peer.lastSeen = getClock().now();
  }

  /** The live local process with that id (as sent to another node). */
  #target(id: unknown): Proc | undefined {
    if (typeof id !== "number") {
      throw new WireDecodeError("bad_frame", "a malformed target");
    }
    const pid = this.#pids.get(id)?.deref();
    if (pid === undefined) return undefined;
    const proc = procOf(pid);
    return proc.dead ? undefined : proc;
  }

  /** Asks `node` for the pid registered there as `name`. */
  async whereis(
    node: string,
    name: string,
    timeout: number,
  ): Promise<Pid | undefined> {
    const nc = this.#nc;
    if (nc === null || this.#closed) throw new Error("closed");
    const reply = await nc.request(
      this.#prefix + "n." + node,
      encode(["whereis", name], this),
      { timeout },
    );
    const f = this.#decode(reply);
    if (f === undefined || f[0] !== "pid" || f.length !== 2) {
      throw new WireDecodeError("bad_frame", "a malformed whereis answer");
    }
    return f[1] === undefined ? undefined : pidArg(f[1]);
  }

  /** The global names (after start). */
  get names(): GlobalNames {
    return this.#names!;
  }

  /** The name of the node `pid` lives on. */
  nodeOf(pid: Pid): string {
    const proc = procOf(pid);
    if (proc.dead && isRemote(proc)) {
      return (proc.data as StandIn).peer.name;
    }
    return this.name;
  }

  // ----------------------------------------- the stand-ins' kind (RemoteKind) --

  dispatch(proc: Proc, message: unknown): void {
    const { peer, id } = proc.data as StandIn;
    const subject = this.#frameSubject(peer);
    const out = genServerRemote.current?.outgoing(message);
    if (out === undefined) {
      // A TypeError (what cannot cross) reaches the sender.
      const bytes = encodeFrame(["msg", id], message, "message", this);
      if (this.#live(peer)) this.#send(subject, bytes);
      return;
    }
    if (out.type === "cast") {
      const bytes = encodeFrame(["cast", id], out.message, "message", this);
      if (this.#live(peer)) this.#send(subject, bytes);
      return;
    }
    const tag = this.#nextTag++;
    const bytes = out.type === "call"
      ? encodeFrame(["call", id, out.caller, tag], out.request, "request", this)
      : encodeFrame(["stop", id, out.caller, tag], out.reason, "reason", this);
    if (!this.#live(peer)) {
      genServerRemote.current!.fail(message, proc, "noconnection");
      return;
    }
    this.#pending.set(tag, {
      request: message,
      standIn: proc,
      peer,
      stopReason: out.type === "stop" ? out.reason : undefined,
    });
    this.#send(subject, bytes);
  }

  exit(from: Proc, to: Proc, reason: unknown, isLink: boolean): void {
    const { peer, id } = to.data as StandIn;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(
        ["exit", id, from.pid, isLink],
        reason,
        "reason",
        this,
      );
    } catch (error) {
      // exit(pid, reason) throws it to the caller; a dying process's link
      // signal carries a reason that says what could not cross.
      if (!isLink) throw error;
      bytes = encodeFrame(
        ["exit", id, from.pid, isLink],
        ["unsendable_reason", (error as Error).message],
        "reason",
        this,
      );
    }
    if (this.#live(peer)) this.#send(this.#frameSubject(peer), bytes);
  }

  watched(standIn: Proc): void {
    const data = standIn.data as StandIn;
    if (!this.#live(data.peer)) {
      return this.#standInDown(standIn, "noconnection");
    }
    if (data.watched) return;
    data.watched = true;
    this.#sendTo(data.peer, ["watch", data.id, this.name], this.incarnation);
  }

  link(from: Proc, to: Proc): void {
    const { peer, id } = to.data as StandIn;
    if (!this.#live(peer)) {
      unlinkProcs(from, to);
      exitSignal(to, from, "noconnection", true);
      return;
    }
    this.#sendTo(peer, ["link", id], from.pid);
  }

  unlink(from: Proc, to: Proc): void {
    const { peer, id } = to.data as StandIn;
    if (this.#live(peer)) this.#sendTo(peer, ["unlink", id], from.pid);
  }

  /** A frame (`head` then `last`) to `peer`'s node, if it is up. */
  #sendTo(peer: Peer, head: unknown[], last: unknown): void {
    if (!this.#live(peer)) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(head, last, "reason", this);
    } catch (error) {
      bytes = encodeFrame(
        head,
        ["unsendable_reason", (error as Error).message],
        "reason",
        this,
      );
    }
    this.#send(this.#frameSubject(peer), bytes);
  }

  /**
   * The subject of frames to `peer`: its name and incarnation, so a frame
   * in flight when a node restarts never reaches the new incarnation (which
   * reuses the old one's process ids). An incarnation that is not a plain
   * token, or a name that is not a node name (made up by a hostile frame),
   * gets a subject nobody listens on.
   */
  #frameSubject(peer: Peer): string {
    if (
      !/^[A-Za-z0-9_@-]{1,64}$/.test(peer.name) ||
      !/^[A-Za-z0-9_-]{1,64}$/.test(peer.incarnation)
    ) {
      return this.#prefix + "n._._";
    }
    return this.#prefix + "n." + peer.name + "." + peer.incarnation;
  }

  /** The peer a frame names as its sender. */
  #sender(node: unknown, incarnation: unknown): Peer {
    if (
      typeof node !== "string" || typeof incarnation !== "string" ||
      node === this.name
    ) {
      throw new WireDecodeError("bad_frame", "a malformed sender");
    }
    return this.#peer(node, incarnation, "frame");
  }

  describe(proc: Proc): string {
    const { peer, id } = proc.data as StandIn;
    return `<${label(peer.name, peer.incarnation)}.${id}.0>`;
  }

  #live(peer: Peer): boolean {
    return peer.up && this.#connected && !this.#closed;
  }

  #send(subject: string, bytes: Uint8Array): void {
    try {
      this.#nc?.publish(subject, bytes);
    } catch {
      // A closed connection: dropped, as a send to a node that is gone.
    }
  }

  // ----------------------------------------------- pids and refs (WirePeer) --

  pidOut(pid: Pid): Address {
    const proc = procOf(pid);
    if (proc.dead && isRemote(proc)) {
      const { peer, id } = proc.data as StandIn;
      return [peer.name, peer.incarnation, id];
    }
    if (this.#pids.get(proc.id)?.deref() === undefined) {
      remember(this.#pids, proc.id, pid);
    }
    return [this.name, this.incarnation, proc.id];
  }

  pidIn([node, incarnation, id]: Address): Pid {
    if (node === this.name) {
      const pid = incarnation === this.incarnation
        ? this.#pids.get(id)?.deref()
        : undefined;
      return pid ?? deadProc("noproc").pid;
    }
    const peer = this.#peer(node, incarnation, "frame");
    let pid = peer.pids.get(id)?.deref();
    if (pid === undefined) {
      pid = remoteProc(this, { peer, id, watched: false } satisfies StandIn)
        .pid;
      remember(peer.pids, id, pid);
    }
    return pid;
  }

  refOut(ref: Ref): Address {
    const remote = this.#remoteRefs.get(ref);
    if (remote !== undefined) return remote;
    const n = refNumber(ref);
    if (this.#refs.get(n)?.deref() === undefined) remember(this.#refs, n, ref);
    return [this.name, this.incarnation, n];
  }

  refIn(address: Address): Ref {
    const [node, incarnation, id] = address;
    if (node === this.name) {
      const ref = incarnation === this.incarnation
        ? this.#refs.get(id)?.deref()
        : undefined;
      return ref ?? newRef();
    }
    const peer = this.#peer(node, incarnation, "frame");
    let ref = peer.refs.get(id)?.deref();
    if (ref === undefined) {
      ref = newRef();
      this.#remoteRefs.set(ref, address);
      remoteRefNames.set(ref, `#Ref<${label(node, incarnation)}.${id}>`);
      remember(peer.refs, id, ref);
    }
    return ref;
  }
}

/**
 * How a remote pid or ref names its node's incarnation: `b~3f9a1c2e` (a
 * node name has no `~`), so the pids of two incarnations of one node never
 * print alike. A name or incarnation that is not a plain token (made up by
 * a frame) is quoted: `"a.b"~"x y"`.
 */
function label(name: string, incarnation: string): string {
  return /^[A-Za-z0-9_@-]{1,64}$/.test(name) &&
      /^[A-Za-z0-9_-]{1,64}$/.test(incarnation)
    ? `${name}~${incarnation}`
    : `${JSON.stringify(name)}~${JSON.stringify(incarnation)}`;
}

/** No stand-in or ref of `peer` is held any more. */
function forgotten(peer: Peer): boolean {
  for (const r of peer.pids.values()) if (r.deref() !== undefined) return false;
  for (const r of peer.refs.values()) if (r.deref() !== undefined) return false;
  return true;
}

function pidArg(x: unknown): Pid {
  try {
    procOf(x as Pid);
    return x as Pid;
  } catch {
    throw new WireDecodeError("bad_frame", "a malformed pid argument");
  }
}

/** A remote caller's stand-in (a caller is never one of ours). */
function callerArg(x: unknown): Proc {
  const proc = procOf(pidArg(x));
  if (!proc.dead || !isRemote(proc)) {
    throw new WireDecodeError("bad_frame", "a caller that is not remote");
  }
  return proc;
}

function tagArg(x: unknown): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x)) {
    throw new WireDecodeError("bad_frame", "a malformed tag");
  }
  return x;
}
