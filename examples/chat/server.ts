/**
 * A chat service on Steward: HTTP + WebSocket, one process per connection,
 * rooms as gen_servers found through a tracker, history in a table that
 * outlives every room, and a chaos switch that kills processes while it
 * serves. The protocol is in `protocol.ts`.
 *
 * The supervision tree (all under one one_for_one supervisor):
 *
 * ```
 * top
 * ├── history   table manager: keeps the `<name>_history` table (ordered_set,
 * │             public) and lends it to the store; when the store dies the
 * │             table comes back to the manager, rows and all
 * ├── store     gen_server `<name>_store`: the table's owner while it runs
 * ├── rooms     tracker `<name>_rooms`: one room gen_server per room name,
 * │             started on the first findOrOpen (temporary: a killed room is
 * │             started again by the next findOrOpen, from the table)
 * ├── conns     DynamicSupervisor: one process per WebSocket (temporary: a
 * │             connection cannot be restarted without its socket)
 * └── chaos     gen_server: every `chaosMs` kills a connection, a room or
 *               the store with exit(pid, "kill")
 * ```
 *
 * Why no acknowledged message is lost: a room stores a message (its row,
 * the id's row and the room's last seq, in one synchronous callback that a
 * kill cannot cut in half) before it replies, and the table belongs to the
 * store or, while the store is down, to its manager: never to a room. A
 * restarted room reads its last seq back. A connection that dies loses
 * only what it had not yet written to its socket; the client reconnects
 * and asks for the messages after the last seq it has.
 *
 * Why none is stored twice: the id's row (`["i", room, user, id]` → seq)
 * makes a retried send an acknowledgement of the stored one.
 *
 * Why nobody misses a message: a connection monitors each room it joined;
 * on DOWN it finds the room again (the tracker starts a fresh one) and
 * joins it since the last seq it forwarded, so the new room's reply brings
 * what was stored meanwhile. A broadcast is a plain `send` to each member:
 * per-sender order makes the join reply come before any later broadcast.
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import * as supervisor from "../../supervisor.ts";
import * as tracker from "../../tracker.ts";
import * as TableManager from "../../table_manager.ts";
import * as genServer from "../../gen_server.ts";
import type { GenServer } from "../../gen_server.ts";
import {
  demonitor,
  exit,
  monitor,
  type Pid,
  receive,
  type Ref,
  send,
  spawnLink,
  whereis,
} from "../../process.ts";
import * as ets from "../../ets.ts";
import { TimeoutError } from "../../errors.ts";
import {
  type ChatMessage,
  HISTORY_LIMIT,
  isName,
  parseClientFrame,
  type ServerFrame,
} from "./protocol.ts";

// ---------------------------------------------------------------- options --

/** Options of {@linkcode startChatServer}. */
export interface ChatServerOptions {
  /** TCP port; 0 picks a free one. @default {0} */
  readonly port?: number;
  /** Interface to listen on. @default {"127.0.0.1"} */
  readonly host?: string;
  /** Kill a random process every this many ms (0: no chaos). @default {0} */
  readonly chaosMs?: number;
  /**
   * Prefix of the registered names (`<name>_store`, `<name>_rooms`) and of
   * the table (`<name>_history`), so two servers can run in one OS
   * process. @default {"chat"}
   */
  readonly name?: string;
  /** Messages kept per room. @default {HISTORY_LIMIT} */
  readonly historyLimit?: number;
}

/** Counters of a running server. */
export interface ChatCounters {
  /** WebSocket connections accepted. */
  connections: number;
  /** Messages stored and acknowledged. */
  stored: number;
  /** Sends answered from the id index (retries of a stored message). */
  duplicateSends: number;
  /** Rooms started (first starts and restarts). */
  roomStarts: number;
  /** Processes killed by the chaos switch, by kind. */
  kills: { conn: number; room: number; store: number };
}

/** What `GET /stats` returns. */
export interface ChatStats {
  /** The runtime: "deno 2.9.6", "node v20...", "bun 1.4.4". */
  readonly runtime: string;
  /** Milliseconds since the server started. */
  readonly uptimeMs: number;
  /** Connection processes alive. */
  readonly connectionProcesses: number;
  /** Room processes alive. */
  readonly roomProcesses: number;
  /** Rows in the history table. */
  readonly historyRows: number;
  /** The chaos interval in ms (0: off). */
  readonly chaosMs: number;
  /** The counters. */
  readonly counters: ChatCounters;
  /** `process.memoryUsage()`, after a GC when asked and available. */
  readonly memory: {
    readonly rss: number;
    readonly heapUsed: number;
    readonly heapTotal: number;
    readonly external: number;
  };
  /** Whether a GC ran just before `memory` was read. */
  readonly gc: boolean;
}

