/**
 * The chat service's load client: N WebSocket clients, each a member of a
 * few rooms, each sending one message at a time (the next once the last is
 * acknowledged), reconnecting when its socket closes and retrying its
 * unacknowledged send with the same id. At the end every client catches up
 * with every room it is in, and the run is checked:
 *
 * - lost: an acknowledged message missing from a member's stream at its
 *   seq, or a seq missing from a stream (a gap);
 * - duplicated: a (sender, id) stored under two seqs;
 * - diverged: two members of a room that saw different messages at one seq.
 *
 * A client's stream of a room is the messages it accepted, in seq order:
 * a `msg` at or below the last seq it has is a redelivery (counted,
 * dropped), one above the next seq is a gap (counted as lost; the client
 * asks for the history to go on).
 *
 * Bounded: by `durationMs` and by `maxMessages`, and `timeoutMs` fails a
 * run that does not finish (a hang is an error, not a wait).
 *
 * @module
 */
import { WebSocket } from "ws";
import type { ServerFrame } from "./protocol.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  /** The server, `http://host:port`. */
  readonly url: string;
  /** Clients. @default {50} */
  readonly clients?: number;
  /** Rooms. @default {10} */
  readonly rooms?: number;
  /** Rooms each client joins. @default {2} */
  readonly roomsPerClient?: number;
  /** Stop sending after this many ms. @default {60_000} */
  readonly durationMs?: number;
  /** Stop sending after this many messages in all. @default {1_000_000} */
  readonly maxMessages?: number;
  /** Fail if the run has not finished after this many ms. @default {durationMs + 60_000} */
  readonly timeoutMs?: number;
  /** Called after every `chaosEvery` acknowledgements (e.g. kill one process). */
  readonly chaos?: () => Promise<unknown>;
  /** See `chaos`. @default {10} */
  readonly chaosEvery?: number;
  /** Called when the sending stops, before the catch-up (e.g. chaos off). */
  readonly onSendingStopped?: () => Promise<unknown>;
  /** Called every `progressMs` with the acknowledgements so far. */
  readonly onProgress?: (acked: number, elapsedMs: number) => unknown;
  /** @default {5000} */
  readonly progressMs?: number;
  /** A prefix for user names (two runs on one server stay apart). @default {"u"} */
  readonly userPrefix?: string;
  /**
   * After every `dropEvery`-th send (of the run) the sending client drops
   * its socket before the answer comes, reconnects and sends again: the
   * server's id index must answer the retry (0: never). @default {0}
   */
  readonly dropEvery?: number;
}

/** What {@linkcode runLoad} found. */
export interface LoadResult {
  /** Clients. */
  readonly clients: number;
  /** Rooms used. */
  readonly rooms: number;
  /** Milliseconds of sending. */
  readonly sendingMs: number;
  /** Messages acknowledged (each id once). */
  readonly acked: number;
  /** Acknowledged per second of sending. */
  readonly ackedPerSecond: number;
  /** Send frames written, retries included. */
  readonly sendFrames: number;
  /** Sends retried (after an error or a reconnect). */
  readonly retries: number;
  /** Reconnections (sockets closed under a client, and drops). */
  readonly reconnects: number;
  /** Sockets the clients dropped with a send in flight (`dropEvery`). */
  readonly drops: number;
  /** Messages delivered to clients (msg frames accepted, all members). */
  readonly delivered: number;
  /** msg frames dropped as already seen (at-least-once around reconnects). */
  readonly redelivered: number;
  /** Acknowledged messages missing, plus gaps in streams. */
  readonly lost: number;
  /** (sender, id) pairs stored under more than one seq. */
  readonly duplicated: number;
  /** Seqs at which members of a room saw different messages. */
  readonly diverged: number;
  /** Ack latency percentiles in ms (first send to ack, retries included). */
  readonly latency: {
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Chaos calls made by the runner (`chaos` option). */
  readonly chaosCalls: number;
}

interface Pending {
  readonly room: string;
  readonly id: string;
  readonly text: string;
  readonly firstSentAt: number;
}

interface RoomView {
  /** The last seq accepted. */
  last: number;
  /** `from/id` of each accepted message: stream[seq - 1]. */
  readonly stream: string[];
  /** Resolves a catch-up waiting for `synced`. */
  synced?: (seq: number) => void;
}

/** Shared by the clients of one run. */
interface Run {
  readonly url: string;
  sent: number;
  acked: number;
  readonly maxMessages: number;
  sending: boolean;
  sendFrames: number;
  retries: number;
  reconnects: number;
  readonly dropEvery: number;
  drops: number;
  redelivered: number;
  gaps: number;
  readonly latencies: number[];
  readonly onAck: () => void;
  readonly fail: (error: Error) => void;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(
    sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1,
  );
  return sorted[Math.max(0, i)];
}

class Client {
  readonly user: string;
  readonly rooms: Map<string, RoomView>;
  /** id -> [room, seq] of every acknowledged send. */
  readonly acks = new Map<string, [string, number]>();
  #run: Run;
  #ws: WebSocket | undefined;
  #joinedCount = 0;
  #pending: Pending | undefined;
  #n = 0;
  #closed = false;
  #idle: (() => void) | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(run: Run, user: string, rooms: string[]) {
    this.#run = run;
    this.user = user;
    this.rooms = new Map(rooms.map((r) => [r, { last: 0, stream: [] }]));
  }

