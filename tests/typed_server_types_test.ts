/**
 * Type-level tests of defineServer / typed call and cast (checked by
 * `deno check` as part of `deno test`, which type-checks test files): a
 * wrong request must be a compile error (`@ts-expect-error` fails the check
 * if the line compiles), and reply types are asserted by assignment. Also
 * runs, so every line here is real code.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  call,
  cast,
  defineServer,
  type ServerName,
  serverName,
  type ServerPid,
  start,
  startLink,
  stop,
} from "../gen_server.ts";
import type { Pid } from "../process.ts";

/** Compile-time equality: `Equal<A, B>` is `true` only if A and B match. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
function assertType<T extends true>(_ok?: T): void {}

const Counter = defineServer({
  init: (n: number) => ["ok", n],
  handleCall: {
    get: (_: void, n) => ["reply", n, n],
    add: (k: number, n) => ["reply", n + k, n + k],
    label: (_: void, n) => ["reply", `n=${n}`, n],
    pair: (p: { a: string; b: number }, n) => ["reply", [p.a, p.b + n], n],
    maybe: (_: void, n) =>
      n > 100 ? ["stop", "too_big", "bye", n] : ["reply", n > 0, n],
  },
  handleCast: {
    reset: (_: void, _n) => ["noreply", 0],
    set: (v: number, _n) => ["noreply", v],
  },
});

describe("defineServer types", () => {
  it("call() on a ServerPid infers the handler's reply type", async () => {
    const pid = await start(Counter, 1);
    assertType<
      Equal<
        typeof pid,
        ServerPid<typeof pid extends ServerPid<infer P> ? P : never>
      >
    >();
    const p: Pid = pid; // still a Pid
    assert.ok(p);
    const n = await call(pid, "get");
    assertType<Equal<typeof n, number>>();
    const m = await call(pid, ["add", 2]);
    assertType<Equal<typeof m, number>>();
    const label = await call(pid, "label");
    assertType<Equal<typeof label, string>>();
    // Plain object literal, no `as const`.
    const pair = await call(pid, ["pair", { a: "x", b: 1 }]);
    assert.deepEqual(pair, ["x", 4]);
    const maybe = await call(pid, "maybe");
    assertType<Equal<typeof maybe, "bye" | boolean>>();
    assert.equal(n, 1);
    assert.equal(m, 3);
    assert.equal(label, "n=3");
    // @ts-expect-error: no such request
    await call(pid, "nope").catch(() => {});
    // @ts-expect-error: add takes a number
    void (() => call(pid, ["add", "2"]));
    // @ts-expect-error: add needs its argument
    void (() => call(pid, "add"));
    // @ts-expect-error: get takes none
    void (() => call(pid, ["get", 1, 2]));
    cast(pid, "reset");
    cast(pid, ["set", 5]);
    // @ts-expect-error: no such cast
    void (() => cast(pid, "explode"));
    // @ts-expect-error: set takes a number
    void (() => cast(pid, ["set", "5"]));
    await stop(pid).catch(() => {});
  });

  it("names typed with serverName() check like pids", async () => {
    const name = serverName(Counter, "types_counter");
    assertType<
      Equal<
        typeof name,
        ServerName<typeof name extends ServerName<infer P> ? P : never>
      >
    >();
    const pid = await startLink(Counter, 7, { name });
    const n: number = await call(name, "get");
    assert.equal(n, 7);
    // @ts-expect-error: wrong request by name too
    void (() => call(name, ["add"]));
    await stop(name);
    assert.ok(pid);
  });

  it("untyped pids and names accept anything, as before", async () => {
    const pid = await start({
      init: () => ["ok", 0],
      handleCall: (_r, _f, s) => ["reply", s, s],
    }, undefined);
    const a = await call(pid, "whatever");
    assertType<Equal<typeof a, unknown>>();
    const b = await call<number>(pid, { any: "thing" });
    assertType<Equal<typeof b, number>>();
    const c = await call<number>("nobody_here", 1).catch(() => 0);
    cast(pid, Symbol("anything"));
    assert.equal(a, 0);
    assert.equal(c, 0);
    await stop(pid).catch(() => {});
  });
});
