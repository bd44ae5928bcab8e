/**
 * Steward nodes on NATS: messages and gen_server calls between runtimes, on
 * one machine or many.
 *
 * `connect({ servers, node })` makes this runtime (one thread of one OS
 * process) a node of a cluster. Processes keep their pids; a pid sent in a
 * message to another node arrives there as a pid that works: `send`,
 * `GenServer.call`, `cast`, `reply`, `stop`, `exit`, `link` and `monitor`
 * work on it with the same semantics and errors as on a local one. A remote pid prints with its
 * node and that node's incarnation: `<b~3f9a1c2e.42.0>` (a local pid stays
 * `<0.42.0>`). A node that restarts under its name is a new incarnation and
 * reuses process ids, so a pid of the old one and a pid of the new one
 * never print alike (Erlang's `<9097.42.0>` does not show the creation);
 * remote refs likewise: `#Ref<b~3f9a1c2e.7>`.
 *
 * ```ts ignore
 * import { connect } from "@steward/steward/cluster";
 * import * as GenServer from "@steward/steward/gen-server";
 *
 * await using node = await connect({ servers: "nats://127.0.0.1:4222", node: "a" });
 * const counter = await node.whereis("b", "counter"); // a pid on node b
 * if (counter !== undefined) console.log(await GenServer.call(counter, "next"));
 * ```
 *
 * ## The engine
 * NATS (`nats-server` >= 2.9) carries the frames: each node subscribes to one
 * subject, `steward.<cluster>.n.<node>.<incarnation>`, so NATS keeps the
 * order of what one node sends another (per-sender order, as in Erlang), and
 * a frame meant for a node's earlier incarnation (one that restarted under
 * the same name, and reuses its process ids) never reaches the new one
 * (`steward.<cluster>.n.<node>` takes only `whereis` requests). Only nodes
 * that send heartbeats are listed by `nodes()`: a frame that names a node
 * (a pid of it) does not make it a node. Every subject is under
 * `steward.<cluster>.`: two clusters on one NATS server cannot talk. The
 * connection options for credentials (`token`, `user`/`pass`, an
 * `authenticator` for nkeys or JWTs) and `tls` go to the NATS client as
 * they are; lock the server down with them (and per-cluster permissions on
 * `steward.<cluster>.>`), as any NATS deployment.
 *
 * ## What crosses
 * Messages, requests, replies and exit reasons are encoded as tagged JSON:
 * JSON values, `undefined`, bigint, `-0`/`NaN`/`Infinity`, `Uint8Array`,
 * `Map`, `Set`, `Date`, `Error` (name and message only), pids and refs
 * (with their node), arrays (tuples) and plain objects. What cannot cross
 * (functions, symbols, class instances, cycles, nesting deeper than 256) is
 * refused at the sender with a `TypeError` naming the path inside the value
 * (`Cannot send value.user.onClick: a function cannot cross to another
 * node`): `send` throws it, `call` rejects with it. Messages are copied
 * (they are local references only within a runtime). Objects with a null
 * prototype arrive as plain objects.
 *
 * What arrives is never trusted: frames over `maxFrameBytes`, malformed
 * UTF-8 or JSON, unknown tags, deep nesting are dropped and reported
 * (`bad_frame`, a `WireDecodeError`); `__proto__`, `constructor` and
 * `prototype` keys stay plain own data; no frame can crash a node or a
 * process. A pid or ref of a node incarnation not known here makes a
 * record of that incarnation (so that its pids are one object each): at
 * most 1024 incarnations never heard heartbeating are known at once, and a
 * frame that would make one more is dropped and reported (problem
 * `"too_many_peers"`); one down and no longer named by any pid or ref held
 * here is forgotten, which makes room. Likewise at most 4096 nodes heard
 * heartbeating. An incarnation heard and then gone (its lease lapsed, it
 * said goodbye, or a new incarnation replaced it) stays down when a frame
 * or a cluster tracker's cache names it again after it was forgotten (the
 * last 4096 such incarnations are remembered); only its heartbeat brings
 * it back.
 *
 * ## Failures
 * - A call to a remote process that is dead fails with `CallError` reason
 *   `"noproc"`; one whose server dies before replying, with its exit
 *   reason; a send to it is dropped. As locally.
 * - A node is up while it is heard of: every node publishes a heartbeat
 *   every `heartbeatMs`, and one not heard of for `leaseMs` is down (a node
 *   that closes says so at once). Calls pending on a node that goes down
 *   fail with reason `"noconnection"`, and so does a call made to it later;
 *   sends to it are dropped. A `SIGKILL`ed node is down within
 *   `leaseMs + heartbeatMs`.
 * - A reply that cannot cross fails the call with reason
 *   `["bad_reply", message]`.
 * - The NATS server lost under a node (restarting, or one of a NATS
 *   cluster's servers gone: give every node all the URLs): the NATS client
 *   reconnects on its own, and nodes are not taken for down unless the
 *   outage outlasts the lease. NATS delivers at most once, and the client
 *   drops what is published while it redials; so the calls and stops
 *   pending when this node's connection breaks fail with `"noconnection"`
 *   (they may or may not have been served, as in Erlang when a connection
 *   breaks), and while it is down calls fail at once with `"noconnection"`,
 *   sends are dropped and a new monitor or link gets its DOWN or EXIT
 *   `"noconnection"`. A frame lost with the *other* node's connection is
 *   not seen here: a call whose request or reply was lost that way ends with
 *   its timeout.
 *
 * ## One live node per name
 * `connect({ node: "a" })` while a node named `"a"` is alive in the cluster
 * rejects with `ClusterError` code `"name_in_use"`, naming the node and the
 * cluster, and the live node is left alone. The store decides, not
 * listening: each node holds a key for its name in the cluster's KV bucket
 * (`steward_<cluster>_names`, keys `node_...`), taken with a KV `create`
 * (refused while another incarnation's key lives) and renewed every
 * heartbeat. Listening for heartbeats at connect would need the other
 * node's heartbeat interval plus a margin (each node has its own), and two
 * nodes starting at once would both hear nothing; with `create`, one of them
 * gets the name and the other is refused. The name is free again as soon
 * as its node closes (it deletes its key), or `leaseMs` after its last
 * renewal (killed, paused, cut off: the key expires with the bucket's TTL,
 * which is the `leaseMs` of the node that made the bucket): restarting a
 * killed node under its name succeeds once its lease has lapsed. A node
 * paused or cut off past its lease takes its name again when it comes back
 * if nobody took it meanwhile; if another node took it, the old one closes
 * itself (reported as `node_name_lost`): two live nodes with one name would
 * confuse every peer. A node that has not renewed its key for `leaseMs`
 * (back from a pause, or JetStream not answering that long) does not
 * heartbeat until a renewal succeeds, so its peers may take it for down
 * meanwhile: its heartbeat could otherwise make them take the node that
 * took its name for gone. `connect` needs JetStream for this (as global
 * names and the cluster tracker do); a store that does not answer fails it
 * with the NATS client's error.
 *
 * ## Global names
 * {@linkcode ClusterNode.registerGlobal}, `whereisGlobal` and
 * `unregisterGlobal` keep names in the cluster's JetStream KV store
 * (`steward_<cluster>_names`): registering is a KV `create`, which the
 * store refuses for a name that has a holder, so a name has at most one
 * holder in the store at a time. The holder's node renews it every
 * heartbeat; it is released when the process dies, when the node closes,
 * and when the node stops renewing for `leaseMs` (killed, paused, cut off).
 * A renewal that gets no answer (the NATS server restarting, JetStream
 * electing a leader) keeps the name and is tried again next heartbeat; one
 * the store refuses drops it, and so does `leaseMs` without a renewal that
 * succeeded: a NATS outage shorter than the lease keeps the names, a longer
 * one loses them cleanly (the store lets them expire, their old holders do
 * not take them back). The store unreachable is a `ClusterError`
 * `"noconnection"`. With `replicas: 3` on a three-server NATS cluster the
 * names survive the loss of one server.
 * What this does not promise: a node paused past its lease does not know
 * at once that it lost the name (it finds out at its next renewal, and
 * drops it); meanwhile the store, and so every other node, names the new
 * holder.
 *
 * ## Links and monitors
 * `monitor(remotePid)` gives `["DOWN", ref, "process", pid, reason]` with the
 * remote exit reason (`"noproc"` if it was dead already), and
 * `"noconnection"` when its node goes down; `link(remotePid)` likewise gives
 * the exit signal both ways (a remote process linked to a local one that
 * dies gets its reason). {@linkcode ClusterNode.monitorNode} tells a process
 * when a node goes down.
 *
 * ## Differs from Erlang, on purpose or for now
 * - `isAlive` and `processInfo` answer for local processes: a remote pid is
 *   not alive *here* (`false`, `undefined`), and its `signal` is aborted.
 *   Erlang raises badarg. `register` refuses a remote pid (`NoProcError`),
 *   as Erlang refuses to register one.
 * - A node that went down (missed its lease) and comes back with the same
 *   incarnation is up again, but what was monitored or linked on it had its
 *   `"noconnection"`: monitor or link again, as after a netsplit in Erlang.
 * - The cluster-wide tracker is its own entry point,
 *   `@steward/steward/cluster-tracker`.
 * - One node per runtime: a second `connect` while one is open fails with
 *   `ClusterError` code `"already_connected"`.
 *
 * @module
 */
