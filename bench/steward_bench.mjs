// Steward's half of the side-by-side benchmarks: the workloads of
// ../shared/anchors/OTP_FIGURES.md, run on whichever runtime executes this
// file (Deno, Node or Bun). Prints ONE JSON object on stdout.
//
// Usage: <runtime> bench/steward_bench.mjs <module-url> [quick] [workload...]
//   <module-url>: the library entry (../mod.ts on Deno and Bun, the built
//   package's mod.js on Node, which cannot run TypeScript).
//
// Method: each rate is the median of 5 runs of about 1.2 s (1 run with
// `quick`), after a warm-up run. Memory figures are the growth of the JS heap
// after a full GC (the runtime is started with the GC exposed), divided by
// the number of processes.

const [moduleUrl, ...rest] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const quick = rest.includes("quick");
const only = rest.filter((a) => a !== "quick");
const { Process, GenServer } = await import(moduleUrl);

const RUNS = quick ? 1 : 5;
const RUN_MS = quick ? 300 : 1200;

import { median, settleHeap } from "./_measure.mjs";

/**
 * Runs `batch(n)` (which does n operations) repeatedly for about RUN_MS,
 * RUNS times after a warm-up; returns the median operations per second.
 */
async function rate(batch) {
  let n = 1000;
  // warm-up and calibration
  for (;;) {
    const t = performance.now();
    await batch(n);
    const dt = performance.now() - t;
    if (dt > 100) {
      n = Math.max(1000, Math.round(n * RUN_MS / dt));
      break;
    }
    n *= 4;
  }
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await batch(n);
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return Math.round(median(rates));
}

const { spawnMonitor, spawn, receive, send, exit, self } = Process;

const workloads = {
  // spawn a monitored process that exits normally; wait for its DOWN
  async spawn_down_per_s() {
    return await rate(async (n) => {
      for (let i = 0; i < n; i++) {
        const [, ref] = spawnMonitor(() => {});
        await receive((m) => m[1] === ref);
      }
    });
  },

  // two processes, send then receive (async bodies with receive())
  async pingpong_rt_per_s() {
    return await rate(async (n) => {
      const main = self();
      const pong = spawn(async () => {
        for (;;) {
          const [from, m] = await receive();
          if (m === "stop") return;
          send(from, "pong");
        }
      });
      const ping = spawn(async (me) => {
        for (let i = 0; i < n; i++) {
          send(pong, [me, "ping"]);
          await receive();
        }
        send(pong, [me, "stop"]);
        send(main, "done");
      });
      void ping;
      await receive((m) => m === "done");
    });
  },

  // the same exchange between two message-driven processes (gen_servers
  // answering plain messages in handleInfo: no suspended frame)
  async pingpong_handler_rt_per_s() {
    const behaviour = {
      init: (main) => ["ok", { main, left: 0 }],
      handleInfo(m, s) {
        if (m[0] === "go") {
          s.left = m[2];
          send(m[1], [self(), "ping"]);
        } else if (m[1] === "ping") {
          send(m[0], [self(), "pong"]);
        } else if (--s.left > 0) {
          send(m[0], [self(), "ping"]);
        } else {
          send(s.main, "done");
        }
        return ["noreply", s];
      },
    };
    const a = await GenServer.start(behaviour, self());
    const b = await GenServer.start(behaviour, self());
    const result = await rate(async (n) => {
      send(a, ["go", b, n]);
      await receive((m) => m === "done");
    });
    await GenServer.stop(a);
    await GenServer.stop(b);
    return result;
  },

  // a trivial server replying "pong", called in a loop from main
  async gen_server_call_per_s() {
    const pid = await GenServer.start({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["reply", "pong", s],
    }, undefined);
    const result = await rate(async (n) => {
      for (let i = 0; i < n; i++) await GenServer.call(pid, "ping");
    });
    await GenServer.stop(pid);
    return result;
  },

  // 100,000 processes blocked in receive
  async idle_process_bytes() {
    const N = 100_000;
    const before = await settleHeap();
    const pids = [];
    for (let i = 0; i < N; i++) pids.push(spawn(async () => await receive()));
    await new Promise((r) => setTimeout(r, 0));
    const after = await settleHeap();
    for (const pid of pids) exit(pid, "kill");
    pids.length = 0;
    return Math.round((after - before) / N);
  },

  // 100,000 idle gen_servers
  async idle_gen_server_bytes() {
    const N = 100_000;
    const behaviour = { init: () => ["ok", null] };
    const before = await settleHeap();
    const pids = await startMany(behaviour, N);
    const after = await settleHeap();
    for (const pid of pids) exit(pid, "kill");
    return Math.round((after - before) / N);
  },

  // 1,000,000 idle gen_servers in one process: heap and RSS
  async million_gen_servers() {
    const N = 1_000_000;
    const behaviour = { init: () => ["ok", null] };
    const before = await settleHeap();
    const t = performance.now();
    const pids = await startMany(behaviour, N);
    const startMs = performance.now() - t;
    const after = await settleHeap();
    const rss = globalThis.process.memoryUsage().rss;
    for (const pid of pids) exit(pid, "kill");
    return {
      count: N,
      heap_mb: Math.round((after - before) / 1e6),
      rss_mb: Math.round(rss / 1e6),
      bytes_each: Math.round((after - before) / N),
      start_s: Math.round(startMs) / 1000,
    };
  },
};

async function startMany(behaviour, n) {
  const pids = [];
  const BATCH = 1000;
  for (let i = 0; i < n; i += BATCH) {
    const batch = [];
    for (let j = 0; j < BATCH && i + j < n; j++) {
      batch.push(GenServer.start(behaviour, undefined));
    }
    pids.push(...await Promise.all(batch));
  }
  return pids;
}

const names = only.length > 0
  ? only
  : Object.keys(workloads).filter((k) => k !== "million_gen_servers");
const out = {};
for (const name of names) {
  if (!(name in workloads)) throw new Error(`unknown workload ${name}`);
  out[name] = await workloads[name]();
  console.error(`${name}: ${JSON.stringify(out[name])}`);
}
console.log(JSON.stringify(out));