/** A running chat server. */
export interface ChatServer {
  /** `http://host:port` (the WebSocket is at `ws://host:port/ws`). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The top supervisor's pid. */
  readonly supervisor: Pid;
  /** The counters (live). */
  readonly counters: ChatCounters;
  /** Statistics, after a GC if `gc` and the runtime exposes one. */
  stats(gc?: boolean): Promise<ChatStats>;
  /** Sets the chaos interval (0: off). */
  setChaos(ms: number): Promise<void>;
  /** Kills one random process now; says which kind ("none": none found). */
  chaosOnce(): Promise<"conn" | "room" | "store" | "none">;
  /** Closes every socket, stops the tree. Idempotent. */
  close(): Promise<void>;
  /** Same as close(). */
  [Symbol.asyncDispose](): Promise<void>;
}

// ------------------------------------------------------------------ table --
//
// One ordered_set table per server, keys:
//   ["m", room, seq]          -> [key, from, id, text]  a stored message
//   ["i", room, from, id]     -> [key, seq]             the id index
//   ["s", room]               -> [key, last, first]     last seq, oldest kept
// All rows of a room are written by that room's process only (the tracker
// runs at most one per room), so they need no lock.

type MessageRow = readonly [unknown, string, string, string];

function readMessage(table: ets.Table, room: string, seq: number) {
  const row = table.lookup(["m", room, seq])[0] as MessageRow | undefined;
  return row === undefined
    ? undefined
    : { seq, from: row[1], id: row[2], text: row[3] } satisfies ChatMessage;
}

// ------------------------------------------------------------------- room --

interface RoomArg {
  readonly room: string;
  readonly table: ets.Table;
  readonly counters: ChatCounters;
  readonly historyLimit: number;
}

interface RoomState extends RoomArg {
  /** The last seq stored (0: none yet). */
  last: number;
  /** The oldest seq still in the table (last + 1 when empty). */
  first: number;
  /** Member connections, each with the monitor that removes it. */
  readonly members: Map<Pid, Ref>;
}

/** What a room answers to ["join", ...] and ["history", ...]. */
type HistoryReply =
  | {
    readonly ok: true;
    readonly last: number;
    readonly messages: ChatMessage[];
  }
  | {
    readonly ok: false;
    readonly reason: "history_trimmed";
    readonly first: number;
  };

/** What a room answers to ["send", ...]. */
interface SendReply {
  readonly seq: number;
  readonly duplicate: boolean;
}

function history(s: RoomState, since: number | undefined): HistoryReply {
  if (since === undefined || since >= s.last) {
    return { ok: true, last: s.last, messages: [] };
  }
  if (since + 1 < s.first) {
    return { ok: false, reason: "history_trimmed", first: s.first };
  }
  const messages: ChatMessage[] = [];
  for (let seq = since + 1; seq <= s.last; seq++) {
    const m = readMessage(s.table, s.room, seq);
    if (m !== undefined) messages.push(m);
  }
  return { ok: true, last: s.last, messages };
}

/** Stores one message (or finds it stored): one synchronous step. */
function store(
  s: RoomState,
  from: string,
  id: string,
  text: string,
): SendReply {
  const idKey = ["i", s.room, from, id];
  const known = s.table.lookup(idKey)[0];
  if (known !== undefined) {
    s.counters.duplicateSends++;
    return { seq: known[1] as number, duplicate: true };
  }
  const seq = s.last + 1;
  s.table.insertMany([
    [["m", s.room, seq], from, id, text],
    [idKey, seq],
  ]);
  s.last = seq;
  // Trim: the oldest message and its id go together.
  while (s.last - s.first + 1 > s.historyLimit) {
    const old = readMessage(s.table, s.room, s.first);
    if (old !== undefined) {
      s.table.delete(["m", s.room, s.first]);
      s.table.delete(["i", s.room, old.from, old.id]);
    }
    s.first++;
  }
  s.table.insert([["s", s.room], s.last, s.first]);
  s.counters.stored++;
  const message: ChatMessage = { seq, from, id, text };
  for (const member of s.members.keys()) send(member, ["msg", s.room, message]);
  return { seq, duplicate: false };
}