import { Node, type NodeConfig } from "./_node.ts";
import { currentProc, Pid } from "./_runtime.ts";
import { isAlive } from "./process.ts";
import { ClusterError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import { checkOptionsObject } from "./_options.ts";
import { checkReplicas } from "./_global.ts";

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** NATS server URLs (`nats://host:port`), one or several. */
  servers: string | string[];
  /**
   * This node's name: letters, digits, `_`, `-` and `@`, 1 to 64 of them;
   * unique in the cluster (a second live node under a name is refused,
   * `"name_in_use"`).
   */
  node: string;
  /**
   * The cluster's name (letters, digits, `_`, `-`): nodes of other clusters on the same
   * NATS servers cannot reach this one.
   * @default {"steward"}
   */
  cluster?: string;
  /**
   * A node not heard of for this long is down (ms).
   * @default {5000}
   */
  leaseMs?: number;
  /**
   * How often this node says it is alive (ms); less than `leaseMs`.
   * @default {1000}
   */
  heartbeatMs?: number;
  /**
   * Largest frame accepted from the wire, in bytes.
   * @default {1048576}
   */
  maxFrameBytes?: number;
  /**
   * How many NATS servers keep the global names (the replicas of the
   * cluster's KV bucket, fixed by the first node that makes it): 3 on a
   * three-server NATS cluster keeps them through the loss of one server,
   * provided `leaseMs` outlasts the store's failover: when the server
   * leading the bucket's stream dies, JetStream elects another within about
   * 5 s on nats-server 2.9 (longer on a loaded machine), and a name not
   * renewed within `leaseMs` meanwhile lapses (its holder gets
   * `["global_name_lost", name]`). With replicas, take a lease of 12 s or
   * more. 1 keeps the names on one server only.
   * @default {1}
   */
  replicas?: number;
  /** Aborting it closes the node (and a pending connect rejects). */
  signal?: AbortSignal;
  /** NATS token authentication. */
  token?: string;
  /** NATS user. */
  user?: string;
  /** NATS password. */
  pass?: string;
  /**
   * A NATS client authenticator (`nkeyAuthenticator`,
   * `credsAuthenticator`... of `@nats-io/transport-node`), or several.
   */
  authenticator?: NatsAuthenticator | NatsAuthenticator[];
  /** TLS for the NATS connection (passed to the NATS client as it is). */
  tls?: ClusterTlsOptions;
  /**
   * How many times the NATS client retries a lost connection (`-1`: for
   * ever).
   * @default {-1}
   */
  maxReconnectAttempts?: number;
  /**
   * Ms between reconnect attempts.
   * @default {250}
   */
  reconnectTimeWait?: number;
  /**
   * Try `servers` in the order given (the first one first), instead of the
   * NATS client's random order: e.g. to prefer the server on this machine.
   * @default {false}
   */
  noRandomize?: boolean;
}

