// The chat service example (examples/chat): a bounded load run with chaos,
// and the protocol's promises one by one (idempotent sends, history that
// outlives rooms and the store, errors). Real sockets on loopback, so real
// time: every wait is for an event, bounded by a guard timeout that fails
// the test instead of hanging it (cleared on success; nothing sleeps).
//
// Runs on Deno (sources), Node and Bun (the example transpiled onto the
// built package); the `ws` package works on all three (Bun swaps in its own
// implementation of it).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { type ChatServer, startChatServer } from "../examples/chat/server.ts";
import { runLoad } from "../examples/chat/load.ts";
import type { ServerFrame } from "../examples/chat/protocol.ts";
import { exit, whereis } from "../process.ts";
import * as tracker from "../tracker.ts";
import * as ets from "../ets.ts";

/** Fails a wait that takes longer than this (a hang, not a slow machine). */
const GUARD_MS = 20_000;

function guarded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out (${GUARD_MS} ms): ${what}`)),
      GUARD_MS,
    );
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** A raw protocol client: frames in a queue, taken by predicate. */
class RawClient {
  readonly ws: WebSocket;
  readonly #frames: ServerFrame[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(server: ChatServer, user: string) {
    this.ws = new WebSocket(
      `${server.url.replace("http", "ws")}/ws?user=${user}`,
    );
    this.ws.on("message", (data) => {
      this.#frames.push(JSON.parse(String(data)));
      this.#wake?.();
    });
    this.ws.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    this.ws.on("error", () => {});
  }

  open(): Promise<void> {
    return guarded(
      new Promise((resolve, reject) => {
        this.ws.once("open", () => resolve());
        this.ws.once("close", () => reject(new Error("closed before open")));
      }),
      "open",
    );
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first frame matching `pred` (removed from the queue). */
  next(pred: (f: ServerFrame) => boolean, what: string): Promise<ServerFrame> {
    return guarded(
      (async () => {
        for (;;) {
          const i = this.#frames.findIndex(pred);
          if (i >= 0) return this.#frames.splice(i, 1)[0];
          if (this.#closed) throw new Error(`closed while waiting for ${what}`);
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
      })(),
      what,
    );
  }

  closed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return guarded(
      new Promise((resolve) => this.ws.once("close", () => resolve())),
      "close",
    );
  }

  close(): void {
    this.ws.terminate();
  }
}

async function withServer(
  name: string,
  fn: (server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = await startChatServer({ name });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

describe("chat example", () => {
  test("runLoad() with chaos and dropped sockets: 10 clients, 300 messages, none lost or duplicated", async () => {
    await withServer("t_load", async (server) => {
      const result = await runLoad({
        url: server.url,
        clients: 10,
        rooms: 3,
        maxMessages: 300,
        durationMs: 120_000, // bounded by the count; timeoutMs fails a hang
        timeoutMs: 60_000,
        chaos: () => server.chaosOnce(),
        chaosEvery: 5,
        dropEvery: 25,
      });
      assert.equal(result.acked, 300);
      assert.equal(result.lost, 0);
      assert.equal(result.duplicated, 0);
      assert.equal(result.diverged, 0);
      assert.equal(result.chaosCalls, 60);
      const kills = server.counters.kills;
      assert.equal(kills.conn + kills.room + kills.store, 60);
      assert.ok(result.reconnects > 0, "some connections were killed");
      // Each dropped socket had a send in flight: its retry was answered
      // from the id index (unless the first send never got to the server).
      assert.equal(result.drops, 12);
      assert.ok(server.counters.duplicateSends > 0, "retries hit the id index");
      assert.ok(server.counters.roomStarts > 3, "some rooms were restarted");
      // Every member got every message of its rooms: 10 clients x 2 rooms
      // over 3 rooms.
      assert.ok(result.delivered >= 300 * 6);
      const stats = await server.stats();
      assert.equal(stats.counters.stored, 300);
      assert.equal(stats.historyRows, 300 * 2 + 3); // message + id, + 1 per room
    });
  });

  test("send: a retried id is acknowledged with the same seq and stored once", async () => {
    await withServer("t_idem", async (server) => {
      const c = new RawClient(server, "ann");
      await c.open();
      c.send({ type: "join", room: "lobby", since: 0 });
      assert.deepEqual(
        await c.next((f) => f.type === "joined", "joined"),
        { type: "joined", room: "lobby", seq: 0 },
      );
      c.send({ type: "send", room: "lobby", id: "m1", text: "hi" });
      const first = await c.next((f) => f.type === "ack", "ack");
      c.send({ type: "send", room: "lobby", id: "m1", text: "hi" });
      const again = await c.next((f) => f.type === "ack", "second ack");
      assert.deepEqual(first, { type: "ack", id: "m1", seq: 1 });
      assert.deepEqual(again, first);
      // Broadcast once, to the member that sent it too.
      assert.deepEqual(await c.next((f) => f.type === "msg", "msg"), {
        type: "msg",
        room: "lobby",
        seq: 1,
        from: "ann",
        id: "m1",
        text: "hi",
      });
      c.send({ type: "history", room: "lobby", since: 0 });
      assert.deepEqual(
        await c.next((f) => f.type === "synced", "synced"),
        { type: "synced", room: "lobby", seq: 1 },
      );
      const stats = await server.stats();
      assert.equal(stats.counters.stored, 1);
      assert.equal(stats.counters.duplicateSends, 1);
      c.close();
      await c.closed();
    });
  });

  test("a killed room restarts from the table: history kept, seq goes on", async () => {
    await withServer("t_room", async (server) => {
      const c = new RawClient(server, "bob");
      await c.open();
      c.send({ type: "join", room: "r", since: 0 });
      await c.next((f) => f.type === "joined", "joined");
      for (const id of ["a", "b"]) {
        c.send({ type: "send", room: "r", id, text: id });
        await c.next((f) => f.type === "ack" && f.id === id, `ack ${id}`);
      }
      const old = tracker.find("t_room_rooms", "r")!;
      exit(old, "kill");
      // The store dies too: the table goes back to its manager, rows and all.
      exit(whereis("t_room_store")!, "kill");
      c.send({ type: "send", room: "r", id: "c", text: "c" });
      const ack = await c.next(
        (f) => f.type === "ack" && f.id === "c",
        "ack c",
      );
      assert.deepEqual(ack, { type: "ack", id: "c", seq: 3 });
      assert.notEqual(tracker.find("t_room_rooms", "r"), old);
      // A new connection reads the whole history from the new room.
      const d = new RawClient(server, "dan");
      await d.open();
      d.send({ type: "join", room: "r", since: 0 });
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await d.next((f) => f.type === "msg", "history msg");
        if (m.type === "msg") seqs.push(m.seq);
      }
      assert.deepEqual(seqs, [1, 2, 3]);
      assert.deepEqual(
        await d.next((f) => f.type === "joined", "joined"),
        { type: "joined", room: "r", seq: 3 },
      );
      assert.equal(ets.whereis("t_room_history")!.info()!.size, 7);
      c.close();
      d.close();
      await Promise.all([c.closed(), d.closed()]);
    });
  });

  test("a killed connection closes its socket; the room forgets it", async () => {
    await withServer("t_conn", async (server) => {
      const c = new RawClient(server, "cy");
      await c.open();
      c.send({ type: "join", room: "r", since: 0 });
      await c.next((f) => f.type === "joined", "joined");
      // Kinds are chosen at random: kill until the connection is gone.
      while ((await server.stats()).connectionProcesses > 0) {
        await server.chaosOnce();
      }
      await c.closed();
      assert.ok(server.counters.kills.conn >= 1);
    });
  });

  test("bad frames are answered with error frames; a bad user is refused", async () => {
    await withServer("t_bad", async (server) => {
      const c = new RawClient(server, "eve");
      await c.open();
      c.send("{not json");
      assert.deepEqual(await c.next((f) => f.type === "error", "error"), {
        type: "error",
        reason: "not JSON",
      });
      c.send({ type: "send", room: "r", id: "x", text: "t" });
      assert.deepEqual(await c.next((f) => f.type === "error", "error"), {
        type: "error",
        id: "x",
        room: "r",
        reason: "not_joined",
      });
      c.send({ type: "join", room: "bad room!" });
      assert.deepEqual(await c.next((f) => f.type === "error", "error"), {
        type: "error",
        reason: "bad room",
      });
      c.close();
      await c.closed();
      const bad = new RawClient(server, "no spaces");
      await assert.rejects(bad.open(), /closed before open/);
    });
  });

  test("startChatServer() refuses unknown options and bad values", async () => {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      startChatServer({ prot: 1 } as any),
      { name: "TypeError", message: /unknown option "prot"/ },
    );
    await assert.rejects(startChatServer({ port: -1 }), {
      name: "RangeError",
      message: /'port' must be an integer 0-65535, got -1/,
    });
    await assert.rejects(startChatServer({ chaosMs: NaN }), RangeError);
    await assert.rejects(runLoad({ url: "http://x", clients: 0 }), {
      name: "RangeError",
      message: /'clients' must be an integer >= 1, got 0/,
    });
  });
});
