/**
 * Load for the chat service: starts the server as a second OS process on
 * a free loopback port (or uses `--url`), turns its chaos switch on, runs N
 * WebSocket clients for a bounded time (examples/chat/load.ts), then checks
 * that no acknowledged message was lost or duplicated and prints a summary:
 * acks/s, p50/p99 ack latency, kills, the server's memory after warm-up and
 * at the end (both after a GC). Exits non-zero on a lost, duplicated or
 * diverged message.
 *
 * `deno task chat:load [flags]`:
 * - `--server node|deno|bun` runtime of the server (default node: the
 *   examples are transpiled onto the built npm package first);
 * - `--url http://host:port` use a running server instead;
 * - `--clients 50`, `--rooms 10`, `--rooms-per-client 2`;
 * - `--duration 60` seconds of sending, `--max-messages 1000000`;
 * - `--chaos-ms 50` (0: no chaos);
 * - `--drop-every 200`: every 200th send, the client drops its socket
 *   before the ack and sends again after reconnecting (0: never);
 * - `--json` print the result as JSON too.
 *
 * @module
 */
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { runLoad } from "./chat/load.ts";
import type { ChatStats } from "./chat/server.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const runtime = flag("server", "node");
const clients = Number(flag("clients", "50"));
const rooms = Number(flag("rooms", "10"));
const roomsPerClient = Number(flag("rooms-per-client", "2"));
const durationMs = Number(flag("duration", "60")) * 1000;
const maxMessages = Number(flag("max-messages", "1000000"));
const chaosMs = Number(flag("chaos-ms", "50"));
const dropEvery = Number(flag("drop-every", "200"));
const root = new URL("../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname);

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: rootPath, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

/** Starts the server; resolves with its url once it prints it. */
async function startServer(): Promise<[string, ChildProcess]> {
  const deno = `${rootPath}node_modules/.bin/deno`;
  let cmd: string;
  let args: string[];
  const serverArgs = ["--port", "0", "--stdin-lifeline"];
  if (runtime === "node") {
    if (await run(deno, ["run", "-A", "scripts/build_examples.ts"]) !== 0) {
      throw new Error("cannot build the examples for Node");
    }
    cmd = "node";
    args = [
      "--expose-gc",
      "dist/node-examples/examples/chat_server.js",
      ...serverArgs,
    ];
  } else if (runtime === "deno") {
    cmd = deno;
    args = [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      "examples/chat_server.ts",
      ...serverArgs,
    ];
  } else if (runtime === "bun") {
    cmd = `${rootPath}node_modules/.bin/bun`;
    args = ["examples/chat_server.ts", ...serverArgs];
  } else {
    throw new RangeError(
      `--server must be node, deno or bun, got ${JSON.stringify(runtime)}`,
    );
  }
  const child = spawn(cmd, args, {
    cwd: rootPath,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
    lines.on("line", (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
  });
  return [url, child];
}

async function stats(url: string, gc = false): Promise<ChatStats> {
  const res = await fetch(`${url}/stats${gc ? "?gc=1" : ""}`);
  return await res.json() as ChatStats;
}

async function post(url: string, path: string): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: "POST" });
  await res.body?.cancel();
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

let child: ChildProcess | undefined;
let url = flag("url", "");
if (url === "") [url, child] = await startServer();
const before = await stats(url);
console.log(
  `server ${before.runtime} at ${url}; ${clients} clients, ${rooms} rooms x ${roomsPerClient} per client, ` +
    `${
      durationMs / 1000
    } s, chaos every ${chaosMs} ms, a client drops its socket every ${dropEvery} sends`,
);
await post(url, `/chaos?ms=${chaosMs}`);

let warm: ChatStats | undefined;
let loaded: ChatStats | undefined;
const warmAt = Math.min(10_000, durationMs / 4);
let sampling = Promise.resolve();
const result = await runLoad({
  url,
  clients,
  rooms,
  roomsPerClient,
  durationMs,
  maxMessages,
  dropEvery,
  progressMs: 5000,
  onProgress: (acked, elapsed) => {
    sampling = sampling.then(async () => {
      const s = await stats(url, warm === undefined && elapsed >= warmAt);
      if (s.gc) warm = s;
      console.log(
        `[${
          (elapsed / 1000).toFixed(0)
        }s] acked ${acked} | conns ${s.connectionProcesses} rooms ${s.roomProcesses} rows ${s.historyRows} | ` +
          `kills ${JSON.stringify(s.counters.kills)} | heap ${
            mb(s.memory.heapUsed)
          } rss ${mb(s.memory.rss)}${s.gc ? " (after GC)" : ""}`,
      );
    });
  },
  onSendingStopped: async () => {
    await post(url, "/chaos?ms=0");
    await sampling;
    loaded = await stats(url, true);
  },
}).catch((error) => {
  console.error(`load failed: ${error?.stack ?? error}`);
  return undefined;
});
const after = await stats(url, true).catch(() => undefined);
child?.stdin?.end();
child?.kill("SIGTERM");

if (result === undefined) process.exit(1);
const s = loaded ?? after!;
const k = s.counters.kills;
console.log(`
chat load on ${before.runtime} (server), clients ${result.clients}, rooms ${result.rooms}, sending ${
  (result.sendingMs / 1000).toFixed(1)
} s
  acknowledged   ${result.acked} (${result.ackedPerSecond}/s), send frames ${result.sendFrames}, retries ${result.retries}
  delivered      ${result.delivered} msg frames (+${result.redelivered} redelivered, dropped by seq)
  ack latency    p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms
  chaos          kills: ${k.conn} connections, ${k.room} rooms, ${k.store} store; client reconnects ${result.reconnects} (${result.drops} of them dropped by the client with a send in flight); room starts ${s.counters.roomStarts}
  idempotency    ${s.counters.duplicateSends} retried sends answered from the id index (not stored again)
  server memory  heap ${
  warm ? mb(warm.memory.heapUsed) : "-"
} after warm-up -> ${
  mb(s.memory.heapUsed)
} at the end (after GC: ${s.gc}); rss ${warm ? mb(warm.memory.rss) : "-"} -> ${
  mb(s.memory.rss)
}; history rows ${s.historyRows}${
  after
    ? `; after the clients left: heap ${
      mb(after.memory.heapUsed)
    }, ${after.connectionProcesses} connection processes`
    : ""
}
  check          lost ${result.lost}, duplicated ${result.duplicated}, diverged ${result.diverged}`);
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ result, warm, end: s, after }));
}
const ok = result.lost === 0 && result.duplicated === 0 &&
  result.diverged === 0;
console.log(ok ? "OK: no acknowledged message lost or duplicated" : "FAILED");
process.exit(ok ? 0 : 1);