/**
 * A NATS client authenticator: given the server's nonce, the credentials
 * (the NATS client's `Authenticator`).
 */
export type NatsAuthenticator = (nonce?: string) => unknown;

/** TLS options of the NATS client (its `TlsOptions`). */
export interface ClusterTlsOptions {
  /** Client certificate file (PEM). */
  certFile?: string;
  /** Client certificate (PEM). */
  cert?: string;
  /** Client key file (PEM). */
  keyFile?: string;
  /** Client key (PEM). */
  key?: string;
  /** CA file to verify the server (PEM). */
  caFile?: string;
  /** CA to verify the server (PEM). */
  ca?: string;
  /** TLS before the NATS handshake (server `handshake_first`). */
  handshakeFirst?: boolean;
}

/** Options of {@linkcode ClusterNode.whereis}. */
export interface WhereisOptions {
  /**
   * Ms to wait for the node's answer.
   * @default {5000}
   */
  timeout?: number;
}

const CONNECT_OPTIONS = [
  "servers",
  "node",
  "cluster",
  "leaseMs",
  "heartbeatMs",
  "maxFrameBytes",
  "replicas",
  "signal",
  "token",
  "user",
  "pass",
  "authenticator",
  "tls",
  "maxReconnectAttempts",
  "reconnectTimeWait",
  "noRandomize",
];
const NATS_OPTIONS = [
  "token",
  "user",
  "pass",
  "authenticator",
  "tls",
  "maxReconnectAttempts",
  "reconnectTimeWait",
  "noRandomize",
];
const NAME = /^[A-Za-z0-9_@-]{1,64}$/;
/** Cluster names also name a KV bucket: no `@`. */
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

