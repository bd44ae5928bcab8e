// The two halves of the cluster tracker's leases (cluster_tracker.ts), as
// pure bookkeeping over an injected time: what the holder knows of its own
// lease (HeldLease: when it must stop), and what other nodes saw of it
// (LeaseSightings: when they may take its ids). The argument that the first
// deadline always comes before the second is in cluster_tracker.ts's docs.

/**
 * This node's lease as the node itself knows it: the revision of its last
 * successful renewal and the time (on this node's monotonic clock, and on
 * the wall clock for the history) at which that renewal was *sent*. Sent,
 * not acknowledged: the KV stored it after that, and other nodes saw it
 * later still, so counting from the send is the conservative side.
 */
export class HeldLease {
  /** The lease key's random token (a new one after every fence). */
  readonly token: string;
  /** KV revision of the last successful write of the lease key. */
  revision: number;
  /** Monotonic ms at which that write was sent. */
  renewedAt: number;
  /** Wall-clock ms at which that write was sent (for histories). */
  renewedAtWall: number;
  /** Ms a lease lasts, as other nodes count it. */
  readonly leaseMs: number;
  /** Ms before the others' count ends at which this node stops. */
  readonly safetyMs: number;

  constructor(
    token: string,
    revision: number,
    sentAt: number,
    sentAtWall: number,
    leaseMs: number,
    safetyMs: number,
  ) {
    this.token = token;
    this.revision = revision;
    this.renewedAt = sentAt;
    this.renewedAtWall = sentAtWall;
    this.leaseMs = leaseMs;
    this.safetyMs = safetyMs;
  }

  /** Monotonic ms from which this node must not run children for it. */
  get deadline(): number {
    return this.renewedAt + this.leaseMs - this.safetyMs;
  }

  /** The same deadline on the wall clock (what a history records). */
  get deadlineWall(): number {
    return this.renewedAtWall + this.leaseMs - this.safetyMs;
  }

  /** Whether the lease still lets this node run children at `now`. */
  valid(now: number): boolean {
    return now < this.deadline;
  }

  /**
   * Records a successful renewal sent at `sentAt` that the KV stored as
   * `revision`. Renewals are sent one at a time, so a later one always has
   * a later send time; an older answer cannot move the deadline back.
   */
  renewed(
    revision: number,
    sentAt: number,
    sentAtWall: number,
  ): void {
    if (sentAt < this.renewedAt) return;
    this.revision = revision;
    this.renewedAt = sentAt;
    this.renewedAtWall = sentAtWall;
  }
}

/**
 * What this node saw of other nodes' lease keys: for each token, the last
 * revision read and the time (this node's monotonic clock) at which this
 * node first read that revision. A lease has lapsed once one revision has
 * been seen, unchanged, for `leaseMs`: the holder wrote it before it was
 * seen, so the holder's own deadline (`leaseMs - safetyMs` after it sent
 * the write) came before.
 */
export class LeaseSightings {
  readonly #seen = new Map<string, { revision: number; since: number }>();
  readonly leaseMs: number;

  constructor(leaseMs: number) {
    this.leaseMs = leaseMs;
  }

  /** Records that `token`'s lease key was read at `revision` at `now`. */
  saw(token: string, revision: number, now: number): void {
    const last = this.#seen.get(token);
    if (last === undefined || last.revision !== revision) {
      this.#seen.set(token, { revision, since: now });
    }
  }

  /**
   * Ms until `token`'s lease lapses as seen from here (0: lapsed), or
   * `undefined` if it was never seen (read it first).
   */
  remaining(token: string, now: number): number | undefined {
    const last = this.#seen.get(token);
    if (last === undefined) return undefined;
    return Math.max(0, last.since + this.leaseMs - now);
  }

  /** The revision last read for `token`. */
  revision(token: string): number | undefined {
    return this.#seen.get(token)?.revision;
  }

  /** Forgets `token` (its key is gone). */
  forget(token: string): void {
    this.#seen.delete(token);
  }
}
