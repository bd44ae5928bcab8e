// How select, match and their friends walk a table: which part of it a
// compiled spec can touch (a plan), the walk itself, and results that never
// alias the table's own arrays.

import {
  ANY,
  boundPrefixLength,
  type CompiledSpec,
  isBound,
} from "./_match_spec.ts";
import type { Cursor, Rec, Store, Visit } from "./_ets_store.ts";
import { compareTerms, sameKey } from "./_term.ts";

/** How a select visits the table. */
export type Plan =
  /** Only these keys, in table order (fixed when planned: a continuation resumes by index). */
  | { kind: "keys"; keys: unknown[] }
  /** ordered_set keys: arrays of `length` starting with `prefix`. */
  | { kind: "prefix"; prefix: unknown[]; length: number }
  | { kind: "all" };

/**
 * Which part of the table a compiled spec can touch: the keys its clauses
 * bind, or (ordered_set) the key prefix they share, or everything.
 */
export function planFor(
  spec: CompiledSpec,
  store: Store,
  type: string,
  keyPos: number,
): Plan {
  const patterns = spec.keyPatterns(keyPos);
  if (patterns.length === 0) return { kind: "keys", keys: [] };
  const ordered = type === "ordered_set";
  if (patterns.every((p) => p !== ANY && isBound(p))) {
    const keys: unknown[] = [];
    for (const p of patterns) {
      const same = (k: unknown) =>
        ordered ? compareTerms(k, p) === 0 : sameKey(k, p);
      if (!keys.some(same)) keys.push(p);
    }
    return {
      kind: "keys",
      keys: keys.length === 1 ? keys : store.inOrder(keys),
    };
  }
  if (ordered) {
    const first = patterns[0];
    const n = boundPrefixLength(first);
    if (
      n > 0 &&
      patterns.every((p) =>
        Array.isArray(p) && p.length === (first as unknown[]).length &&
        boundPrefixLength(p) >= n &&
        sameKey(p.slice(0, n), (first as unknown[]).slice(0, n))
      )
    ) {
      return {
        kind: "prefix",
        prefix: (first as unknown[]).slice(0, n),
        length: (first as unknown[]).length,
      };
    }
  }
  return { kind: "all" };
}

/** Visits what `plan` covers, from `after` (a store cursor, or a key index). */
export function scan(
  store: Store,
  plan: Plan,
  reverse: boolean,
  after: Cursor,
  fn: Visit,
): void {
  if (plan.kind === "keys") {
    const keys = reverse ? [...plan.keys].reverse() : plan.keys;
    for (
      let i = after === undefined ? 0 : (after as number) + 1;
      i < keys.length;
      i++
    ) {
      const recs = store.get(keys[i]);
      if (recs !== undefined && fn(keys[i], recs, i) === false) return;
    }
  } else if (plan.kind === "prefix") {
    store.forPrefix(plan.prefix, plan.length, fn, reverse, after);
  } else {
    store.forEach(fn, reverse, after);
  }
}

/**
 * Runs a spec on a stored record for a result to hand out: the record
 * itself (frozen: see `out`), and a copy when the spec may put the record
 * inside a result it builds (a result built by the spec is the caller's to
 * change, records in it included).
 */
export function runCopying(
  store: Store,
  spec: CompiledSpec,
  r: Rec,
): unknown {
  if (spec.embedsRecord) return spec.run([...r]);
  const v = spec.run(r);
  return v === r ? store.handOut(r) : v;
}
