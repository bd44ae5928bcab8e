/**
 * Type-level tests of defineServer / typed call and cast (checked by
 * `deno check` as part of `deno test`, which type-checks test files): a
 * wrong request must be a compile error (`@ts-expect-error` fails the check
 * if the line compiles), and reply types are asserted by assignment. Also
 * runs, so every line here is real code.
 */
import { describe, test as it } from "./_harness.ts";
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
import { isAlive, monitor, type Pid, receive, send } from "../process.ts";
import { CallError } from "../errors.ts";

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

describe("defineServer() at run time", () => {
  it("dispatches tags and [tag, arg] pairs to their handlers", async () => {
    const pid = await start(Counter, 10);
    assert.equal(await call(pid, ["add", 5]), 15);
    cast(pid, ["set", 3]);
    assert.equal(await call(pid, "get"), 3);
    cast(pid, "reset");
    assert.equal(await call(pid, "label"), "n=0");
    await stop(pid);
  });

  it("a ['continue', arg] action type-checks without as const in init, handlers and handleContinue", async () => {
    const seen: unknown[] = [];
    const Cont = defineServer({
      init: (n: number) => ["ok", n, ["continue", "init"]],
      handleCall: {
        bump: (_: void, n) => ["reply", n, n + 1, ["continue", "bump"]],
      },
      handleCast: {
        poke: (_: void, n) => ["noreply", n, ["continue", "poke"]],
      },
      handleContinue: (arg, n) => {
        seen.push(arg);
        return ["noreply", n];
      },
    });
    const pid = await start(Cont, 1);
    const r = await call(pid, "bump");
    assertType<Equal<typeof r, number>>();
    assert.equal(r, 1);
    cast(pid, "poke");
    assert.equal(await call(pid, "bump"), 2);
    assert.deepEqual(seen, ["init", "bump", "poke", "bump"]);
    await stop(pid);
  });

  it("an untyped call with an unknown tag stops the server with ['bad_request', m]", async () => {
    const pid = await start(Counter, 0);
    const untyped: Pid = pid;
    await assert.rejects(call(untyped, "toString"), (e: unknown) => {
      assert.ok(e instanceof CallError);
      assert.deepEqual(e.reason, ["bad_request", "toString"]);
      return true;
    });
    assert.equal(isAlive(pid), false);
  });

  it("an unknown cast stops the server with ['bad_request', m]", async () => {
    const pid = await start(Counter, 0);
    const ref = monitor(pid);
    cast(pid as Pid, ["explode", 1]);
    const down = await receive((m) =>
      Array.isArray(m) && m[0] === "DOWN" && m[1] === ref
    ) as unknown[];
    assert.deepEqual(down[4], ["bad_request", ["explode", 1]]);
  });

  it("refuses unknown keys and malformed handler maps with TypeError", () => {
    assert.throws(
      () => defineServer({ init: () => ["ok", 0], handleCal: {} } as never),
      { name: "TypeError", message: /unknown key "handleCal"/ },
    );
    assert.throws(
      () => defineServer({ init: () => ["ok", 0], handleCall: 3 } as never),
      { name: "TypeError", message: /'handleCall' must be an object/ },
    );
    assert.throws(
      () =>
        defineServer({
          init: () => ["ok", 0],
          handleCast: { x: "nope" },
        } as never),
      { name: "TypeError", message: /'handleCast.x' must be a function/ },
    );
    assert.throws(() => defineServer(null as never), TypeError);
    assert.throws(() => serverName(Counter, 5 as never), TypeError);
  });

  it("keeps handleInfo and terminate", async () => {
    const seen: unknown[] = [];
    const S = defineServer({
      init: () => ["ok", 0],
      handleCall: { n: (_: void, s) => ["reply", s, s] },
      handleInfo: (m, s) => {
        seen.push(m);
        return ["noreply", s + 1];
      },
      terminate: (reason) => {
        seen.push(reason);
      },
    });
    const pid = await start(S, undefined);
    send(pid, "hello");
    const n: number = await call(pid, "n");
    assert.equal(n, 1);
    await stop(pid, "shutdown");
    assert.deepEqual(seen, ["hello", "shutdown"]);
  });
});
