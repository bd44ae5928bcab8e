/**
 * An early demo: three counter servers that crash now and then, kept
 * alive by a small hand-written keeper (the supervisor module will replace it)
 * that traps exits and restarts whoever dies, with a restart limit. A client
 * pokes them; every crash, restart and failed call is printed.
 *
 * Run: `node_modules/.bin/deno run -A examples/demo.ts`. Ends by itself
 * after ~3 s. (The README's demo is examples/streams.ts.)
 *
 * @module
 */
import { call, cast, type GenServer, startLink, stop } from "../gen_server.ts";
import {
  type Pid,
  receive,
  self,
  send,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import { CallError, TimeoutError } from "../errors.ts";

const RUN_MS = Number(globalThis.process?.env?.DEMO_MS ?? 3000);
const WORKERS = ["counter-a", "counter-b", "counter-c"];
const started = performance.now();
const t = () => `${((performance.now() - started) / 1000).toFixed(2)}s`;
const log = (line: string) => console.log(`[${t()}] ${line}`);

/** A counter that may crash when a tick lands on a multiple of 10. */
const counter: GenServer<number, string> = {
  init: (name) => {
    log(`${name} started as ${self()}`);
    return ["ok", 0];
  },
  handleCast: (msg, n) => {
    if (msg !== "tick") return ["noreply", n];
    if ((n + 1) % 10 === 0 && Math.random() < 0.5) {
      throw new Error(`tick ${n + 1} is unlucky`);
    }
    return ["noreply", n + 1];
  },
  handleCall: (req, _from, n) =>
    req === "get" ? ["reply", n, n] : ["reply", "unknown", n],
};

/**
 * The keeper: starts the workers linked to itself, traps exits, and restarts
 * a worker that dies, unless more than 10 restarts happen within a second.
 */
async function keeper(): Promise<void> {
  trapExit(true);
  const byPid = new Map<Pid, string>();
  const restarts: number[] = [];
  const startOne = async (name: string) => {
    byPid.set(await startLink(counter, name, { name }), name);
  };
  for (const name of WORKERS) await startOne(name);
  send(main, "keeper ready");
  for (;;) {
    const msg = await receive() as [string, Pid, unknown];
    if (msg[0] === "EXIT" && byPid.has(msg[1])) {
      const name = byPid.get(msg[1])!;
      byPid.delete(msg[1]);
      if (msg[2] === "shutdown") continue;
      const reason = msg[2] instanceof Error ? msg[2].message : msg[2];
      log(`${name} ${msg[1]} crashed: ${reason}`);
      const now = performance.now();
      restarts.push(now);
      while (restarts[0] < now - 1000) restarts.shift();
      if (restarts.length > 10) {
        log("keeper: too many restarts, giving up");
        throw new Error("restart intensity reached");
      }
      await startOne(name);
    } else if (msg[0] === "stop") {
      for (const pid of byPid.keys()) await stop(pid, "shutdown");
      return;
    }
  }
}

const main = self();
const keeperPid = spawnLink(keeper);
await receive((m) => m === "keeper ready");

let failedCalls = 0;
let ticks = 0;
const deadline = performance.now() + RUN_MS;
let nextReport = performance.now() + 500;
while (performance.now() < deadline) {
  const name = WORKERS[Math.floor(Math.random() * WORKERS.length)];
  cast(name, "tick");
  ticks++;
  if (performance.now() >= nextReport) {
    nextReport += 500;
    const counts = [];
    for (const w of WORKERS) {
      try {
        counts.push(`${w}=${await call(w, "get", { timeout: 100 })}`);
      } catch (e) {
        failedCalls++;
        counts.push(`${w}=${e instanceof CallError ? e.reason : e}`);
      }
    }
    log(`counts: ${counts.join(" ")}`);
  }
  // pace the client: ~200 ticks a second
  await receive((m) => m === "never", { timeout: 5 }).catch((e) => {
    if (!(e instanceof TimeoutError)) throw e;
  });
}

send(keeperPid, ["stop"]);
const [, , reason] = await receive((m) =>
  Array.isArray(m) && m[0] === "EXIT" && m[1] === keeperPid
) as unknown[];
log(
  `done: ${ticks} ticks sent, ${failedCalls} calls failed, keeper exited ${
    String(reason)
  }, workers left: ${WORKERS.filter((w) => whereis(w)).length}`,
);