let openNode: (
  config: NodeConfig,
  signal: AbortSignal | undefined,
) => Promise<ClusterNode>;

/**
 * This runtime as a node of a cluster: made by {@linkcode connect}, ended by
 * {@linkcode ClusterNode.close} (or `await using`).
 */
export class ClusterNode {
  readonly #node: Node;
  readonly #onAbort: (() => void) | null;
  readonly #signal: AbortSignal | undefined;

  private constructor(node: Node, signal: AbortSignal | undefined) {
    this.#node = node;
    this.#signal = signal;
    this.#onAbort = signal === undefined ? null : () => void this.close();
    signal?.addEventListener("abort", this.#onAbort!, { once: true });
  }

  static {
    openNode = async (config, signal) => {
      const node = new Node(config);
      await node.start();
      const handle = new ClusterNode(node, signal);
      if (signal?.aborted) {
        // Aborted while connecting: the connect fails with its reason.
        await handle.close();
        throw signal.reason;
      }
      return handle;
    };
  }

  /**
   * This node's name.
   *
   * @example
   * ```ts ignore
   * const node = await connect({ servers: url, node: "a" });
   * console.assert(node.name === "a");
   * ```
   */
  get name(): string {
    return this.#node.name;
  }

  /**
   * The cluster's name.
   *
   * @example
   * ```ts ignore
   * const node = await connect({ servers: url, node: "a", cluster: "media" });
   * console.assert(node.cluster === "media");
   * ```
   */
  get cluster(): string {
    return this.#node.config.cluster;
  }

  /**
   * The other nodes heard of within the lease, by name, sorted.
   *
   * @example
   * ```ts ignore
   * const node = await connect({ servers: url, node: "a" });
   * console.log(node.nodes()); // ["b", "c"] once they have said hello
   * ```
   */
  nodes(): string[] {
    return this.#node.nodes();
  }

  /**
   * The name of the node `pid` lives on (this node's name for a local pid),
   * as Erlang's `node(Pid)`.
   *
   * @param pid any pid.
   * @returns a node name.
   * @throws {TypeError} if `pid` is not a Pid.
   *
   * @example
   * ```ts ignore
   * import { self } from "@steward/steward/process";
   * const node = await connect({ servers: url, node: "a" });
   * console.assert(node.nodeOf(self()) === "a");
   * ```
   */
  nodeOf(pid: Pid): string {
    if (!(pid instanceof Pid)) {
      throw new TypeError(
        `Cannot nodeOf: 'pid' must be a Pid, got ${formatTerm(pid)}`,
      );
    }
    return this.#node.nodeOf(pid);
  }

  /**
   * Monitors node `node` for the calling process (Erlang's
   * `monitor_node(Node, true)`): it gets `["nodedown", node]` once when that
   * node goes down, at once if it is not up now. Each call adds a monitor;
   * `enable` false removes one.
   *
   * @param node the node's name.
   * @param enable false to remove a monitor set before.
   * @throws {TypeError} for a malformed node name.
   *
   * @example
   * ```ts ignore
   * import { receive } from "@steward/steward/process";
   * const node = await connect({ servers: url, node: "a" });
   * node.monitorNode("b");
   * await receive((m) => Array.isArray(m) && m[0] === "nodedown");
   * ```
   */
  monitorNode(node: string, enable: boolean = true): void {
    if (typeof node !== "string" || !NAME.test(node)) {
      throw new TypeError(
        `Cannot monitorNode: 'node' must be a node name, got ${
          formatTerm(node)
        }`,
      );
    }
    this.#node.monitorNode(currentProc(), node, enable !== false);
  }

  /**
   * The pid registered as `name` on node `node` (Erlang's
   * `rpc:call(Node, erlang, whereis, [Name])`), or `undefined` if none is.
   *
   * @param node the node's name.
   * @param name the registered name there.
   * @param options `timeout`.
   * @returns the pid, usable here like any.
   * @throws {ClusterError} (rejects) code `"noconnection"` if no such node
   *   answers within `timeout` (gone, or in another cluster), `"closed"` if
   *   this node is closed.
   * @throws {TypeError} (rejects) for a malformed argument or option.
   *
   * @example
   * ```ts ignore
   * import * as GenServer from "@steward/steward/gen-server";
   * const node = await connect({ servers: url, node: "a" });
   * const counter = await node.whereis("b", "counter");
   * if (counter !== undefined) await GenServer.call(counter, "next");
   * ```
   */
  async whereis(
    node: string,
    name: string,
    options?: WhereisOptions,
  ): Promise<Pid | undefined> {
    if (typeof node !== "string" || !NAME.test(node)) {
      throw new TypeError(
        `Cannot whereis: 'node' must be a node name, got ${formatTerm(node)}`,
      );
    }
    if (typeof name !== "string") {
      throw new TypeError(
        `Cannot whereis: 'name' must be a string, got ${formatTerm(name)}`,
      );
    }
    const timeout =
      checkOptionsObject("whereis", options, ["timeout"])?.timeout ??
        5000;
    if (typeof timeout !== "number" || !(timeout > 0)) {
      throw new RangeError(
        `Cannot whereis: 'timeout' must be a number of ms > 0, got ${
          formatTerm(timeout)
        }`,
      );
    }
    if (this.#node.closed) {
      throw new ClusterError("closed", "whereis", "this node is closed");
    }
    try {
      return await this.#node.whereis(node, name, timeout);
    } catch (error) {
      if (this.#node.closed) {
        throw new ClusterError("closed", "whereis", "this node is closed", {
          cause: error,
        });
      }
      if (error instanceof TypeError) throw error;
      throw new ClusterError(
        "noconnection",
        "whereis",
        `node ${JSON.stringify(node)} did not answer`,
        { cause: error },
      );
    }
  }

  /**
   * Registers `pid` (a live process of this node) under the global `name`
   * (Erlang's `global:register_name/2`), held in the cluster's JetStream KV
   * store: `true` if it got the name, `false` if another process holds it.
   * The store's compare-and-set decides, so at most one process holds a
   * name at a time. The name is released when the process dies, when
   * {@linkcode ClusterNode.unregisterGlobal} is called, when this node
   * closes, and when this node's lease lapses (it stopped renewing the name
   * within `leaseMs`: killed, paused, cut off); a node whose renewal is
   * refused (the name lapsed, maybe to another holder), or which could not
   * renew it for `leaseMs`, drops it and sends the holder
   * `["global_name_lost", name]`.
   *
   * @param name the global name (any non-empty string up to 256 chars).
   * @param pid a live local process.
   * @returns whether `pid` now holds the name.
   * @throws {TypeError} (rejects) for a malformed name, or a pid that is
   *   not local.
   * @throws {ClusterError} (rejects) code `"closed"` if this node is
   *   closed, `"noconnection"` if the store did not answer (JetStream
   *   unreachable, a NATS server restarting; the NATS client's error is its
   *   `cause`). A store that answers and refuses (the name has a holder)
   *   resolves false.
   *
   * @example
   * ```ts ignore
   * import { self } from "@steward/steward/process";
   * const node = await connect({ servers: url, node: "a" });
   * console.assert(await node.registerGlobal("leader", self()));
   * ```
   */
  async registerGlobal(name: string, pid: Pid): Promise<boolean> {
    checkGlobalName("registerGlobal", name);
    if (!(pid instanceof Pid) || this.#node.nodeOf(pid) !== this.#node.name) {
      throw new TypeError(
        `Cannot registerGlobal: 'pid' must be a pid of this node, got ${
          formatTerm(pid)
        }`,
      );
    }
    this.#checkOpen("registerGlobal");
    if (!isAlive(pid)) return false;
    try {
      return await this.#node.names.register(name, pid);
    } catch (error) {
      throw this.#storeError("registerGlobal", error);
    }
  }

  /**
   * The process holding the global `name`, wherever it runs, or
   * `undefined` (Erlang's `global:whereis_name/1`). The answer is the
   * store's: a holder whose node just died may be returned until its lease
   * lapses (a call to it then fails with `"noconnection"`).
   *
   * @param name the global name.
   * @returns its holder's pid, or undefined.
   * @throws {TypeError} (rejects) for a malformed name.
   * @throws {ClusterError} (rejects) code `"closed"` if this node is
   *   closed, `"noconnection"` if the store did not answer.
   *
   * @example
   * ```ts ignore
   * import * as GenServer from "@steward/steward/gen-server";
   * const node = await connect({ servers: url, node: "b" });
   * const leader = await node.whereisGlobal("leader");
   * if (leader !== undefined) await GenServer.call(leader, "status");
   * ```
   */
  async whereisGlobal(name: string): Promise<Pid | undefined> {
    checkGlobalName("whereisGlobal", name);
    this.#checkOpen("whereisGlobal");
    try {
      return await this.#node.names.whereis(name);
    } catch (error) {
      throw this.#storeError("whereisGlobal", error);
    }
  }

  /**
   * Releases the global `name` if a process of this node holds it (else
   * does nothing), as Erlang's `global:unregister_name/1`.
   *
   * @param name the global name.
   * @throws {TypeError} (rejects) for a malformed name.
   * @throws {ClusterError} (rejects) code `"closed"` if this node is
   *   closed, `"noconnection"` if the store did not answer.
   *
   * @example
   * ```ts ignore
   * const node = await connect({ servers: url, node: "a" });
   * await node.unregisterGlobal("leader");
   * ```
   */
  async unregisterGlobal(name: string): Promise<void> {
    checkGlobalName("unregisterGlobal", name);
    this.#checkOpen("unregisterGlobal");
    try {
      await this.#node.names.unregister(name);
    } catch (error) {
      throw this.#storeError("unregisterGlobal", error);
    }
  }

  #checkOpen(op: string): void {
    if (this.#node.closed) {
      throw new ClusterError("closed", op, "this node is closed");
    }
  }

