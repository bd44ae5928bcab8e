// Steward's half of the supervisor benchmarks: the "Supervisors" and
// "Restart latency" workloads of ../shared/anchors/OTP_FIGURES.md, run on
// whichever runtime executes this file (Deno, Node or Bun). Prints ONE JSON
// object on stdout; progress on stderr.
//
// Usage: <runtime> bench/supervisor_bench.mjs <module-url> [quick] [workload...]
//   <module-url>: the library entry (../mod.ts on Deno and Bun, the built
//   package's mod.js on Node, which cannot run TypeScript).
//
// Workloads (bench/otp/steward_bench.erl does the same on OTP):
// - sup_sofo / sup_ofo: a supervisor (simple_one_for_one / one_for_one,
//   intensity 1,000,000 per 1 s) gets 100,000 trivial gen_server children
//   (init returns ["ok", null]; permanent, shutdown 5000), started one after
//   another with startChild (each awaited: it resolves once the child's init
//   has run). Then the supervisor is stopped with all of them
//   (Supervisor.stop, which resolves once it is dead). Reported: children/s
//   of the start loop (sup_*_start_per_s) and the shutdown's ms
//   (sup_*_shutdown_ms).
// - sup_restart: one permanent child under a one_for_one supervisor (same
//   flags); the driver reads the clock, kills the child (exit(pid, "kill"))
//   and waits for the new child's init, which reads the clock and sends
//   ["started", self(), t] to the driver; 10,000 kills back to back.
//   Reported: the median latency in µs of a run's 10,000 kills
//   (sup_restart_latency_us) and their mean (sup_restart_mean_us).
//
// Logging: the library's default logger is on, as in a program: each kill
// is a child_terminated report, written to stderr (at most 500 a second,
// the rest dropped before they are built; logger.ts). stdout stays the
// JSON line. (bench/otp/steward_bench.erl turns OTP's logger off for
// sup_restart.)
//
// Method: every figure is the median of 5 runs (1 with `quick`), each run
// with a fresh supervisor, after one warm-up run (which OTP, whose code is
// compiled ahead of time, does not need). A pause for the GC separates runs.

const [moduleUrl, ...rest] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const quick = rest.includes("quick");
const only = rest.filter((a) => a !== "quick");
const { Process, GenServer, Supervisor } = await import(moduleUrl);

import { median } from "./_measure.mjs";

const RUNS = quick ? 1 : 5;
const CHILDREN = 100_000;
const KILLS = 10_000;
const FLAGS = { intensity: 1_000_000, period: 1 };

const { exit, receive, self, send } = Process;

function check(what, got, want) {
  if (got !== want) throw new Error(`${what}: got ${got}, expected ${want}`);
}

const pause = () => new Promise((r) => setTimeout(r, 10));

/** The trivial gen_server child. */
const trivial = { init: () => ["ok", null] };

/** A child spec of the trivial gen_server (one_for_one: with id `id`). */
const childSpec = (id) => ({
  id,
  start: () => GenServer.startLink(trivial, undefined),
  restart: "permanent",
  shutdown: 5000,
  type: "worker",
});

/**
 * One run: start a supervisor, startChild x100k (timed), stop it (timed).
 * Returns [children/s, shutdown ms].
 */
async function startStop(strategy, children, argOf) {
  const sup = await Supervisor.start({ strategy, ...FLAGS, children });
  const t0 = performance.now();
  for (let i = 0; i < CHILDREN; i++) {
    await Supervisor.startChild(sup, argOf(i));
  }
  const t1 = performance.now();
  check("children", (await Supervisor.countChildren(sup)).active, CHILDREN);
  const t2 = performance.now();
  await Supervisor.stop(sup);
  const t3 = performance.now();
  check("alive", Process.isAlive(sup), false);
  return [CHILDREN / ((t1 - t0) / 1000), t3 - t2];
}

async function startStopRuns(tag, strategy, children, argOf) {
  await startStop(strategy, children, argOf); // warm-up
  const rates = [];
  const stops = [];
  for (let r = 0; r < RUNS; r++) {
    await pause();
    const [rate, ms] = await startStop(strategy, children, argOf);
    rates.push(rate);
    stops.push(ms);
  }
  console.error(
    `${tag}: children/s ${rates.map(Math.round).join(" ")}; shutdown ms ${
      stops.map(Math.round).join(" ")
    }`,
  );
  return {
    [`sup_${tag}_start_per_s`]: Math.round(median(rates)),
    [`sup_${tag}_shutdown_ms`]: Math.round(median(stops)),
  };
}

/** One run of 10,000 kills; returns [median µs, mean µs]. */
async function restartRun() {
  const driver = self();
  const probe = {
    init: (to) => {
      send(to, ["started", self(), performance.now()]);
      return ["ok", null];
    },
  };
  const sup = await Supervisor.start({
    strategy: "one_for_one",
    ...FLAGS,
    children: [{
      id: "probe",
      start: () => GenServer.startLink(probe, driver),
      restart: "permanent",
      shutdown: 5000,
    }],
  });
  let pid = (await receive((m) => m[0] === "started"))[1];
  const lats = new Float64Array(KILLS);
  for (let i = 0; i < KILLS; i++) {
    const t0 = performance.now();
    exit(pid, "kill");
    const m = await receive();
    pid = m[1];
    lats[i] = (m[2] - t0) * 1000;
  }
  await Supervisor.stop(sup);
  let sum = 0;
  for (const x of lats) sum += x;
  return [median(lats), sum / KILLS];
}

const round2 = (x) => Math.round(x * 100) / 100;

const workloads = {
  sup_sofo: () =>
    startStopRuns(
      "sofo",
      "simple_one_for_one",
      [childSpec("child")],
      () => [],
    ),

  sup_ofo: () => startStopRuns("ofo", "one_for_one", [], (i) => childSpec(i)),

  async sup_restart() {
    await restartRun(); // warm-up
    const medians = [];
    const means = [];
    for (let r = 0; r < RUNS; r++) {
      await pause();
      const [med, mean] = await restartRun();
      medians.push(med);
      means.push(mean);
    }
    console.error(
      `restart: median µs ${medians.map(round2).join(" ")}; mean µs ${
        means.map(round2).join(" ")
      }`,
    );
    return {
      sup_restart_latency_us: round2(median(medians)),
      sup_restart_mean_us: round2(median(means)),
    };
  },
};

const names = only.length > 0 ? only : Object.keys(workloads);
const out = {};
for (const name of names) {
  if (!(name in workloads)) throw new Error(`unknown workload ${name}`);
  Object.assign(out, await workloads[name]());
}
console.log(JSON.stringify(out));
