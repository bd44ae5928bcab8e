// Steward's half of the ETS table benchmarks: the "Tables" and
// "ordered_set" workloads of ../shared/anchors/OTP_FIGURES.md, run on
// whichever runtime executes this file (Deno, Node or Bun), plus plain-JS
// references (raw_*). Prints ONE JSON object on stdout; progress on stderr.
//
// Usage: <runtime> bench/ets_bench.mjs <ets-module-url> [quick] [workload...]
//   <ets-module-url>: ../ets.ts on Deno and Bun, the built package's ets.js
//   (../dist/npm/ets.js) on Node, which cannot run TypeScript.
//   Node wants --expose-gc --max-old-space-size=4096; Deno
//   --v8-flags=--expose-gc,--max-old-space-size=4096.
//
// Workloads (bench/otp/steward_bench.erl does the same on OTP):
// - Tables of 1,000,000 rows [K, I] (K = I + 1, I = 0..999,999), keys
//   inserted in order into a fresh public set; lookups, updates and deletes
//   visit every key once per pass in the scattered order
//   k_i = (i * 618033 mod 10^6) + 1 (computed incrementally, so the key
//   costs an add and an int32 modulo); a miss looks up k_i + 10^6.
// - Tuple keys: ["stream", n], built per operation.
// - ordered_set: keys inserted in the scattered order; lookup; a first/next
//   walk; select by a range in guards and by a bound key prefix.
//
// Method: a "pass" is one sweep over the keys (or one select call). Warm-up
// passes (one at least, and >= 100 ms) also calibrate how many passes make a
// run of about 1.2 s (0.3 s with `quick`). Each figure is the median of 5
// runs (1 with `quick`). Work that changes the table (insert, delete) gets a
// fresh table before every pass, outside the clock; only the operations are
// timed. Memory is the growth of the JS heap after a full GC, per row,
// measured once (it barely varies; run it in a fresh process).

const [moduleUrl, ...rest] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const quick = rest.includes("quick");
const only = rest.filter((a) => a !== "quick");
const ets = await import(moduleUrl);

const RUNS = quick ? 1 : 5;
const RUN_MS = quick ? 300 : 1200;
const M = 1_000_000;
const STEP = 618033;

import { median, settleHeap } from "./_measure.mjs";

function check(what, got, want) {
  if (got !== want) throw new Error(`${what}: got ${got}, expected ${want}`);
}

let tableNo = 0;
const table = (type) =>
  ets.create(`bench${++tableNo}`, { type, access: "public" });

/**
 * Times `pass()` (`ops` operations each); returns the median time per
 * operation in nanoseconds. `setup()` runs before every pass and
 * `teardown()` after it, both outside the clock; without them the passes of
 * a run are timed together.
 */
async function perOp(ops, pass, setup, teardown) {
  const fresh = setup !== undefined;
  const one = () => {
    if (fresh) setup();
    const t = performance.now();
    pass();
    const dt = performance.now() - t;
    if (teardown) teardown();
    return dt;
  };
  // warm-up and calibration
  let spent = 0;
  let done = 0;
  while (done < 1 || spent < 100) {
    spent += one();
    done++;
  }
  const passes = Math.max(1, Math.round(RUN_MS / (spent / done)));
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    let ms = 0;
    if (fresh) {
      for (let p = 0; p < passes; p++) ms += one();
    } else {
      const t = performance.now();
      for (let p = 0; p < passes; p++) pass();
      ms = performance.now() - t;
    }
    times.push(ms * 1e6 / (passes * ops));
    // a pause for the GC between runs, as the OTP side's fresh process
    await new Promise((r) => setTimeout(r, 0));
  }
  return median(times);
}

const round2 = (x) => Math.round(x * 100) / 100;

/** A record as a table keeps it: frozen, except on Bun (frozen when read). */
const asStored = globalThis.Bun === undefined ? Object.freeze : (r) => r;

/**
 * Heap growth per row of what `build()` makes (1M rows), after a full GC.
 * Measured once, at the start of a fresh process: the figure barely varies
 * between runs, and a second measurement in the same process can be off
 * (Bun's conservative stack scan may keep the first structure alive).
 */
async function bytesPerRow(build) {
  const before = await settleHeap();
  const kept = build();
  const after = await settleHeap();
  if (kept === undefined) throw new Error("nothing built");
  return Math.round((after - before) / M);
}

// ------------------------------------------------------------- builders --

