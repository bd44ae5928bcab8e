// errors.ts: every class a caller catches has a string `code` (issue 12),
// set on the errors the library really throws.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  AlreadyRegisteredError,
  ApplicationError,
  ChildRequestError,
  ChildSpecError,
  EtsError,
  ExitError,
  NoProcError,
  NotRegisteredError,
  SupervisorError,
  TimeoutError,
} from "../errors.ts";
import { create } from "../ets.ts";
import {
  exit,
  link,
  receive,
  register,
  self,
  send,
  spawn,
  unregister,
} from "../process.ts";
import { checkChildspecs } from "../supervisor.ts";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as genServer from "../gen_server.ts";
import * as task from "../task.ts";
import { spawnLink, trapExit } from "../process.ts";
import { CallTimeoutError, StartTimeoutError } from "../errors.ts";
import { assertNoMessages, flush, settle, withClock } from "./_helpers.ts";

describe("errors: a string code on every class callers catch", () => {
  test("thrown by the library, each error carries its code", async () => {
    // NotRegisteredError
    assert.throws(
      () => send("errors_test_nobody", 1),
      (e) => e instanceof NotRegisteredError && e.code === "not_registered",
    );
    // AlreadyRegisteredError
    register("errors_test_name", self());
    try {
      assert.throws(
        () => register("errors_test_name", self()),
        (e) =>
          e instanceof AlreadyRegisteredError &&
          e.code === "already_registered",
      );
    } finally {
      unregister("errors_test_name");
    }
    // EtsError: code says why; cause keeps ES2022's meaning (the
    // underlying error: none for the table's own failures)
    const t = create("errors_test_table");
    t.destroy();
    assert.throws(
      () => t.lookup(1),
      (e) =>
        e instanceof EtsError && e.code === "not_found" &&
        e.cause === undefined && !Object.hasOwn(e, "cause"),
    );
    const inner = new Error("disk");
    const wrapped = new EtsError("insert", "t", "bad_value", "no", {
      cause: inner,
    });
    assert.equal(wrapped.cause, inner);
    assert.equal(wrapped.code, "bad_value");
    // TimeoutError
    await assert.rejects(
      receive(() => false, { timeout: 0 }),
      (e) => e instanceof TimeoutError && e.code === "timeout",
    );
    // ChildSpecError
    const err = checkChildspecs([{
      id: "a",
      start: () => "ignore",
      restart: "forever" as never,
    }]);
    assert.ok(err instanceof ChildSpecError && err.code === "bad_child_spec");
    // NoProcError: linking to a dead process without trapping exits
    const dead = spawn(() => {});
    await settle();
    const pid = spawn(async () => {
      try {
        link(dead);
      } catch (e) {
        send(main, ["caught", e]);
      }
      await null;
    });
    const main = self();
    const [, caught] = await receive((m) =>
      Array.isArray(m) && m[0] === "caught"
    ) as [string, unknown];
    assert.ok(caught instanceof NoProcError && caught.code === "noproc");
    exit(pid, "kill");
    await flush();
  });

  test("constructed directly, each class has its fixed or given code", () => {
    assert.equal(new ExitError("x").code, "exit");
    assert.equal(new NoProcError("link", "w").code, "noproc");
    assert.equal(new NotRegisteredError("send", "w").code, "not_registered");
    assert.equal(
      new AlreadyRegisteredError("taken", "w", undefined).code,
      "already_registered",
    );
    assert.equal(
      new SupervisorError("deleteChild", "db", "not_found").code,
      "not_found",
    );
    assert.equal(
      new ChildSpecError("id", "bad", "bad id").code,
      "bad_child_spec",
    );
    for (
      const e of [
        new ExitError("x"),
        new NoProcError("link", "w"),
        new SupervisorError("deleteChild", "db", "not_found"),
        new ApplicationError("app", "already_running", undefined),
      ]
    ) {
      assert.equal(typeof e.code, "string", e.name);
    }
  });
});