  /** What a failed request to the global names' store becomes. */
  #storeError(op: string, error: unknown): unknown {
    if (error instanceof TypeError || error instanceof ClusterError) {
      return error;
    }
    if (this.#node.closed) {
      return new ClusterError("closed", op, "this node is closed", {
        cause: error,
      });
    }
    return new ClusterError(
      "noconnection",
      op,
      "the global names' store (JetStream KV) did not answer",
      { cause: error },
    );
  }

  /**
   * Leaves the cluster: releases the global names this node holds, says
   * goodbye (the other nodes see this one down at once), fails the calls
   * pending on other nodes, and gives DOWN and EXIT `"noconnection"` to the
   * local processes that monitor or are linked to remote ones (as Erlang
   * when distribution stops), then closes the NATS connection. Remote pids held here
   * stay pids, and what is sent to them is dropped. Idempotent.
   *
   * @example
   * ```ts ignore
   * const node = await connect({ servers: url, node: "a" });
   * await node.close();
   * await node.close(); // no-op
   * ```
   */
  async close(): Promise<void> {
    if (this.#onAbort !== null) {
      this.#signal?.removeEventListener("abort", this.#onAbort);
    }
    await this.#node.close();
  }

  /** Closes the node when an `await using` scope exits. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Makes this runtime a node of a cluster on NATS: connects to the servers,
 * subscribes to this node's subject, starts the heartbeats. Resolves once
 * the node can send and receive.
 *
 * @param options where and who: `servers`, `node`, `cluster`, the
 *   liveness timings, NATS credentials and TLS, `signal`.
 * @returns the node's handle; close it (or `await using` it) to leave.
 * @throws {TypeError} (rejects) for a malformed or unknown option.
 * @throws {RangeError} (rejects) for timings out of range.
 * @throws {ClusterError} (rejects) code `"already_connected"` if this
 *   runtime is a node already; `"name_in_use"` if a live node of the
 *   cluster has this name (free once it closes, or `leaseMs` after it
 *   stopped).
 * @throws {Error} (rejects) the NATS client's error if it cannot connect.
 *
 * @example
 * ```ts
 * import { connect } from "@steward/steward/cluster";
 * const e = await connect({ servers: "nats://127.0.0.1:4222", node: "a.b" })
 *   .catch((e) => e);
 * console.assert(e instanceof TypeError && /'node'/.test(e.message));
 * const f = await connect({ servers: "nats://127.0.0.1:4222", node: "a", port: 1 } as never)
 *   .catch((e) => e);
 * console.assert(f instanceof TypeError && /unknown option "port"/.test(f.message));
 * ```
 */