const room: GenServer<RoomState, RoomArg> = {
  init(arg) {
    arg.counters.roomStarts++;
    const row = arg.table.lookup(["s", arg.room])[0];
    const last = row === undefined ? 0 : row[1] as number;
    const first = row === undefined ? 1 : row[2] as number;
    return ["ok", { ...arg, last, first, members: new Map() }];
  },
  handleCall(request, _from, s) {
    const [tag, a, b, c] = request as [string, unknown, unknown, unknown];
    switch (tag) {
      case "join": {
        const member = a as Pid;
        if (!s.members.has(member)) s.members.set(member, monitor(member));
        return ["reply", history(s, b as number | undefined), s];
      }
      case "history":
        return ["reply", history(s, a as number), s];
      case "send":
        return ["reply", store(s, a as string, b as string, c as string), s];
      default:
        return ["reply", { error: "unknown request" }, s];
    }
  },
  handleInfo(message, s) {
    // A member died: forget it.
    if (Array.isArray(message) && message[0] === "DOWN") {
      const member = message[3] as Pid;
      if (s.members.get(member) === message[1]) s.members.delete(member);
    }
    return ["noreply", s];
  },
};

// ------------------------------------------------------------------ store --

/** Owns the history table while it runs; the manager keeps it otherwise. */
const storeServer: GenServer<ets.Table | null, undefined> = {
  init: () => ["ok", null],
  handleInfo(message, table) {
    if (Array.isArray(message) && message[0] === "ETS-TRANSFER") {
      return ["noreply", message[1] as ets.Table];
    }
    return ["noreply", table];
  },
  handleCall(_request, _from, table) {
    return ["reply", table?.info()?.size ?? 0, table];
  },
};

// ------------------------------------------------------------- connection --

/** What a connection process needs from its socket. */
interface Socket {
  send(text: string): void;
  terminate(): void;
}

interface Names {
  readonly store: string;
  readonly rooms: string;
  readonly table: string;
}

interface Joined {
  pid: Pid;
  ref: Ref;
  /** The last seq forwarded to the client (a broadcast at or below: dropped). */
  last: number;
}

function sleep(ms: number): Promise<void> {
  return receive(() => false, { timeout: ms }).then(
    () => {},
    (e) => {
      if (!(e instanceof TimeoutError)) throw e;
    },
  );
}

/**
 * One WebSocket's process. Its mailbox gets the client's frames
 * (`["ws", text]`), the rooms' broadcasts (`["msg", room, message]`), the
 * DOWN of each joined room, and `["closed"]` when the socket closes. It
 * handles one at a time: a send waits for the room's reply before the next
 * frame is read (so a client's sends are stored in the order it sent them).
 */
