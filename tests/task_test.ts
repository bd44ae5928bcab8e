// Supervised tasks (task.ts): Elixir's Task.Supervisor async / async_nolink /
// start_child / Task.await / Task.shutdown semantics (reference §3.11, the
// issue's "task supervision").
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as task from "../task.ts";
import * as supervisor from "../supervisor.ts";
import {
  isAlive,
  monitor,
  type Pid,
  receive,
  self,
  send,
  spawn,
  trapExit,
} from "../process.ts";
import { ExitError, SupervisorError, TimeoutError } from "../errors.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  settle,
  withClock,
} from "./_helpers.ts";

function never(): Promise<never> {
  return new Promise(() => {});
}

describe("task", () => {
  test("async returns the result to join, and leaves no message behind", async () => {
    const sup = await task.startSupervisor();
    const t = await task.async(sup, async () => {
      await settle();
      return { answer: 42 };
    });
    assert.deepEqual(await task.join(t), { answer: 42 });
    assert.equal((await supervisor.countChildren(sup)).active, 0);
    await supervisor.stop(sup);
    // As in Elixir, a caller that traps exits (main does) gets the linked
    // task's normal EXIT; nothing else is left.
    const exit = await receive((m) => Array.isArray(m) && m[0] === "EXIT");
    assert.deepEqual(exit, ["EXIT", t.pid, "normal"]);
    await assertNoMessages();
  });

  test("the task runs in its own process, a temporary child of the supervisor", async () => {
    const sup = await task.startSupervisor();
    const t = await task.async(sup, () => self());
    assert.equal(await task.join(t), t.pid);
    const spec = await supervisor.startChild(sup, {
      id: "x",
      start: () => "ignore" as const,
    });
    assert.equal(spec.pid, undefined);
    await supervisor.stop(sup);
    assert.deepEqual(await flush(), [["EXIT", t.pid, "normal"]]);
  });

  test("asyncNolink: a crash reaches join as an ExitError, not as a signal", async () => {
    const sup = await task.startSupervisor();
    const t = await task.asyncNolink(sup, () => {
      throw "boom";
    });
    const err = await task.join(t).catch((e) => e);
    assert.ok(err instanceof ExitError);
    assert.equal(err.reason, "boom");
    await supervisor.stop(sup);
    await assertNoMessages();
  });

  test("async: a crash is an exit signal to the linked caller", async () => {
    const sup = await task.startSupervisor();
    const me = self();
    const caller = spawn(async () => {
      const t = await task.async(sup, async () => {
        await settle();
        throw "crashed";
      });
      send(me, ["started", t.pid]);
      await never();
    });
    const ref = monitor(caller);
    assert.equal(await downReason(ref), "crashed");
    await flush();
    await supervisor.stop(sup);
  });

  test("async: a trapping caller gets the EXIT and join rejects", async () => {
    const sup = await task.startSupervisor();
    const t = await task.async(sup, async () => {
      await settle();
      throw "crashed";
    });
    // main traps exits
    const err = await task.join(t).catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason === "crashed");
    const exit = await receive((m) =>
      Array.isArray(m) && m[0] === "EXIT" && m[1] === t.pid
    );
    assert.deepEqual(exit, ["EXIT", t.pid, "crashed"]);
    await supervisor.stop(sup);
  });

  test("async: the task dies with its caller", async () => {
    const sup = await task.startSupervisor();
    const me = self();
    const caller = spawn(async () => {
      const t = await task.async(sup, never);
      send(me, t.pid);
      await receive((m) => m === "go");
      throw "caller crashed";
    });
    const pid = await receive<Pid>((m) => m !== null && typeof m === "object");
    const ref = monitor(pid);
    send(caller, "go");
    assert.equal(await downReason(ref), "caller crashed");
    assert.ok(!isAlive(caller));
    await supervisor.stop(sup);
  });

  test("asyncNolink: the task outlives its caller", async () => {
    const sup = await task.startSupervisor();
    const me = self();
    spawn(async () => {
      const t = await task.asyncNolink(sup, never);
      send(me, t.pid);
    });
    const pid = await receive<Pid>((m) => m !== null && typeof m === "object");
    await settle();
    assert.ok(isAlive(pid));
    await supervisor.stop(sup);
    assert.ok(!isAlive(pid));
  });

  test("join times out with TimeoutError; the task keeps running", () =>
    withClock(async (clock) => {
      const sup = await task.startSupervisor();
      const t = await task.asyncNolink(sup, never);
      const pending = task.join(t, { timeout: 100 }).catch((e) => e);
      await settle();
      await clock.advance(100);
      const err = await pending;
      assert.ok(err instanceof TimeoutError);
      assert.ok(isAlive(t.pid));
      assert.equal(await task.shutdown(t, "brutal_kill"), undefined);
      assert.ok(!isAlive(t.pid));
      await supervisor.stop(sup);
      await assertNoMessages();
    }));

  test("yieldMany gives each outcome as a tuple: ['ok', result], ['exit', reason], or undefined", () =>
    withClock(async (clock) => {
      const sup = await task.startSupervisor();
      const quick = await task.asyncNolink(sup, () => ({ n: 1 }));
      const bad = await task.asyncNolink(sup, () => {
        throw ["shutdown", "oops"];
      });
      const slow = await task.asyncNolink(sup, never);
      const pending = task.yieldMany([quick, bad, slow], { timeout: 50 });
      await settle();
      await clock.advance(50);
      const outcomes = await pending;
      assert.deepEqual(outcomes, [
        ["ok", { n: 1 }],
        ["exit", ["shutdown", "oops"]],
        undefined,
      ]);
      assert.ok(Array.isArray(outcomes[0]));
      await task.shutdown(slow, "brutal_kill");
      await supervisor.stop(sup);
      await assertNoMessages();
    }));

  test("shutdown returns a result that arrived first", async () => {
    const sup = await task.startSupervisor();
    const t = await task.async(sup, () => "done");
    await settle();
    assert.deepEqual(await task.shutdown(t), { result: "done" });
    await supervisor.stop(sup);
    await assertNoMessages();
  });

  test("shutdown kills a task that ignores the shutdown after the timeout", () =>
    withClock(async (clock) => {
      const sup = await task.startSupervisor();
      const t = await task.asyncNolink(sup, async () => {
        trapExit(true);
        await never();
      });
      await settle();
      const pending = task.shutdown(t, 500);
      await settle();
      assert.ok(isAlive(t.pid));
      await clock.advance(500);
      assert.equal(await pending, undefined);
      assert.ok(!isAlive(t.pid));
      await supervisor.stop(sup);
      await assertNoMessages();
    }));

  test("stopping the supervisor stops its tasks", async () => {
    const sup = await task.startSupervisor();
    const t = await task.asyncNolink(sup, never);
    await supervisor.stop(sup);
    assert.ok(!isAlive(t.pid));
    const err = await task.join(t).catch((e) => e);
    assert.ok(err instanceof ExitError && err.reason === "shutdown");
  });

  test("startChild runs fire and forget", async () => {
    const sup = await task.startSupervisor({ name: "tasks" });
    const me = self();
    await task.startChild("tasks", () => send(me, "ran"));
    assert.equal(await receive((m) => m === "ran"), "ran");
    await supervisor.stop(sup);
  });

  test("maxChildren limits the running tasks", async () => {
    const sup = await task.startSupervisor({ maxChildren: 1 });
    const t = await task.asyncNolink(sup, never);
    const err = await task.async(sup, () => 1).catch((e) => e);
    assert.ok(err instanceof SupervisorError && err.code === "max_children");
    await task.shutdown(t, "brutal_kill");
    const t2 = await task.asyncNolink(sup, () => 2);
    assert.equal(await task.join(t2), 2);
    await supervisor.stop(sup);
    await assertNoMessages();
  });

  test("only the owner may join; bad input is a TypeError", async () => {
    const sup = await task.startSupervisor();
    const t = await task.asyncNolink(sup, () => 1);
    const me = self();
    spawn(async () => {
      send(me, await task.join(t).catch((e) => e));
    });
    const err = await receive((m) => m instanceof Error);
    assert.ok(err instanceof TypeError && /belongs to/.test(err.message));
    assert.equal(await task.join(t), 1);
    await assert.rejects(
      task.async(sup, "nope" as never),
      (e: unknown) =>
        e instanceof TypeError &&
        /'fn' must be a function/.test((e as Error).message),
    );
    await supervisor.stop(sup);
    await assertNoMessages();
  });
});
