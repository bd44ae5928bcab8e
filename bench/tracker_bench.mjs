// Steward's half of the tracker benchmarks (the "Tracker" workload of
// ../shared/anchors/OTP_FIGURES.md); the Erlang half is
// bench/otp/steward_tracker_bench.erl, which does the same work with
// gen_tracker's find_or_open. Prints ONE JSON object on stdout.
//
// Usage: <runtime> bench/tracker_bench.mjs <module-url> [quick] [workload...]
//   <module-url>: the library entry (../mod.ts on Deno and Bun, the built
//   package's mod.js on Node).
//
// Each run: a fresh tracker with 10,000 children opened beforehand (ids
// ["stream", n], children trivial gen_servers started with startLink),
// outside the clock; then the timed loop; then the tracker is stopped,
// outside the clock. Ids are built per operation, as OTP builds its
// {<<"stream">>, N}. Figures are ns per operation: the median of 5 runs of
// about 1.2 s (1 with `quick`), after calibration runs that double as
// warm-up.
//
//   tracker_find_hit_ns           find() of an open id (scattered order)
//   tracker_find_or_open_hit_ns   await findOrOpen() of an open id
//   tracker_find_or_open_mixed_ns await findOrOpen(), every 10th a new id
//   tracker_open_ns               await findOrOpen() of a new id every time

const [moduleUrl, ...rest] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const quick = rest.includes("quick");
const only = rest.filter((a) => a !== "quick");
const { Tracker, GenServer } = await import(moduleUrl);

import { median } from "./_measure.mjs";

const RUNS = quick ? 1 : 5;
const TARGET_MS = quick ? 300 : 1200;
const OPEN = 10_000;
const STEP = 7919;
const NAME = "bench_tracker";

const child = { init: () => ["ok", null] };
const start = () => GenServer.startLink(child, undefined);

/** One run: set up, time `loop(n, next)`, tear down; returns ms. */
async function run(loop, n) {
  await Tracker.start(NAME);
  for (let i = 0; i < OPEN; i++) {
    await Tracker.findOrOpen(NAME, { id: ["stream", i], start });
  }
  const t0 = performance.now();
  await loop(n, OPEN);
  const ms = performance.now() - t0;
  await Tracker.stop(NAME);
  return ms;
}

/** Median ns per operation of `loop`, calibrated as the OTP side does. */
async function perOp(loop) {
  let n = 1000;
  for (;;) {
    const ms = await run(loop, n);
    if (ms >= 100) {
      n = Math.max(1, Math.round(n * TARGET_MS / ms));
      break;
    }
    n *= Math.min(10, Math.max(2, Math.floor(200 / Math.max(ms, 0.001))));
  }
  const times = [];
  for (let r = 0; r < RUNS; r++) times.push((await run(loop, n)) * 1e6 / n);
  console.error(
    `   N=${n} per run; ns/op: ${times.map((t) => t.toFixed(1)).join(" ")}`,
  );
  return Math.round(median(times) * 100) / 100;
}

const { find, findOrOpen } = Tracker;

const workloads = {
  tracker_find_hit_ns: () =>
    perOp((n) => {
      let hits = 0;
      for (let i = n; i > 0; i--) {
        if (find(NAME, ["stream", (i * STEP) % OPEN]) !== undefined) hits++;
      }
      if (hits !== n) throw new Error(`find: ${hits} hits of ${n}`);
    }),

  tracker_find_or_open_hit_ns: () =>
    perOp(async (n) => {
      for (let i = n; i > 0; i--) {
        await findOrOpen(NAME, { id: ["stream", (i * STEP) % OPEN], start });
      }
    }),

  tracker_find_or_open_mixed_ns: () =>
    perOp(async (n, next) => {
      for (let i = n; i > 0; i--) {
        const id = i % 10 === 0
          ? ["stream", next++]
          : ["stream", (i * STEP) % OPEN];
        await findOrOpen(NAME, { id, start });
      }
    }),

  tracker_open_ns: () =>
    perOp(async (n, next) => {
      for (let i = n; i > 0; i--) {
        await findOrOpen(NAME, { id: ["stream", next++], start });
      }
    }),
};

const names = only.length > 0 ? only : Object.keys(workloads);
const out = {};
for (const name of names) {
  if (!(name in workloads)) throw new Error(`unknown workload ${name}`);
  out[name] = await workloads[name]();
  console.error(`${name}: ${JSON.stringify(out[name])}`);
}
console.log(JSON.stringify(out));