  connect(): void {
    if (this.#closed) return;
    this.#joinedCount = 0;
    const ws = new WebSocket(
      `${this.#run.url.replace(/^http/, "ws")}/ws?user=${this.user}`,
    );
    this.#ws = ws;
    ws.on("open", () => {
      for (const [room, v] of this.rooms) {
        ws.send(JSON.stringify({ type: "join", room, since: v.last }));
      }
    });
    ws.on("message", (data) => {
      // Frames of a socket this client dropped are not read.
      if (this.#ws === ws) this.#onFrame(JSON.parse(String(data)));
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      if (this.#ws !== ws || this.#closed) return;
      this.#ws = undefined;
      this.#run.reconnects++;
      this.connect();
    });
  }

  #write(frame: unknown): void {
    if (this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify(frame));
    }
  }

  #ready(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN &&
      this.#joinedCount >= this.rooms.size;
  }

  #onFrame(f: ServerFrame): void {
    switch (f.type) {
      case "joined":
        if (++this.#joinedCount === this.rooms.size) {
          if (this.#pending !== undefined) this.#resend();
          else this.#next();
          // A catch-up interrupted by a reconnect asks again.
          for (const [room, v] of this.rooms) {
            if (v.synced !== undefined) {
              this.#write({ type: "history", room, since: v.last });
            }
          }
        }
        return;
      case "ack": {
        const p = this.#pending;
        if (p === undefined || p.id !== f.id) return; // an old retry's ack
        this.#pending = undefined;
        this.acks.set(p.id, [p.room, f.seq]);
        this.#run.latencies.push(performance.now() - p.firstSentAt);
        this.#run.acked++;
        this.#run.onAck();
        this.#next();
        return;
      }
      case "error":
        if (f.id !== undefined && f.id === this.#pending?.id) {
          // Not stored, or stored and unacknowledged: the same id again.
          this.#retryTimer ??= setTimeout(() => {
            this.#retryTimer = undefined;
            this.#resend();
          }, 0);
        } else if (f.reason !== "history_trimmed") {
          this.#run.fail(
            new Error(`${this.user}: server error ${JSON.stringify(f)}`),
          );
        } else {
          this.#run.gaps++;
        }
        return;
      case "msg": {
        const v = this.rooms.get(f.room);
        if (v === undefined) return;
        if (f.seq <= v.last) {
          this.#run.redelivered++;
          return;
        }
        if (f.seq > v.last + 1) {
          // A gap: should not happen. Counted as lost, then filled.
          this.#run.gaps += f.seq - v.last - 1;
          while (v.stream.length < f.seq - 1) v.stream.push("");
        }
        v.stream.push(`${f.from}/${f.id}`);
        v.last = f.seq;
        return;
      }
      case "synced": {
        const v = this.rooms.get(f.room);
        if (v?.synced !== undefined && v.last >= f.seq) {
          const done = v.synced;
          v.synced = undefined;
          done(f.seq);
        }
        return;
      }
    }
  }

  #next(): void {
    const run = this.#run;
    if (!run.sending || run.sent >= run.maxMessages) {
      this.#idle?.();
      return;
    }
    if (!this.#ready()) return;
    run.sent++;
    const rooms = [...this.rooms.keys()];
    const room = rooms[Math.floor(Math.random() * rooms.length)];
    const id = `${this.user}-${++this.#n}`;
    this.#pending = {
      room,
      id,
      text: `hello ${this.#n} from ${this.user}`,
      firstSentAt: performance.now(),
    };
    run.sendFrames++;
    this.#write({ type: "send", room, id, text: this.#pending.text });
    if (run.dropEvery > 0 && run.sent % run.dropEvery === 0) this.#drop();
  }

  /**
   * Leaves the socket with a send in flight, without reading its answer
   * (a client whose network failed): the server stores the message, the
   * client reconnects and sends it again, and the id index answers.
   */
  #drop(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#run.drops++;
    this.#run.reconnects++;
    ws?.close(); // graceful: the send frame goes out before the close
    this.connect();
  }

  #resend(): void {
    const p = this.#pending;
    if (p === undefined || !this.#ready()) return;
    this.#run.retries++;
    this.#run.sendFrames++;
    this.#write({ type: "send", room: p.room, id: p.id, text: p.text });
  }

  /** Resolves once nothing is pending (the sending has stopped). */
  idle(): Promise<void> {
    if (this.#pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idle = resolve);
  }

  /** Asks for every room's history since the last seq; resolves when caught up. */
  catchUp(): Promise<void> {
    return Promise.all(
      [...this.rooms].map(([room, v]) =>
        new Promise<void>((resolve) => {
          v.synced = () => resolve();
          if (this.#ready()) {
            this.#write({ type: "history", room, since: v.last });
          }
        })
      ),
    ).then(() => {});
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#ws?.terminate();
    this.#ws = undefined;
  }
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot run the chat load: '${name}' must be an integer >= ${min}, got ${value}`,
    );
  }
  return value;
}

/**
 * Runs the load against a chat server and checks what every client saw.
 *
 * @param options the server's url, clients, rooms, bounds, chaos hook.
 * @returns the counts, latencies and the check's findings (`lost`,
 *   `duplicated`, `diverged`: 0 on a correct run).
 * @throws {RangeError} for a bad count.
 * @throws {Error} (rejects) when the run exceeds `timeoutMs` or the server
 *   answers with an unexpected error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startChatServer } from "./server.ts";
 * import { runLoad } from "./load.ts";
 * const server = await startChatServer({ name: "doc_load" });
 * try {
 *   const r = await runLoad({ url: server.url, clients: 3, rooms: 2, maxMessages: 30 });
 *   assert.equal(r.acked, 30);
 *   assert.equal(r.lost + r.duplicated + r.diverged, 0);
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const known = [
    "url",
    "clients",
    "rooms",
    "roomsPerClient",
    "durationMs",
    "maxMessages",
    "timeoutMs",
    "chaos",
    "chaosEvery",
    "onSendingStopped",
    "onProgress",
    "progressMs",
    "userPrefix",
    "dropEvery",
  ];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Cannot run the chat load: unknown option "${key}"`);
    }
  }
  const clients = checkCount("clients", options.clients ?? 50, 1);
  const roomCount = checkCount("rooms", options.rooms ?? 10, 1);
  const perClient = Math.min(
    roomCount,
    checkCount("roomsPerClient", options.roomsPerClient ?? 2, 1),
  );
  const durationMs = options.durationMs ?? 60_000;
  const maxMessages = options.maxMessages ?? 1_000_000;
  const timeoutMs = options.timeoutMs ?? durationMs + 60_000;
  const chaosEvery = checkCount("chaosEvery", options.chaosEvery ?? 10, 1);
  const prefix = options.userPrefix ?? "u";
  const dropEvery = checkCount("dropEvery", options.dropEvery ?? 0, 0);
  if (!(durationMs > 0) || !(timeoutMs > 0)) {
    throw new RangeError(
      `Cannot run the chat load: 'durationMs' and 'timeoutMs' must be > 0, got ${durationMs} and ${timeoutMs}`,
    );
  }

  let failure: Error | undefined;
  let failed: (e: Error) => void = () => {};
  const failedPromise = new Promise<never>((_, reject) => {
    failed = reject;
  });
  failedPromise.catch(() => {});
  let chaosCalls = 0;
  let chaosChain: Promise<unknown> = Promise.resolve();
  const run: Run = {
    url: options.url.replace(/\/$/, ""),
    sent: 0,
    acked: 0,
    maxMessages,
    sending: true,
    sendFrames: 0,
    retries: 0,
    reconnects: 0,
    dropEvery,
    drops: 0,
    redelivered: 0,
    gaps: 0,
    latencies: [],
    onAck: () => {
      if (options.chaos !== undefined && run.acked % chaosEvery === 0) {
        chaosCalls++;
        chaosChain = chaosChain.then(options.chaos).catch((e) => run.fail(e));
      }
    },
    fail: (e) => {
      failure ??= e;
      failed(e);
    },
  };

  const roomName = (i: number) => `room-${i}`;
  const all: Client[] = [];
  for (let i = 0; i < clients; i++) {
    // Neighbouring rooms: every room gets clients * perClient / rooms members.
    const rooms = Array.from(
      { length: perClient },
      (_, k) => roomName((i + k) % roomCount),
    );
    all.push(new Client(run, `${prefix}${i}`, rooms));
  }

  const started = performance.now();
  const timers: ReturnType<typeof setTimeout>[] = [];
  const bounded = <T>(p: Promise<T>, what: string): Promise<T> => {
    const left = timeoutMs - (performance.now() - started);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`chat load: timed out (${timeoutMs} ms) ${what}`)),
        Math.max(0, left),
      );
    });
    return Promise.race([p, timeout, failedPromise]).finally(() =>
      clearTimeout(timer)
    );
  };

  let sendingMs = 0;
  try {
    for (const c of all) c.connect();
    const progress = options.onProgress === undefined ? undefined : setInterval(
      () => options.onProgress!(run.acked, performance.now() - started),
      options.progressMs ?? 5000,
    );
    if (progress !== undefined) timers.push(progress as never);
    // Sending: until the time is up or the count is reached.
    await bounded(
      new Promise<void>((resolve) => {
        const stop = setTimeout(resolve, durationMs);
        timers.push(stop);
        const poll = setInterval(() => {
          if (run.sent >= maxMessages) resolve();
        }, 10);
        timers.push(poll as never);
      }),
      "while sending",
    );
    run.sending = false;
    await bounded(
      Promise.all(all.map((c) => c.idle())),
      "waiting for the last acks",
    );
    sendingMs = performance.now() - started;
    clearInterval(progress);
    await bounded(chaosChain, "waiting for the chaos calls");
    await options.onSendingStopped?.();
    await bounded(Promise.all(all.map((c) => c.catchUp())), "catching up");
  } finally {
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t as never);
    }
    for (const c of all) c.close();
  }
  if (failure !== undefined) throw failure;

  // ---------------------------------------------------------------- check --
  let lost = run.gaps;
  let duplicated = 0;
  let diverged = 0;
  let delivered = 0;
  const streams = new Map<string, string[][]>();
  for (const c of all) {
    for (const [room, v] of c.rooms) {
      delivered += v.stream.filter((s) => s !== "").length;
      let list = streams.get(room);
      if (list === undefined) streams.set(room, list = []);
      list.push(v.stream);
    }
  }
  for (const list of streams.values()) {
    const longest = Math.max(...list.map((s) => s.length));
    for (const s of list) {
      lost += longest - s.length; // missing at the end
    }
    // Members must agree seq by seq.
    const canonical = list.find((s) => s.length === longest)!;
    for (const s of list) {
      for (let i = 0; i < s.length; i++) {
        if (s[i] !== "" && s[i] !== canonical[i]) diverged++;
      }
    }
    const seen = new Set<string>();
    for (const entry of canonical) {
      if (entry === "") continue;
      if (seen.has(entry)) duplicated++;
      seen.add(entry);
    }
  }
  for (const c of all) {
    for (const [id, [room, seq]] of c.acks) {
      const canonical = streams.get(room)!;
      // In every member's stream, at the acknowledged seq.
      const present = canonical.every((s) => s[seq - 1] === `${c.user}/${id}`);
      if (!present) lost++;
    }
  }
  const sorted = run.latencies.slice().sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    clients,
    rooms: streams.size,
    sendingMs: Math.round(sendingMs),
    acked: run.acked,
    ackedPerSecond: Math.round(run.acked / (sendingMs / 1000)),
    sendFrames: run.sendFrames,
    retries: run.retries,
    reconnects: run.reconnects,
    drops: run.drops,
    delivered,
    redelivered: run.redelivered,
    lost,
    duplicated,
    diverged,
    latency: {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? 0),
    },
    chaosCalls,
  };
}