describe('errors: one message form, "Cannot OP X of Y: why"', () => {
  test("supervisor and director requests name the child, the server and why in words", async () => {
    const sup = await supervisor.start({});
    try {
      const failed = await supervisor.startChild(sup, {
        id: "w",
        start: () => ["error", "boom"] as const,
      }).catch((e) => e);
      assert.ok(failed instanceof SupervisorError);
      assert.equal(
        failed.message,
        `Cannot startChild "w" of supervisor ${sup}: its start failed ("boom")`,
      );
      const missing = await supervisor.deleteChild(sup, "nobody")
        .catch((e) => e);
      assert.equal(
        missing.message,
        `Cannot deleteChild "nobody" of supervisor ${sup}: no such child`,
      );
      const unknown = await genServer.call(sup, "bogus").catch((e) =>
        e
      ) as Error;
      assert.equal(
        unknown.message,
        `Cannot call supervisor ${sup}: unknown request "bogus" (call its module's functions, not GenServer.call)`,
      );
    } finally {
      await supervisor.stop(sup);
    }
    const d = await director.start({});
    try {
      assert.throws(() => director.getPid(d, "x"), {
        name: "DirectorError",
        message: `Cannot getPid "x" of director ${d}: no such child`,
      });
    } finally {
      await director.stop(d);
    }
  });

  test("gen_server calls and starts, applications and tables", async () => {
    const pid = spawn(() => {});
    await settle();
    const err = await genServer.call(pid, "ping").catch((e) => e);
    assert.equal(
      (err as Error).message,
      `Cannot call server ${pid} with "ping": no such process ("noproc")`,
    );
    const started = await genServer.start(
      { init: () => ["stop", "no_config"] },
      undefined,
    ).catch((e) => e);
    assert.equal(
      started.message,
      'Cannot start GenServer: it failed ("no_config")',
    );
    assert.equal(
      new ApplicationError("app", "start_failed", "boom").message,
      'Cannot start application "app": its start failed ("boom")',
    );
    const t = create("errors_test_scores");
    t.destroy();
    assert.throws(() => t.lookup(1), {
      message: /^Cannot lookup on table "errors_test_scores": /,
    });
  });

  test("a hostile reason or child never breaks a message", () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error("get trap");
      },
      has() {
        throw new Error("has trap");
      },
      getPrototypeOf() {
        throw new Error("getPrototypeOf trap");
      },
      ownKeys() {
        throw new Error("ownKeys trap");
      },
    });
    const e = new SupervisorError("startChild", hostile, "start_failed", {
      reason: hostile,
      server: "supervisor <0.1.0>",
    });
    assert.match(e.message, /^Cannot startChild .* of supervisor <0\.1\.0>: /);
    assert.equal(
      ChildRequestError.describe("op", "c", "weird_code"),
      'Cannot op "c": weird_code',
    );
    assert.equal(
      ChildRequestError.describe("op", "c", "toString"),
      'Cannot op "c": toString',
    );
  });
});

describe("errors: wrong values name the argument and its value", () => {
  test("an out-of-range value in a spec or flags is a ChildSpecError (a TypeError, not a RangeError); outside a spec a RangeError", async () => {
    const flags = await supervisor.start({ intensity: -1 }).catch((e) => e);
    assert.ok(flags instanceof ChildSpecError && flags instanceof TypeError);
    assert.ok(!(flags instanceof RangeError));
    assert.equal(flags.key, "intensity");
    assert.deepEqual(flags.reason, ["invalid_intensity", -1]);
    assert.equal(
      flags.message,
      "Cannot use supervisor flags: 'intensity' must be a whole number >= 0, got -1",
    );
    const start = () => "ignore" as const;
    const shutdown = checkChildspecs([{ id: "a", start, shutdown: -5 }]);
    assert.ok(shutdown instanceof ChildSpecError);
    assert.equal(shutdown.key, "shutdown");
    assert.match(shutdown.message, /'shutdown'.*got -5$/);
    const count = director.checkChildspec({ id: "a", start, count: -1 });
    assert.ok(count instanceof ChildSpecError);
    assert.equal(count.key, "count");
    assert.match(count.message, /got -1$/);
    // The same value given alone, at the API edge: a RangeError naming it.
    const d = await director.start({});
    await assert.rejects(director.changeCount(d, "a", -1), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^Cannot changeCount: 'count' .* got -1$/);
      return true;
    });
    await assert.rejects(
      genServer.call(d, "x", { timeout: -1 }),
      (e: unknown) =>
        e instanceof RangeError && /'timeout'.*-1/.test(e.message),
    );
    await director.stop(d);
  });
});

describe("errors: every timeout is catchable as TimeoutError", () => {
  test("supervisor and director start and stop timeouts, task joinMany: TimeoutErrors (the tracker's, receive's, call's and join's are in their modules' tests)", () =>
    withClock(async (clock) => {
      const never = () => new Promise<never>(() => {});
      const sup = supervisor.start({ children: [{ id: "a", start: never }] }, {
        timeout: 100,
      }).catch((e) => e);
      const dir = director.start({ children: [{ id: "a", start: never }] }, {
        timeout: 100,
      }).catch((e) => e);
      await settle();
      await clock.advance(100);
      for (const err of [await sup, await dir]) {
        assert.ok(err instanceof TimeoutError, String(err));
        assert.ok(err instanceof StartTimeoutError);
        assert.equal(err.code, "timeout");
      }
      // A stop that outlasts its timeout: a child that ignores its shutdown.
      let child!: ReturnType<typeof spawn>;
      const s = await supervisor.start({
        children: [{
          id: "stubborn",
          shutdown: Infinity,
          start: () =>
            child = spawnLink(async () => {
              trapExit(true);
              await receive((m) => m === "never");
            }),
        }],
      });
      const stopping = supervisor.stop(s, "normal", { timeout: 50 })
        .catch((e) => e);
      await settle();
      await clock.advance(50);
      const stopErr = await stopping;
      assert.ok(stopErr instanceof TimeoutError);
      assert.ok(stopErr instanceof CallTimeoutError);
      exit(child, "kill");
      await settle();
      // joinMany: the first missing result names the task.
      const tsup = await task.startSupervisor();
      const t = await task.asyncNolink(tsup, never);
      const joining = task.joinMany([t], { timeout: 30 }).catch((e) => e);
      await settle();
      await clock.advance(30);
      const joinErr = await joining;
      assert.ok(joinErr instanceof TimeoutError, String(joinErr));
      assert.match(
        joinErr.message,
        /^Cannot joinMany tasks: no result within 30 ms/,
      );
      await task.shutdown(t, "brutal_kill");
      await supervisor.stop(tsup);
      await flush();
      await assertNoMessages();
    }));
});
