// A node's hold on its name (cluster.ts, _node.ts): at most one live node
// per name in a cluster, decided by the store, not by listening.
//
// Each node keeps one key in the cluster's names bucket
// (`steward_<cluster>_names`, whose entries live `leaseMs` after their last
// write): `node_` + the name in base64url (global names are `n_` + ...: the
// two never meet), holding `["node", incarnation]`. `connect` takes it with a
// KV `create`, which the store refuses while another incarnation's entry
// lives: two nodes starting at once under one name cannot both get it (one
// `create` wins, the other is refused), and a node that is alive renews its
// entry every heartbeat, so it keeps it. The entry goes when its node closes
// (deleted, only if it is still the revision the node wrote), or `leaseMs`
// after its node's last renewal (SIGKILL, SIGSTOP, cut off): the store's TTL.
// Why not listen for heartbeats at connect: it would have to listen for the
// other node's heartbeat interval plus a margin (unknown here: each node has
// its own), and two nodes starting at once would both hear nothing.
//
// Renewals are one at a time. One that gets no answer (a NATS server
// restarting) keeps the name and is tried again next heartbeat. One the store
// refuses means the entry is not at our revision: if it still holds our
// incarnation (our own renewal stored, its answer lost), we adopt its
// revision; if it is gone (our lease lapsed, nobody took the name: a pause,
// an outage), we take it again with `create`; if another incarnation holds
// it, this node was replaced while it was away, and `onLost` closes it (two
// live nodes with one name would confuse every peer).

import type { KV } from "@nats-io/kv";
import { refused } from "./_global.ts";
import { getClock } from "./clock.ts";
import { ClusterError } from "./errors.ts";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** This node's key in the names bucket, while it holds its name. */
export class NodeName {
  readonly #store: () => Promise<KV>;
  readonly #key: string;
  readonly #name: string;
  readonly #cluster: string;
  readonly #incarnation: string;
  readonly #leaseMs: number;
  readonly #value: Uint8Array;
  readonly #onLost: (holder: string) => void;
  /** The revision this node wrote last (0: not held). */
  #revision = 0;
  /** When the write of that revision was sent (clock ms). */
  #sentAt = 0;
  /** The renewal on its way, if any. */
  #renewing: Promise<void> | null = null;
  #released = false;

  constructor(
    store: () => Promise<KV>,
    cluster: string,
    name: string,
    incarnation: string,
    leaseMs: number,
    onLost: (holder: string) => void,
  ) {
    this.#store = store;
    this.#cluster = cluster;
    this.#name = name;
    this.#incarnation = incarnation;
    this.#leaseMs = leaseMs;
    this.#onLost = onLost;
    this.#key = nodeKey(name);
    this.#value = textEncoder.encode(JSON.stringify(["node", incarnation]));
  }

  /**
   * Takes the name for this incarnation: a KV `create`. Rejects with
   * `ClusterError` `"name_in_use"` if a live node (one whose entry has not
   * lapsed) holds it; with the NATS client's error if the store does not
   * answer.
   */
  async claim(): Promise<void> {
    const kv = await this.#store();
    // Twice: the holder's entry may lapse between our create and our read.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const sent = getClock().now();
        this.#revision = await kv.create(this.#key, this.#value);
        this.#sentAt = sent;
        return;
      } catch (error) {
        if (!refused(error)) throw error;
      }
      const holder = holderOf(await kv.get(this.#key));
      if (holder === undefined) continue;
      throw new ClusterError(
        "name_in_use",
        "connect",
        `node ${JSON.stringify(this.#name)} of cluster ${
          JSON.stringify(this.#cluster)
        } is running already (incarnation ${
          JSON.stringify(holder)
        }); the name is free once that node closes, or ${this.#leaseMs} ms (the lease) after it stops`,
      );
    }
    throw new ClusterError(
      "name_in_use",
      "connect",
      `node ${JSON.stringify(this.#name)} of cluster ${
        JSON.stringify(this.#cluster)
      } is being taken by another node`,
    );
  }

  /**
   * Whether this node's entry is surely alive at `now`: its last write was
   * sent less than `leaseMs` ago. A node that is not sure (back from a
   * pause or an outage longer than its lease) does not heartbeat until a
   * renewal says the name is still its own: its heartbeat would make its
   * peers take the node that may have taken the name for gone.
   */
  fresh(now: number): boolean {
    return this.#revision !== 0 && now - this.#sentAt < this.#leaseMs;
  }

  /** Renews the entry (each heartbeat); see the file's comment. */
  refresh(): void {
    if (this.#renewing !== null || this.#released || this.#revision === 0) {
      return;
    }
    this.#renewing = this.#renew().then(
      () => {
        this.#renewing = null;
      },
      () => {
        this.#renewing = null; // no answer: again next heartbeat
      },
    );
  }

  async #renew(): Promise<void> {
    const kv = await this.#store();
    const sent = getClock().now();
    try {
      const revision = await kv.update(
        this.#key,
        this.#value,
        this.#revision,
        this.#leaseMs / 4,
      );
      this.#revision = revision; // ours, even if closing (release reads it)
      this.#sentAt = sent;
      return;
    } catch (error) {
      if (!refused(error)) return;
    }
    const entry = await kv.get(this.#key);
    if (this.#released) return;
    const holder = holderOf(entry);
    if (holder === this.#incarnation) {
      // A renewal of ours was stored, its answer lost (sent when, we do
      // not know: #sentAt stays, the conservative side).
      this.#revision = entry!.revision;
      return;
    }
    if (holder === undefined) {
      try {
        const again = getClock().now();
        this.#revision = await kv.create(this.#key, this.#value);
        this.#sentAt = again;
        return;
      } catch (error) {
        if (!refused(error)) return;
      }
      const now = holderOf(await kv.get(this.#key));
      if (now === undefined || now === this.#incarnation || this.#released) {
        return; // again next heartbeat
      }
      this.#lost(now);
      return;
    }
    this.#lost(holder);
  }

  #lost(holder: string): void {
    if (this.#released) return;
    this.#released = true;
    this.#onLost(holder);
  }

  /** Deletes the entry if it is still the one this node wrote (closing). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // A renewal on its way would move the revision past the one we delete.
    await this.#renewing;
    if (this.#revision === 0) return;
    const kv = await this.#store();
    await kv.delete(this.#key, { previousSeq: this.#revision });
  }
}

/** The incarnation an entry names, if it is a live node entry. */
function holderOf(
  entry: { operation: string; value: Uint8Array } | null,
): string | undefined {
  if (entry === null || entry.operation !== "PUT") return undefined;
  try {
    const v = JSON.parse(textDecoder.decode(entry.value));
    if (Array.isArray(v) && v[0] === "node" && typeof v[1] === "string") {
      return v[1];
    }
  } catch {
    // not a node entry: someone else's bytes
  }
  return "unknown";
}

/** The KV key of a node's name: `node_` + its UTF-8 in base64url. */
function nodeKey(name: string): string {
  let s = "";
  for (const b of textEncoder.encode(name)) s += String.fromCharCode(b);
  return "node_" +
    btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
