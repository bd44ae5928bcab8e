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
// finds its refresh refused and drops the name.
//
// A renewal that fails for another reason (a timeout, NATS reconnecting)
// proves nothing: the name is kept and renewed again at the next heartbeat,
// until `leaseMs` has passed since the last write the store acknowledged
// (counted from when that write was sent): the entry has expired by then,
// another node may hold it. A name dropped while its holder lives is
// reported to the holder as `["global_name_lost", name]`.

import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm } from "@nats-io/kv";
import { jetstream, JetStreamApiCodes } from "@nats-io/jetstream";
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
import { formatTerm } from "./_format.ts";
import { getClock } from "./clock.ts";

/** A name this node holds. */
interface Held {
  readonly proc: Proc;
  /** The revision this node wrote last. */
  revision: number;
  readonly value: Uint8Array;
  readonly watcher: DownWatcher;
  /** When the last acknowledged write was sent (clock ms). */
  wrote: number;
  /** A renewal is in flight. */
  renewing: boolean;
  /**
   * When the first renewal that failed without an answer was sent, since
   * the last acknowledged one (it may have been written all the same).
   */
  unanswered: number | null;
}

/** The global names of one cluster, as one node sees them. */
export class GlobalNames {
  readonly #nc: NatsConnection;
  readonly #bucket: string;
  readonly #leaseMs: number;
  readonly #peer: WirePeer;
  readonly #replicas: number;
  #kv: Promise<KV> | null = null;
  /**
   * The bucket again, for renewals: with a request timeout of a quarter of
   * the lease (at least 250 ms), so that a renewal lost in a reconnect is
   * retried within the lease instead of waiting out JetStream's default 5 s.
   */
  #renewer: Promise<KV> | null = null;
  /** Names held by this node's processes. */
  readonly #held = new Map<string, Held>();
  #closed = false;

  constructor(
    nc: NatsConnection,
    cluster: string,
    leaseMs: number,
    peer: WirePeer,
    replicas = 1,
  ) {
    this.#nc = nc;
    this.#replicas = replicas;
    this.#bucket = `steward_${cluster}_names`;
    this.#leaseMs = leaseMs;
    this.#peer = peer;
  }

  /** The bucket, made on first use (the first node makes it). */
  #store(): Promise<KV> {
    if (this.#kv === null) {
      const kvm = new Kvm(this.#nc);
      this.#kv = kvm.create(this.#bucket, {
        history: 1,
        ttl: this.#leaseMs,
        replicas: this.#replicas,
      })
        .catch(() => kvm.open(this.#bucket));
      this.#kv.catch(() => {
        this.#kv = null; // try again next time
      });
    }
    return this.#kv;
  }

  /** The bucket for renewals (see #renewer), opened once the bucket is. */
  #renewStore(): Promise<KV> | null {
    if (this.#renewer === null && this.#kv !== null) {
      const timeout = Math.max(250, this.#leaseMs / 4);
      const renewer = this.#kv.then(() =>
        new Kvm(jetstream(this.#nc, { timeout })).open(this.#bucket)
      );
      this.#renewer = renewer;
      renewer.catch(() => {
        if (this.#renewer === renewer) this.#renewer = null; // next time
      });
    }
    return this.#renewer;
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
      // The store refused: the name has a holder. Anything else (a timeout)
      // does not say so: the caller gets the error.
      if (wrongRevision(error) || /key exists/i.test(messageOf(error))) {
        return false;
      }
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
      wrote: sent,
      renewing: false,
      unanswered: null,
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
   * Renews every name this node holds (each heartbeat). A renewal the store
   * refuses (wrong revision: the name lapsed, another node may hold it)
   * drops the name; one that fails otherwise (timeout, reconnecting) is
   * tried again at the next heartbeat, until `leaseMs` has passed since the
   * last acknowledged write. A dropped name is reported to its holder.
   */
  refresh(): void {
    if (this.#held.size === 0) return;
    const renewer = this.#renewStore();
    if (renewer === null) return;
    const clock = getClock();
    for (const [name, held] of this.#held) {
      if (held.renewing) continue;
      if (clock.now() - held.wrote >= this.#leaseMs) {
        this.#lost(name, held);
        continue;
      }
      held.renewing = true;
      const sent = clock.now();
      renewer.then((kv) => kv.update(keyOf(name), held.value, held.revision))
        .then(
          (revision) => {
            held.renewing = false;
            if (this.#held.get(name) !== held) return;
            held.revision = revision;
            held.wrote = sent;
            held.unanswered = null;
          },
          async (error) => {
            if (this.#held.get(name) !== held) return;
            if (!wrongRevision(error)) {
              // Proves nothing: the next heartbeat tries again.
              held.unanswered ??= sent;
              held.renewing = false;
              return;
            }
            // Refused. If a renewal that failed unanswered was written all
            // the same, the entry is still ours (our bytes): adopt it.
            const entry = held.unanswered === null
              ? null
              : await renewer.then((kv) => kv.get(keyOf(name)))
                .catch(() => null);
            held.renewing = false;
            if (this.#held.get(name) !== held) return;
            if (
              entry != null && entry.operation === "PUT" &&
              sameBytes(entry.value, held.value)
            ) {
              held.revision = entry.revision;
              held.wrote = held.unanswered!;
              held.unanswered = null;
            } else {
              this.#lost(name, held);
            }
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

/** The store refused a compare-and-set: the entry is not ours any more. */
function wrongRevision(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  let code: unknown;
  try {
    code = (error as { code?: unknown }).code;
  } catch {
    return false;
  }
  return code === JetStreamApiCodes.StreamWrongLastSequence ||
    code === JetStreamApiCodes.StreamWrongLastSequenceUnknown;
}

function messageOf(error: unknown): string {
  try {
    return String((error as Error)?.message ?? error);
  } catch {
    return "";
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The KV key of a global name: `n_` + its UTF-8 in base64url. */
function keyOf(name: string): string {
  const bytes = new TextEncoder().encode(name);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return "n_" +
    btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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