async function connection(
  self: Pid,
  socket: Socket,
  user: string,
  names: Names,
  roomArg: (room: string) => RoomArg,
): Promise<void> {
  // Dying (killed by chaos, or the tree stopping) closes the socket: the
  // client sees it and reconnects.
  self.signal.addEventListener("abort", () => socket.terminate());
  const joined = new Map<string, Joined>();
  const push = (frame: ServerFrame) => socket.send(JSON.stringify(frame));

  /** Forwards a room's messages above what the client was given. */
  const forward = (room: string, j: Joined, messages: ChatMessage[]) => {
    for (const m of messages) {
      if (m.seq <= j.last) continue;
      j.last = m.seq;
      push({ type: "msg", room, ...m });
    }
  };

  /**
   * Finds the room (the tracker starts it if needed), joins it and forwards
   * what was stored after `since`. A room found dead (its DOWN is here
   * before the tracker has seen its EXIT) is looked up again.
   */
  const join = async (name: string, since: number | undefined) => {
    const spec = {
      id: name,
      start: () => genServer.startLink(room, roomArg(name)),
      restart: "temporary" as const,
    };
    for (let attempt = 0;; attempt++) {
      const pid = await tracker.findOrOpen(names.rooms, spec);
      const ref = monitor(pid);
      try {
        const reply = await genServer.call(pid, [
          "join",
          self,
          since,
        ]) as HistoryReply;
        if (!reply.ok) {
          demonitor(ref, { flush: true });
          return reply;
        }
        const old = joined.get(name);
        if (old !== undefined && old.ref !== ref) {
          demonitor(old.ref, { flush: true });
        }
        const j: Joined = { pid, ref, last: old?.last ?? since ?? reply.last };
        joined.set(name, j);
        forward(name, j, reply.messages);
        return reply;
      } catch (error) {
        demonitor(ref, { flush: true });
        if (attempt >= 100) throw error;
        await sleep(attempt < 5 ? 0 : 5);
      }
    }
  };

  const onFrame = async (text: string) => {
    const frame = parseClientFrame(text);
    if (typeof frame === "string") {
      push({ type: "error", reason: frame });
      return;
    }
    switch (frame.type) {
      case "join": {
        const reply = await join(frame.room, frame.since);
        if (reply.ok) {
          push({ type: "joined", room: frame.room, seq: reply.last });
        } else push({ type: "error", room: frame.room, reason: reply.reason });
        return;
      }
      case "history": {
        const j = joined.get(frame.room);
        if (j === undefined) {
          push({ type: "error", room: frame.room, reason: "not_joined" });
          return;
        }
        // Rewind to what the client asks for, then forward from there.
        j.last = Math.min(j.last, frame.since);
        const reply = await join(frame.room, frame.since);
        if (reply.ok) {
          push({ type: "synced", room: frame.room, seq: reply.last });
        } else push({ type: "error", room: frame.room, reason: reply.reason });
        return;
      }
      case "send": {
        const j = joined.get(frame.room);
        if (j === undefined) {
          push({
            type: "error",
            id: frame.id,
            room: frame.room,
            reason: "not_joined",
          });
          return;
        }
        try {
          const r = await genServer.call(j.pid, [
            "send",
            user,
            frame.id,
            frame.text,
          ]) as SendReply;
          push({ type: "ack", id: frame.id, seq: r.seq });
        } catch {
          // The room died before replying: stored or not, the client's
          // retry (same id) will tell. Our monitor's DOWN rejoins it.
          push({
            type: "error",
            id: frame.id,
            room: frame.room,
            reason: "room_down",
          });
        }
        return;
      }
    }
  };

  try {
    for (;;) {
      const m = await receive<unknown[]>();
      switch (m[0]) {
        case "ws":
          await onFrame(m[1] as string);
          break;
        case "msg": {
          const j = joined.get(m[1] as string);
          if (j !== undefined) {
            forward(m[1] as string, j, [m[2] as ChatMessage]);
          }
          break;
        }
        case "DOWN":
          for (const [name, j] of joined) {
            if (j.ref === m[1]) {
              const reply = await join(name, j.last);
              if (!reply.ok) {
                push({ type: "error", room: name, reason: reply.reason });
              }
              break;
            }
          }
          break;
        case "closed":
          return;
      }
    }
  } finally {
    socket.terminate();
  }
}

// ------------------------------------------------------------------ chaos --

interface ChaosState {
  ms: number;
  readonly names: Names;
  readonly conns: () => Pid | undefined;
  readonly counters: ChatCounters;
}

type Victim = "conn" | "room" | "store" | "none";

async function killOne(s: ChaosState): Promise<Victim> {
  const r = Math.random();
  const kinds: Exclude<Victim, "none">[] = r < 0.1
    ? ["store", "room", "conn"]
    : r < 0.55
    ? ["room", "conn", "store"]
    : ["conn", "room", "store"];
  for (const kind of kinds) {
    let pids: Pid[] = [];
    if (kind === "store") {
      const pid = whereis(s.names.store);
      if (pid !== undefined) pids = [pid];
    } else if (kind === "room") {
      pids = tracker.list(s.names.rooms).map((c) => c.pid);
    } else {
      const sup = s.conns();
      if (sup !== undefined) {
        pids = (await supervisor.whichChildren(sup))
          .map((c) => c.pid)
          .filter((p): p is Pid => typeof p === "object" && p !== null);
      }
    }
    if (pids.length === 0) continue;
    exit(pids[Math.floor(Math.random() * pids.length)], "kill");
    s.counters.kills[kind]++;
    return kind;
  }
  return "none";
}

