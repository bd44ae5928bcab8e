// Global names of a cluster (cluster.ts): one JetStream KV bucket per
// cluster, `steward_<cluster>_names`, whose entries live `leaseMs` after
// their last write (the bucket's TTL). A name is a key (`n_` + the name in
// base64url); its value is the holder's pid on the wire. Registering is a KV
// `create`, which the store refuses if the key holds a value: at most one
// holder at a time, decided by JetStream, not by the nodes. The node that
// registered a name refreshes it every heartbeat with a compare-and-set on
// the revision it wrote, and deletes it (again only if it is still its
// revision) when the holder dies or the node closes. A node that stops
// (SIGKILL, SIGSTOP, cut off) stops refreshing: the entry expires with the
// lease and another node can take the name; a paused node that comes back
// drops the names it could not renew within the lease, and a renewal the
// store refuses drops its name. A renewal that gets no answer (a NATS server
// restarting) is not a refusal: the name is kept, and renewed once the
// store answers again within the lease (one renewal in flight per name, so
// a slow answer never races the next heartbeat's renewal). A name dropped
// while its holder lives is reported to the holder as
// `["global_name_lost", name]`.

import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm } from "@nats-io/kv";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { getClock } from "./clock.ts";
import { formatTerm } from "./_format.ts";
import {
  deliver,
  type DownWatcher,
  type Pid,
  type Proc,
  procOf,
  unwatch,
  watch,
} from "./_runtime.ts";
import { decode, encode, type WirePeer } from "./_wire.ts";

/** A name this node holds. */
interface Held {
  readonly proc: Proc;
  /** The revision this node wrote last. */
  revision: number;
  readonly value: Uint8Array;
  readonly watcher: DownWatcher;
  /** When the renewal that succeeded last was sent (clock ms). */
  renewedAt: number;
  /** A renewal is on its way. */
  renewing: boolean;
}

/** The global names of one cluster, as one node sees them. */
export class GlobalNames {
  readonly #nc: NatsConnection;
  readonly #bucket: string;
  readonly #leaseMs: number;
  readonly #replicas: number;
  readonly #peer: WirePeer;
  #kv: Promise<KV> | null = null;
  /** Names held by this node's processes. */
  readonly #held = new Map<string, Held>();
  #closed = false;

  constructor(
    nc: NatsConnection,
    cluster: string,
    leaseMs: number,
    peer: WirePeer,
    replicas: number = 1,
  ) {
    this.#replicas = replicas;
    this.#nc = nc;
    this.#bucket = `steward_${cluster}_names`;
    this.#leaseMs = leaseMs;
    this.#peer = peer;
  }

  /**
   * The bucket (made by the first node that asks for it). Nodes keep their
   * own names' keys there too (_node_name.ts).
   */
  store(): Promise<KV> {
    return this.#store();
  }

