// The B+ tree behind ETS ordered_set on its own (the figures in _btree.ts's
// header). Prints ONE JSON object on stdout.
//
// Usage: <runtime> bench/btree_bench.mjs <_btree module url> <_term module url>
//   Deno and Bun: ../_btree.ts ../_term.ts; Node: the built package's
//   ../dist/npm/_btree.js ../dist/npm/_term.js. Wants the GC exposed (Node
//   --expose-gc, Deno --v8-flags=--expose-gc) for the memory figure.
//
// 1M number keys inserted in the scattered order (i * 618033 mod 1e6) + 1,
// each with a fresh [k, i] as value, comparator compareTerms
// (numbersInOrder); lookups in the same order; a firstKey/nextKey walk;
// deletes in that order from a full tree; range: one forRange over 1,000
// keys with an empty callback. Each figure is the best of 5 passes (deletes:
// of 3 trees); run it in a few fresh processes and take the best.

import { gc, heapUsed } from "./_measure.mjs";

const [btreeUrl, termUrl] = globalThis.Deno?.args ??
  globalThis.process.argv.slice(2);
const { BTree } = await import(btreeUrl);
const { compareTerms } = await import(termUrl);

const M = 1_000_000;
const STEP = 618033;

const tree = () => new BTree(compareTerms, undefined, true);

function fill(t) {
  let r = 0;
  for (let i = 0; i < M; i++) {
    t.set(r + 1, [r + 1, i]);
    r = (r + STEP) % M;
  }
  return t;
}

/** Best time of `f` over `n` runs, in ms. */
function best(f, n = 5) {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

const perOp = (ms) => Math.round(ms * 1e6 / M);

const insert = perOp(best(() => fill(tree())));
const t = fill(tree());
const lookup = perOp(best(() => {
  let r = 0;
  let hits = 0;
  for (let i = 0; i < M; i++) {
    if (t.get(r + 1) !== undefined) hits++;
    r = (r + STEP) % M;
  }
  if (hits !== M) throw new Error(`hits: ${hits}`);
}));
const walk = best(() => {
  let n = 0;
  for (let k = t.firstKey(); k !== undefined; k = t.nextKey(k)) n++;
  if (n !== M) throw new Error(`walked: ${n}`);
}) * 1e6 / M;
const range = best(() => {
  for (let j = 0; j < 1000; j++) {
    let n = 0;
    t.forRange(() => {
      n++;
    }, { lo: 500_000, hi: 500_999 });
    if (n !== 1000) throw new Error(`range: ${n}`);
  }
}); // 1,000 scans: ms = us per scan
let del = Infinity;
for (let p = 0; p < 3; p++) {
  const u = fill(tree());
  const start = performance.now();
  let r = 0;
  for (let i = 0; i < M; i++) {
    u.delete(r + 1);
    r = (r + STEP) % M;
  }
  del = Math.min(del, performance.now() - start);
  if (u.size !== 0) throw new Error(`left: ${u.size}`);
}

// Bytes an entry of the tree's own (values shared, so not counted).
gc();
const before = heapUsed();
const shared = [0, 0];
const kept = tree();
let r = 0;
for (let i = 0; i < M; i++) {
  kept.set(r + 1, shared);
  r = (r + STEP) % M;
}
gc();
const bytes = (heapUsed() - before) / M;
if (kept.size !== M) throw new Error("size");

console.log(JSON.stringify({
  insert_ns: insert,
  lookup_ns: lookup,
  walk_ns: Math.round(walk * 10) / 10,
  delete_ns: perOp(del),
  range_us: Math.round(range * 10) / 10,
  bytes_per_entry: Math.round(bytes * 10) / 10,
}));
