// Steward's half of the director benchmarks (deno task bench director), run
// on whichever runtime executes this file. Prints ONE JSON object on stdout.
//
// Usage: <runtime> bench/director_bench.mjs <module-url> [quick] [workload...]
//   <module-url>: the library entry (mod.ts on Deno and Bun, the built
//   package's mod.js on Node).
//
// Workloads (the OTP side is the `director` group of otp/steward_bench.erl):
// - restart_latency_us: a director with one gen_server child, plan
//   ["restart"], count Infinity; the child is killed (exit(pid, "kill")) and
//   the time until the new child's init runs is measured, 10,000 kills back
//   to back; the median per run, then the median of the runs (µs). OTP's
//   figure is a plain one_for_one supervisor's, the same way. The driver is
//   a gen_server (message-driven, as the director), so no `await` sits on
//   the measured path.
// - get_pid_ns: director.getPid(pid, id) on a director with 100 children, in
//   a loop (ns per call). OTP's figure is the ets:lookup of a child's row in
//   a 100-row table (director 18's lock-free get_pid reads its table so).

const [moduleUrl, ...rest] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const quick = rest.includes("quick");
const only = rest.filter((a) => a !== "quick");
const { Director, GenServer, Process } = await import(moduleUrl);

import { median } from "./_measure.mjs";

const RUNS = quick ? 1 : 5;
const KILLS = quick ? 2000 : 10_000;
const RUN_MS = quick ? 300 : 1200;

/** One run: KILLS kills of a director's child; the median latency in µs. */
async function restartLatencyRun() {
  const lat = new Float64Array(KILLS);
  let done;
  const finished = new Promise((r) => done = r);
  // The driver: kills the child, and is told by each new child's init.
  const driver = await GenServer.start({
    init: () => ["ok", { n: -1, t0: 0 }],
    handleInfo: (m, s) => {
      // m = ["started", pid, t1]
      if (s.n >= 0) lat[s.n] = (m[2] - s.t0) * 1000;
      if (++s.n === KILLS) {
        done();
        return ["noreply", s];
      }
      s.t0 = performance.now();
      Process.exit(m[1], "kill");
      return ["noreply", s];
    },
  }, undefined);
  const child = {
    init: () => {
      Process.send(driver, ["started", Process.self(), performance.now()]);
      return ["ok", null];
    },
  };
  const d = await Director.start({
    children: [{
      id: "c",
      start: () => GenServer.startLink(child, undefined),
      plan: ["restart"],
      count: Infinity,
    }],
  });
  await finished;
  await Director.stop(d);
  await GenServer.stop(driver);
  return median(Array.from(lat));
}

/** ops/s of batch(n), as steward_bench.mjs's rate(). */
function rate(batch) {
  let n = 1000;
  for (;;) {
    const t = performance.now();
    batch(n);
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
    batch(n);
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

const workloads = {
  async restart_latency_us() {
    await restartLatencyRun(); // warm-up
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await restartLatencyRun());
    console.error(`restart_latency_us runs: ${runs.map((x) => x.toFixed(2))}`);
    return median(runs);
  },

  async get_pid_ns() {
    const idle = () => Process.spawnLink(() => new Promise(() => {}));
    const children = [];
    for (let i = 0; i < 100; i++) {
      children.push({ id: `child${i}`, start: idle });
    }
    const d = await Director.start({ children });
    const getPid = Director.getPid;
    let sink = 0;
    const ops = rate((n) => {
      for (let i = 0; i < n; i++) {
        if (getPid(d, "child42") !== undefined) sink++;
      }
    });
    await Director.stop(d);
    if (sink === 0) throw new Error("unreachable");
    return 1e9 / ops;
  },
};

const out = {};
for (const [name, fn] of Object.entries(workloads)) {
  if (only.length > 0 && !only.includes(name)) continue;
  out[name] = await fn();
}
console.log(JSON.stringify(out));