export async function connect(options: ConnectOptions): Promise<ClusterNode> {
  const opts = checkOptionsObject("connect", options, CONNECT_OPTIONS);
  if (opts === undefined) {
    throw new TypeError("Cannot connect: 'options' must be an object");
  }
  const servers = typeof opts.servers === "string"
    ? [opts.servers]
    : opts.servers;
  if (
    !Array.isArray(servers) || servers.length === 0 ||
    !servers.every((s) => typeof s === "string" && s !== "")
  ) {
    throw new TypeError(
      `Cannot connect: 'servers' must be a URL or a non-empty array of them, got ${
        formatTerm(opts.servers)
      }`,
    );
  }
  if (typeof opts.node !== "string" || !NAME.test(opts.node)) {
    throw new TypeError(
      `Cannot connect: 'node' must be 1 to 64 letters, digits, '_', '-' or '@', got ${
        formatTerm(opts.node)
      }`,
    );
  }
  const cluster = opts.cluster ?? "steward";
  if (typeof cluster !== "string" || !CLUSTER_NAME.test(cluster)) {
    throw new TypeError(
      `Cannot connect: 'cluster' must be 1 to 64 letters, digits, '_' or '-', got ${
        formatTerm(cluster)
      }`,
    );
  }
  const heartbeatMs = positive("heartbeatMs", opts.heartbeatMs, 1000);
  const leaseMs = positive("leaseMs", opts.leaseMs, 5000);
  if (leaseMs <= heartbeatMs) {
    throw new RangeError(
      `Cannot connect: 'leaseMs' (${leaseMs}) must be more than 'heartbeatMs' (${heartbeatMs})`,
    );
  }
  const maxFrameBytes = positive("maxFrameBytes", opts.maxFrameBytes, 1 << 20);
  const replicas = checkReplicas("connect", opts.replicas);
  if (opts.noRandomize !== undefined && typeof opts.noRandomize !== "boolean") {
    throw new TypeError(
      `Cannot connect: 'noRandomize' must be a boolean, got ${
        formatTerm(opts.noRandomize)
      }`,
    );
  }
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot connect: 'signal' must be an AbortSignal, got ${
        formatTerm(signal)
      }`,
    );
  }
  if (signal?.aborted) throw signal.reason;
  const nats: Record<string, unknown> = {
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  };
  for (const key of NATS_OPTIONS) {
    const v = (opts as unknown as Record<string, unknown>)[key];
    if (v !== undefined) nats[key] = v;
  }
  return await openNode({
    servers,
    node: opts.node,
    cluster,
    leaseMs,
    heartbeatMs,
    maxFrameBytes,
    replicas,
    nats,
  }, signal);
}

function checkGlobalName(op: string, name: unknown): void {
  if (typeof name !== "string" || name === "" || name.length > 256) {
    throw new TypeError(
      `Cannot ${op}: 'name' must be a non-empty string of at most 256 chars, got ${
        formatTerm(name)
      }`,
    );
  }
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot connect: '${name}' must be a finite number > 0, got ${
        formatTerm(value)
      }`,
    );
  }
  return value;
}