const chaos: GenServer<ChaosState, ChaosState> = {
  init: (s) => ["ok", s, s.ms > 0 ? s.ms : "infinity"],
  async handleInfo(message, s) {
    if (message === "timeout") await killOne(s);
    return ["noreply", s, s.ms > 0 ? s.ms : "infinity"];
  },
  async handleCall(request, _from, s) {
    const [tag, ms] = request as [string, number];
    if (tag === "set") {
      s.ms = ms;
      return ["reply", undefined, s, ms > 0 ? ms : "infinity"];
    }
    const victim = await killOne(s);
    return ["reply", victim, s, s.ms > 0 ? s.ms : "infinity"];
  },
};

// ----------------------------------------------------------------- server --

function runtimeName(): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
}

/** Runs a full GC if the runtime exposes one; whether it did. */
function collect(): boolean {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (typeof g.Bun?.gc === "function") {
    g.Bun.gc(true);
    return true;
  }
  if (typeof g.gc === "function") {
    g.gc();
    return true;
  }
  return false;
}

function checkOptions(options: ChatServerOptions): Required<ChatServerOptions> {
  const known = ["port", "host", "chaosMs", "name", "historyLimit"];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot start the chat server: unknown option "${key}"`,
      );
    }
  }
  const o = {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    chaosMs: options.chaosMs ?? 0,
    name: options.name ?? "chat",
    historyLimit: options.historyLimit ?? HISTORY_LIMIT,
  };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new RangeError(
      `Cannot start the chat server: 'port' must be an integer 0-65535, got ${o.port}`,
    );
  }
  if (!(o.chaosMs >= 0) || !Number.isFinite(o.chaosMs)) {
    throw new RangeError(
      `Cannot start the chat server: 'chaosMs' must be a finite number >= 0, got ${o.chaosMs}`,
    );
  }
  if (!Number.isInteger(o.historyLimit) || o.historyLimit < 1) {
    throw new RangeError(
      `Cannot start the chat server: 'historyLimit' must be a positive integer, got ${o.historyLimit}`,
    );
  }
  if (!isName(o.name)) {
    throw new TypeError(
      `Cannot start the chat server: 'name' must be 1-64 of [A-Za-z0-9_.:-], got ${
        String(o.name)
      }`,
    );
  }
  return o;
}

/**
 * Starts the chat server: the supervision tree, then HTTP on `host:port`
 * with the WebSocket at `/ws?user=NAME`, `GET /stats` (`?gc=1` to collect
 * first), `POST /chaos?ms=N` (the chaos interval, 0: off) and
 * `POST /chaos/once` (kill one process now).
 *
 * @param options port, host, chaosMs, name, historyLimit.
 * @returns the running server.
 * @throws {TypeError} for an unknown option or a bad name.
 * @throws {RangeError} for a bad port, chaosMs or historyLimit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startChatServer } from "./server.ts";
 * const server = await startChatServer({ port: 0, name: "doc_chat" });
 * const stats = await server.stats();
 * assert.equal(stats.connectionProcesses, 0);
 * await server.close();
 * ```
 */
export async function startChatServer(
  options: ChatServerOptions = {},
): Promise<ChatServer> {
  const o = checkOptions(options);
  const names: Names = {
    store: `${o.name}_store`,
    rooms: `${o.name}_rooms`,
    table: `${o.name}_history`,
  };
  const counters: ChatCounters = {
    connections: 0,
    stored: 0,
    duplicateSends: 0,
    roomStarts: 0,
    kills: { conn: 0, room: 0, store: 0 },
  };
  const started = performance.now();
  let connSup: Pid | undefined;
  const chaosName = `${o.name}_chaos`;

  const top = await supervisor.start({
    strategy: "one_for_one",
    // Chaos kills the store now and then: that is its job, not a reason
    // to give up.
    intensity: 1000,
    period: 1,
    children: [
      {
        id: "history",
        start: () =>
          TableManager.startLink(
            names.store,
            { type: "ordered_set", access: "public", named: true },
            { tableName: names.table },
          ),
      },
      {
        id: "store",
        start: () =>
          genServer.startLink(storeServer, undefined, { name: names.store }),
      },
      {
        id: "rooms",
        type: "supervisor",
        start: () => tracker.startLink(names.rooms),
      },
      {
        id: "conns",
        type: "supervisor",
        start: async () => connSup = await supervisor.startDynamicLink(),
      },
      {
        id: "chaos",
        start: () =>
          genServer.startLink(chaos, {
            ms: o.chaosMs,
            names,
            conns: () => connSup,
            counters,
          }, { name: chaosName }),
      },
    ],
  });
  const table = ets.whereis(names.table)!;
  const roomArg = (name: string): RoomArg => ({
    room: name,
    table,
    counters,
    historyLimit: o.historyLimit,
  });

  const stats = async (gc = false): Promise<ChatStats> => {
    const ran = gc && collect();
    const m = process.memoryUsage();
    const conns = connSup === undefined
      ? 0
      : (await supervisor.countChildren(connSup)).active;
    return {
      runtime: runtimeName(),
      uptimeMs: Math.round(performance.now() - started),
      connectionProcesses: conns,
      roomProcesses: tracker.list(names.rooms).length,
      historyRows: table.info()?.size ?? 0,
      chaosMs: currentChaos,
      counters,
      memory: {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
      },
      gc: ran,
    };
  };
  let currentChaos = o.chaosMs;
  const setChaos = async (ms: number) => {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(
        `Cannot set the chaos interval: 'ms' must be a finite number >= 0, got ${ms}`,
      );
    }
    currentChaos = ms;
    await genServer.call(chaosName, ["set", ms]);
  };
  const chaosOnce = () =>
    genServer.call(chaosName, ["once"]) as Promise<Victim>;

  // ------------------------------------------------------------- sockets --
  const wss = new WebSocketServer({ noServer: true });
  const http = createServer((req, res) => route(req, res));
  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const user = url.searchParams.get("user");
    if (url.pathname !== "/ws" || !isName(user)) {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      counters.connections++;
      // Frames that come before the process exists wait here.
      let pid: Pid | undefined;
      let early: string[] | undefined = [];
      let closed = false;
      ws.on("message", (data) => {
        const text = String(data);
        if (pid !== undefined) send(pid, ["ws", text]);
        else early?.push(text);
      });
      ws.on("close", () => {
        closed = true;
        if (pid !== undefined) send(pid, ["closed"]);
      });
      ws.on("error", () => {});
      const socketApi: Socket = {
        send: (text) => {
          if (ws.readyState === ws.OPEN) ws.send(text);
        },
        terminate: () => ws.terminate(),
      };
      const sup = connSup;
      if (sup === undefined) {
        ws.terminate();
        return;
      }
      supervisor.startChild(sup, {
        id: "conn",
        restart: "temporary",
        // An `async` body: Steward runs it in the process's async context,
        // so self() (and monitor, call...) still mean this process after
        // each await. A plain arrow returning connection()'s promise would
        // run as a sync body and lose it after the first await.
        start: () =>
          spawnLink(async (self) =>
            await connection(self, socketApi, user, names, roomArg)
          ),
      }).then(({ pid: p }) => {
        pid = p!;
        for (const text of early ?? []) send(pid, ["ws", text]);
        early = undefined;
        if (closed) send(pid, ["closed"]);
      }, () => ws.terminate());
    });
  });

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === "GET" && url.pathname === "/stats") {
        json(200, await stats(url.searchParams.get("gc") === "1"));
      } else if (req.method === "POST" && url.pathname === "/chaos") {
        await setChaos(Number(url.searchParams.get("ms") ?? "0"));
        json(200, { chaosMs: currentChaos });
      } else if (req.method === "POST" && url.pathname === "/chaos/once") {
        json(200, { killed: await chaosOnce() });
      } else if (req.method === "GET" && url.pathname === "/") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(
          "Steward chat: WebSocket at /ws?user=NAME; GET /stats; POST /chaos?ms=N; POST /chaos/once\n",
        );
      } else {
        json(404, { error: "not found" });
      }
    } catch (error) {
      json(400, { error: String((error as Error)?.message ?? error) });
    }
  };

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(o.port, o.host, () => resolve());
  });
  const address = http.address();
  const port = typeof address === "object" && address !== null
    ? address.port
    : o.port;

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await setChaos(0).catch(() => {});
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      // deno-lint-ignore no-explicit-any
      (http as any).closeAllConnections?.();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await supervisor.stop(top);
    })();

  return {
    url: `http://${o.host}:${port}`,
    port,
    supervisor: top,
    counters,
    stats,
    setChaos,
    chaosOnce,
    close,
    [Symbol.asyncDispose]: close,
  };
}