  /** The bucket, made on first use (the first node makes it). */
  #store(): Promise<KV> {
    if (this.#kv === null) {
      const kvm = new Kvm(this.#nc);
      // Reads go to the stream's leader (allow_direct off): with replicas,
      // a direct get may be answered by a follower that has not applied the
      // last write yet (a name just registered read back as free).
      this.#kv = kvm.create(this.#bucket, {
        history: 1,
        ttl: this.#leaseMs,
        replicas: this.#replicas,
        allow_direct: false,
      })
        .catch(() => kvm.open(this.#bucket, { allow_direct: false }));
      this.#kv.catch(() => {
        this.#kv = null; // try again next time
      });
    }
    return this.#kv;
  }

  /** Registers `pid` (a live local process) as `name`; false if taken. */
  async register(name: string, pid: Pid): Promise<boolean> {
    const kv = await this.#store();
    const key = keyOf(name);
    const proc = procOf(pid);
    const value = encode(["g", pid], this.#peer);
    let revision: number;
    const sent = getClock().now();
    try {
      revision = await kv.create(key, value);
    } catch (error) {
      // The store refused: the name has a holder. (No answer is not a
      // refusal: cluster.ts reports it as "noconnection".)
      if (refused(error)) return false;
      throw error;
    }
    if (proc.dead || this.#closed) {
      // Died (or we closed) while the store answered: release at once.
      await kv.delete(key, { previousSeq: revision }).catch(() => {});
      return !this.#closed;
    }
    const watcher: DownWatcher = {
      owner: null,
      down: () => this.#release(name),
    };
    watch(proc, watcher);
    this.#held.set(name, {
      proc,
      revision,
      value,
      watcher,
      renewedAt: sent,
      renewing: false,
    });
    return true;
  }

  /** The holder of `name`, if any. */
  async whereis(name: string): Promise<Pid | undefined> {
    const kv = await this.#store();
    const entry = await kv.get(keyOf(name));
    if (entry === null || entry.operation !== "PUT") return undefined;
    const frame = decode(entry.value, this.#peer);
    if (!Array.isArray(frame) || frame[0] !== "g" || frame.length !== 2) {
      return undefined;
    }
    return frame[1] as Pid;
  }

  /** Removes `name` if this node's process holds it. */
  async unregister(name: string): Promise<void> {
    const held = this.#held.get(name);
    if (held === undefined) return;
    unwatch(held.proc, held.watcher);
    await this.#release(name);
  }

  /** Deletes the entry if it is still the one this node wrote. */
  async #release(name: string): Promise<void> {
    const held = this.#held.get(name);
    if (held === undefined) return;
    this.#held.delete(name);
    const kv = await this.#store().catch(() => null);
    await kv?.delete(keyOf(name), { previousSeq: held.revision })
      .catch(() => {});
  }

  /**
   * Renews every name this node holds (each heartbeat), one renewal at a
   * time per name. A renewal the store refuses (its revision is not ours:
   * the name lapsed, another node may hold it) drops the name. One that
   * gets no answer (the NATS server restarting, a slow store) keeps it and
   * tries again next heartbeat, until `leaseMs` have passed since the last
   * renewal that succeeded: by then the store has let the entry expire, so
   * the name is dropped too. A renewal waits `leaseMs / 4` for its answer,
   * so that several fit in a lease (one sent while the server was down may
   * never be answered).
   */
  refresh(): void {
    if (this.#held.size === 0 || this.#kv === null) return;
    const now = getClock().now();
    for (const [name, held] of this.#held) {
      if (now - held.renewedAt > this.#leaseMs) {
        this.#lost(name, held);
        continue;
      }
      if (held.renewing) continue;
      held.renewing = true;
      const sent = now;
      this.#kv.then((kv) =>
        kv.update(keyOf(name), held.value, held.revision, this.#leaseMs / 4)
      ).then(
        (revision) => {
          held.renewing = false;
          if (this.#held.get(name) !== held) return;
          held.revision = revision;
          held.renewedAt = sent;
        },
        (error) => {
          if (this.#held.get(name) !== held || !refused(error)) {
            held.renewing = false;
            return;
          }
          // Refused at our revision. Our own renewal may have been stored
          // with its answer lost (a timeout while JetStream elected a
          // leader), leaving the revision we hold behind: the entry is
          // still ours if it holds our value (our pid, unique to this
          // node's incarnation). Else the name lapsed: dropped.
          this.#kv!.then((kv) => kv.get(keyOf(name))).then(
            (entry) => {
              held.renewing = false;
              if (this.#held.get(name) !== held) return;
              if (
                entry !== null && entry.operation === "PUT" &&
                sameBytes(entry.value, held.value)
              ) {
                held.revision = entry.revision;
                return;
              }
              this.#lost(name, held);
            },
            () => {
              held.renewing = false; // no answer: again next heartbeat
            },
          );
        },
      );
    }
  }

  /** Drops a name this node no longer holds, and tells its holder. */
  #lost(name: string, held: Held): void {
    this.#held.delete(name);
    unwatch(held.proc, held.watcher);
    if (!held.proc.dead) deliver(held.proc, ["global_name_lost", name]);
  }

  /** Releases every name this node holds (closing). */
  async close(): Promise<void> {
    this.#closed = true;
    const names = [...this.#held.keys()];
    for (const name of names) {
      const held = this.#held.get(name)!;
      unwatch(held.proc, held.watcher);
    }
    await Promise.all(names.map((n) => this.#release(n)));
  }
}

/**
 * Whether the store refused a write: a JetStream API error saying the
 * revision is not the one expected (the key has another value, or none), or
 * that the bucket is gone. Anything else (a timeout, the connection down,
 * JetStream busy electing a leader) is no answer, not a refusal.
 */
export function refused(error: unknown): boolean {
  return error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown ||
      error.code === JetStreamApiCodes.StreamNotFound);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A KV bucket's `replicas` option: an integer 1 to 5 (JetStream's range),
 * 1 when not given.
 */
export function checkReplicas(op: string, value: unknown): number {
  if (value === undefined) return 1;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
    value > 5
  ) {
    throw new RangeError(
      `Cannot ${op}: 'replicas' must be an integer from 1 to 5, got ${
        formatTerm(value)
      }`,
    );
  }
  return value;
}

/** The KV key of a global name: `n_` + its UTF-8 in base64url. */
function keyOf(name: string): string {
  const bytes = new TextEncoder().encode(name);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return "n_" +
    btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
