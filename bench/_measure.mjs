// Measurement helpers shared by the Steward benchmarks (steward_bench.mjs,
// ets_bench.mjs): a full GC, the JS heap in use, a settled heap reading,
// and the median.

/** A full garbage collection (the runtime must expose it). */
export function gc() {
  if (globalThis.Bun) globalThis.Bun.gc(true);
  else if (typeof globalThis.gc === "function") globalThis.gc();
  else throw new Error("run with the GC exposed (--expose-gc)");
}

/** Bytes of JS heap in use. */
export function heapUsed() {
  return globalThis.process.memoryUsage().heapUsed;
}

/** The heap in use after pending work and a few full GCs. */
export async function settleHeap() {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  return heapUsed();
}

/** The median of some numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