/** A public set (or ordered_set) of [K, I], K = 1..n, in key order. */
function intTable(type = "set", n = M) {
  const t = table(type);
  for (let i = 0; i < n; i++) t.insert([i + 1, i]);
  return t;
}

/** An ordered_set of [K, I] with keys inserted in the scattered order. */
function scatteredOset() {
  const t = table("ordered_set");
  insertScattered(t);
  return t;
}

function insertScattered(t) {
  let r = 0;
  for (let i = 0; i < M; i++) {
    t.insert([r + 1, i]);
    r = (r + STEP) % M;
  }
}

/** A set of [["stream", n], n], n = 1..1M. */
function tupleTable() {
  const t = table("set");
  for (let i = 0; i < M; i++) t.insert([["stream", i + 1], i]);
  return t;
}

/** One lookup of every key of 1..mod in the scattered order; returns hits. */
function lookupPass(t, mod, offset) {
  const step = STEP % mod;
  let r = 0;
  let hits = 0;
  for (let i = 0; i < mod; i++) {
    hits += t.lookup(r + 1 + offset).length;
    r = (r + step) % mod;
  }
  return hits;
}

// ------------------------------------------------------------ workloads --

const workloads = {
  // keys 1..1M inserted in order into a fresh public set
  async set_int_insert_1m() {
    let t;
    return await perOp(
      M,
      () => {
        for (let i = 0; i < M; i++) t.insert([i + 1, i]);
      },
      () => (t = table("set")),
      () => {
        check("size", t.info().size, M);
        t.destroy();
      },
    );
  },

  async set_int_lookup_hit_1m() {
    const t = intTable();
    return await perOp(M, () => check("hits", lookupPass(t, M, 0), M));
  },

  async set_int_lookup_miss_1m() {
    const t = intTable();
    return await perOp(M, () => check("hits", lookupPass(t, M, M), 0));
  },

  async set_int_lookup_hit_10k() {
    const t = intTable("set", 10_000);
    return await perOp(
      10_000,
      () => check("hits", lookupPass(t, 10_000, 0), 10_000),
    );
  },

  // updateCounter(k, [1, 1]): +1 on the element after the key
  async set_int_update_counter_1m() {
    const t = intTable();
    return await perOp(M, () => {
      let r = 0;
      let sum = 0;
      for (let i = 0; i < M; i++) {
        sum += t.updateCounter(r + 1, [1, 1]);
        r = (r + STEP) % M;
      }
      if (sum === 0) throw new Error("no updates");
    });
  },

  async set_int_delete_1m() {
    let t;
    return await perOp(
      M,
      () => {
        let r = 0;
        for (let i = 0; i < M; i++) {
          t.delete(r + 1);
          r = (r + STEP) % M;
        }
      },
      () => (t = intTable()),
      () => {
        check("size after delete", t.info().size, 0);
        t.destroy();
      },
    );
  },

  async set_tuple_lookup_hit_1m() {
    const t = tupleTable();
    return await perOp(M, () => {
      let r = 0;
      let hits = 0;
      for (let i = 0; i < M; i++) {
        hits += t.lookup(["stream", r + 1]).length;
        r = (r + STEP) % M;
      }
      check("hits", hits, M);
    });
  },

  async set_tuple_insert_1m() {
    let t;
    return await perOp(
      M,
      () => {
        for (let i = 0; i < M; i++) t.insert([["stream", i + 1], i]);
      },
      () => (t = table("set")),
      () => {
        check("size", t.info().size, M);
        t.destroy();
      },
    );
  },

  async oset_insert_1m() {
    let t;
    return await perOp(M, () => insertScattered(t), () => {
      t = table("ordered_set");
    }, () => {
      check("size", t.info().size, M);
      t.destroy();
    });
  },

  async oset_lookup_hit_1m() {
    const t = scatteredOset();
    return await perOp(M, () => check("hits", lookupPass(t, M, 0), M));
  },

  // ns per first/next step
  async oset_walk_step() {
    const t = scatteredOset();
    return await perOp(M, () => {
      let n = 0;
      for (let k = t.first(); k !== undefined; k = t.next(k)) n++;
      check("walked", n, M);
    });
  },

  // ms per call: 1,000 of 1M rows by a range in guards
  async oset_select_range_guard_ms() {
    const t = scatteredOset();
    const spec = [[["$1", "_"], [{ ">=": ["$1", 500000] }, {
      "<": ["$1", 501000],
    }], ["$_"]]];
    return await perOp(1, () => check("rows", t.select(spec).length, 1000)) /
      1e6;
  },

  // µs per call: 1,000 rows by a bound key prefix
  async oset_select_prefix_us() {
    const t = table("ordered_set");
    for (let i = 0; i < M; i++) t.insert([[Math.floor(i / 1000), i], i]);
    const spec = [[[[500, "_"], "_"], [], ["$_"]]];
    return await perOp(1, () => check("rows", t.select(spec).length, 1000)) /
      1e3;
  },

  // bytes per [int, int] row in a set of 1M
  async set_int_memory_bytes() {
    return await bytesPerRow(() => {
      const t = intTable();
      check("size", t.info().size, M);
      return t;
    });
  },

  // ---- plain JS references: a Map of keys 1..1M to [K, I]

  async raw_map_get_1m() {
    const m = new Map();
    for (let i = 0; i < M; i++) m.set(i + 1, [i + 1, i]);
    return await perOp(M, () => {
      let r = 0;
      let hits = 0;
      for (let i = 0; i < M; i++) {
        if (m.get(r + 1) !== undefined) hits++;
        r = (r + STEP) % M;
      }
      check("hits", hits, M);
    });
  },

  // The floors under Steward's writes: what a plain Map costs for the same
  // work when it keeps private copies of the records, as Steward's tables
  // do (a caller's array stays the caller's), frozen where Steward freezes
  // them when stored (not on Bun: see FREEZE_ON_READ in _ets_store.ts).

  async raw_map_insert_copy_1m() {
    let m;
    return await perOp(
      M,
      () => {
        for (let i = 0; i < M; i++) {
          const rec = [i + 1, i];
          m.set(rec[0], asStored([rec[0], rec[1]]));
        }
      },
      () => (m = new Map()),
      () => check("size", m.size, M),
    );
  },

  async raw_map_update_copy_1m() {
    const m = new Map();
    for (let i = 0; i < M; i++) m.set(i + 1, Object.freeze([i + 1, i]));
    return await perOp(M, () => {
      let r = 0;
      for (let i = 0; i < M; i++) {
        const k = r + 1;
        const old = m.get(k);
        m.set(k, asStored([old[0], old[1] + 1]));
        r = (r + STEP) % M;
      }
    });
  },

  async raw_map_update_in_place_1m() {
    const m = new Map();
    for (let i = 0; i < M; i++) m.set(i + 1, [i + 1, i]);
    return await perOp(M, () => {
      let r = 0;
      for (let i = 0; i < M; i++) {
        m.get(r + 1)[1]++;
        r = (r + STEP) % M;
      }
    });
  },

  async raw_map_delete_1m() {
    let m;
    return await perOp(
      M,
      () => {
        let r = 0;
        for (let i = 0; i < M; i++) {
          m.delete(r + 1);
          r = (r + STEP) % M;
        }
      },
      () => {
        m = new Map();
        for (let i = 0; i < M; i++) m.set(i + 1, Object.freeze([i + 1, i]));
      },
      () => check("size after delete", m.size, 0),
    );
  },

  // tuple keys: a Map of Maps, the key ["stream", n] built per operation
  async raw_map_of_maps_get_1m() {
    const m = new Map([["stream", new Map()]]);
    for (let i = 0; i < M; i++) {
      m.get("stream").set(i + 1, Object.freeze([["stream", i + 1], i]));
    }
    return await perOp(M, () => {
      let r = 0;
      let hits = 0;
      for (let i = 0; i < M; i++) {
        const key = ["stream", r + 1];
        if (m.get(key[0])?.get(key[1]) !== undefined) hits++;
        r = (r + STEP) % M;
      }
      check("hits", hits, M);
    });
  },

  async raw_map_memory_bytes() {
    return await bytesPerRow(() => {
      const m = new Map();
      for (let i = 0; i < M; i++) m.set(i + 1, [i + 1, i]);
      return m;
    });
  },
};

const names = only.length > 0 ? only : Object.keys(workloads);
const out = {};
for (const name of names) {
  if (!(name in workloads)) throw new Error(`unknown workload ${name}`);
  const t = performance.now();
  out[name] = round2(await workloads[name]());
  for (const t of ets.all()) t.destroy(); // for the next workload
  console.error(
    `${name}: ${out[name]} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
}
console.log(JSON.stringify(out));
