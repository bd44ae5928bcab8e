// Concurrent waits in one process (DESIGN decision 11): any number of
// receives may be pending at once, each with its own predicate; a message
// goes to the oldest pending receive that accepts it, else stays in the
// mailbox, in order. With one receive pending this is OTP's selective
// receive. Checked against a model by random sequences (fast-check), and
// through the library waits built on receive (Task.join, joinMany,
// yieldMany) inside a process and from top-level code.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  exit,
  inProcess,
  isAlive,
  monitor,
  type Pid,
  processInfo,
  receive,
  self,
  send,
  spawn,
  spawnLink,
  trapExit,
} from "../process.ts";
import * as task from "../task.ts";
import * as tracker from "../tracker.ts";
import * as supervisor from "../supervisor.ts";
import { call, startLink, stop } from "../gen_server.ts";
import { ExitError, TimeoutError } from "../errors.ts";
import { assertNoMessages, downReason, flush, withClock } from "./_helpers.ts";

/** Lets queued deliveries run (the scheduler drains on a microtask). */
async function drain(): Promise<void> {
  for (let i = 0; i < 4; i++) await null;
}

// ---------------------------------------------------------------- model --

/** The matchers a random sequence draws from (messages are small ints). */
const MATCHERS: ((m: number) => boolean)[] = [
  () => true,
  (m) => m % 2 === 0,
  (m) => m % 2 === 1,
  (m) => m < 3,
  (m) => m === 4,
];

type Op =
  | {
    op: "receive";
    matcher: number;
    timeout: number | null;
    abortable: boolean;
  }
  | { op: "send"; message: number }
  | { op: "advance"; ms: number }
  | { op: "abort"; which: number }
  | { op: "drain" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("receive" as const),
    matcher: fc.nat(MATCHERS.length - 1),
    timeout: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
    abortable: fc.boolean(),
  }),
  fc.record({ op: fc.constant("send" as const), message: fc.nat(5) }),
  fc.record({
    op: fc.constant("advance" as const),
    ms: fc.integer({ min: 1, max: 20 }),
  }),
  fc.record({ op: fc.constant("abort" as const), which: fc.nat(10) }),
  fc.record({ op: fc.constant("drain" as const) }),
);

type Outcome = { got: number } | "timeout" | "aborted" | "pending";

interface ModelWait {
  id: number;
  matcher: (m: number) => boolean;
  deadline: number;
}

/**
 * The rule, stated directly: a new receive takes the oldest matching mailbox
 * message, else waits; a message goes to the oldest waiting receive that
 * matches, else to the mailbox's end; a receive past its deadline times out.
 */
class Model {
  now = 0;
  mailbox: number[] = [];
  waits: ModelWait[] = [];
  outcomes: Outcome[] = [];

  receive(matcher: (m: number) => boolean, timeout: number | null): number {
    const id = this.outcomes.length;
    const i = this.mailbox.findIndex(matcher);
    if (i >= 0) {
      this.outcomes.push({ got: this.mailbox.splice(i, 1)[0] });
    } else {
      this.outcomes.push("pending");
      this.waits.push({
        id,
        matcher,
        deadline: timeout === null ? Infinity : this.now + timeout,
      });
    }
    return id;
  }

  send(m: number): void {
    const i = this.waits.findIndex((w) => w.matcher(m));
    if (i < 0) {
      this.mailbox.push(m);
      return;
    }
    const [w] = this.waits.splice(i, 1);
    this.outcomes[w.id] = { got: m };
  }

  advance(ms: number): void {
    this.now += ms;
    this.waits = this.waits.filter((w) => {
      if (w.deadline > this.now) return true;
      this.outcomes[w.id] = "timeout";
      return false;
    });
  }

  abort(id: number): void {
    const i = this.waits.findIndex((w) => w.id === id);
    if (i < 0) return;
    this.waits.splice(i, 1);
    this.outcomes[id] = "aborted";
  }
}

/** Runs `ops` in the calling process and in the model; compares both. */
async function runSequence(ops: Op[]): Promise<void> {
  await withClock(async (clock) => {
    const model = new Model();
    const outcomes: Outcome[] = [];
    const controllers: (AbortController | null)[] = [];
    const enders: AbortController[] = [];
    const pending: Promise<void>[] = [];
    for (const op of ops) {
      switch (op.op) {
        case "receive": {
          const id = outcomes.length;
          outcomes.push("pending");
          // Every receive can be aborted, so the sequence ends with none
          // pending; only `abortable` ones are aborted by the sequence.
          const controller = new AbortController();
          controllers.push(op.abortable ? controller : null);
          enders.push(controller);
          model.receive(MATCHERS[op.matcher], op.timeout);
          pending.push(
            receive<number>(
              (m) => MATCHERS[op.matcher](m as number),
              {
                timeout: op.timeout ?? Infinity,
                signal: controller.signal,
              },
            ).then(
              (m) => {
                outcomes[id] = { got: m };
              },
              (e) => {
                if (e instanceof TimeoutError) outcomes[id] = "timeout";
                else if (e === "abort!") outcomes[id] = "aborted";
                else throw e;
              },
            ),
          );
          break;
        }
        case "send":
          model.send(op.message);
          send(self(), op.message);
          break;
        case "advance":
          model.advance(op.ms);
          await clock.advance(op.ms); // delivers what was sent first
          break;
        case "abort": {
          const controller = controllers[op.which];
          if (controller == null || controller.signal.aborted) break;
          // What was sent before the abort has been delivered by then.
          await drain();
          model.abort(op.which);
          controller.abort("abort!");
          break;
        }
        case "drain":
          await drain();
          break;
      }
    }
    await drain();
    assert.deepEqual(outcomes, model.outcomes);
    // What is left: the model's mailbox, in order.
    for (const c of enders) c.abort("abort!");
    await Promise.all(pending);
    assert.deepEqual(await flush(), model.mailbox);
  });
}

// ---------------------------------------------------------------- tests --

describe("concurrent receives", () => {
  test("random sequences of receives, sends, timeouts and aborts follow the rule (model)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), runSequence),
      { numRuns: 150 },
    );
  });

  test("with one receive at a time, the order is OTP's selective receive", async () => {
    // Sequences where each receive is awaited before the next starts.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 12 }),
        fc.array(fc.nat(MATCHERS.length - 1), { maxLength: 12 }),
        async (messages, matchers) => {
          for (const m of messages) send(self(), m);
          const mailbox = [...messages];
          for (const k of matchers) {
            const i = mailbox.findIndex(MATCHERS[k]);
            const got = await receive<number>(
              (m) => MATCHERS[k](m as number),
              { timeout: 0 },
            ).catch((
              e,
            ) => (e instanceof TimeoutError ? null : Promise.reject(e)));
            assert.equal(got, i >= 0 ? mailbox.splice(i, 1)[0] : null);
          }
          assert.deepEqual(await flush(), mailbox);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a message skipped by every waiting receive stays for a later one, in order", async () => {
    const evens = receive((m) => m === 2);
    send(self(), 1);
    send(self(), 3);
    send(self(), 2);
    assert.equal(await evens, 2);
    assert.equal(await receive(), 1);
    assert.equal(await receive(), 3);
  });

  test("a predicate that throws rejects its own receive only", async () => {
    const boom = new Error("bad predicate");
    const bad = receive(() => {
      throw boom;
    });
    const good = receive((m) => m === "x");
    send(self(), "x");
    await assert.rejects(bad, boom);
    assert.equal(await good, "x");
    await assertNoMessages();
  });

  test("a receive started while older ones wait does not jump the queue", async () => {
    const older = receive((m) => m === "a");
    send(self(), "a");
    // Started before the delivery ran: "a" is still the older receive's.
    const newer = receive((m) => m === "a", { timeout: 0 }).catch((e) => e);
    assert.equal(await older, "a");
    assert.ok(await newer instanceof TimeoutError);
  });

  test("an aborted receive rejects with the signal's reason and takes nothing", async () => {
    const controller = new AbortController();
    const waiting = receive(undefined, { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(waiting, { message: "stop waiting" });
    send(self(), "after");
    assert.equal(await receive(), "after");
    const aborted = AbortSignal.abort("already");
    await assert.rejects(
      receive(undefined, { signal: aborted }),
      (e) => e === "already",
    );
  });

  test("a killed process's pending receives all reject with ExitError", async () => {
    const main = self();
    const pid = spawn(async () => {
      const all = Promise.allSettled([receive(), receive((m) => m === 1)]);
      send(main, "waiting");
      const results = await all;
      send(
        main,
        results.map((r) =>
          r.status === "rejected" && r.reason instanceof ExitError
        ),
      );
    });
    await receive((m) => m === "waiting");
    exit(pid, "kill");
    // The process is dead: its leftover code sends nothing.
    await assert.rejects(receive(Array.isArray, { timeout: 0 }), TimeoutError);
  });

  test("receive() refuses unknown options and a non-signal", async () => {
    await assert.rejects(receive(undefined, { tmeout: 1 } as never), {
      name: "TypeError",
      message:
        'Cannot receive: unknown option "tmeout" (known: timeout, signal)',
    });
    await assert.rejects(receive(undefined, { signal: {} as never }), {
      name: "TypeError",
      message: "Cannot receive: 'signal' must be an AbortSignal, got {}",
    });
  });
});

describe("concurrent library waits", () => {
  test("Promise.all over Task.join inside a process", async () => {
    const sup = await task.startSupervisor();
    const main = self();
    spawn(async () => {
      const tasks = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          task.async(sup, async () => {
            await null;
            return n * 10;
          })
        ),
      );
      send(main, [
        "results",
        await Promise.all(tasks.map((t) => task.join(t))),
      ]);
    });
    const [, results] = await receive((m) =>
      Array.isArray(m) && m[0] === "results"
    ) as [string, number[]];
    assert.deepEqual(results, [10, 20, 30, 40]);
    await supervisor.stop(sup);
    await flush();
  });

  test("Promise.all over joins and calls from top-level code (concurrent handlers)", async () => {
    const sup = await task.startSupervisor();
    const server = await startLink({
      init: () => ["ok", 0],
      handleCall: (req: number, _from, n: number) => ["reply", req + n, n + 1],
    }, undefined);
    const handler = async (i: number) => {
      const t = await task.async(sup, () => i);
      const [a, b] = await Promise.all([task.join(t), call(server, i)]);
      return (a as number) + (b as number);
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map(handler));
    assert.equal(results.length, 5);
    assert.ok(results.every((r, i) => r >= 2 * i));
    await stop(server);
    await supervisor.stop(sup);
    await flush();
  });

  test("Promise.all over tracker waits (findOrOpen, getAttr) beside joins, in a process", async () => {
    const sup = await task.startSupervisor();
    await tracker.start("concurrent_waits");
    const main = self();
    spawn(async () => {
      const spec = (id: string) => ({
        id,
        start: () => spawnLink(() => receive((m) => m === "never")),
      });
      const [a, b] = await Promise.all([
        tracker.findOrOpen("concurrent_waits", spec("a")),
        tracker.findOrOpen("concurrent_waits", spec("b")),
      ]);
      const waits = Promise.all([
        tracker.getAttr("concurrent_waits", "a", "url", { timeout: 1000 }),
        tracker.getAttr("concurrent_waits", "b", "url", { timeout: 1000 }),
        task.join(await task.async(sup, () => "joined")),
      ]);
      tracker.setAttr("concurrent_waits", "b", "url", "B");
      tracker.setAttr("concurrent_waits", "a", "url", "A");
      send(main, ["done", a !== b, await waits]);
    });
    const [, distinct, results] = await receive((m) =>
      Array.isArray(m) && m[0] === "done"
    ) as [string, boolean, unknown[]];
    assert.equal(distinct, true);
    assert.deepEqual(results, ["A", "B", "joined"]);
    await tracker.stop("concurrent_waits");
    await supervisor.stop(sup);
    await flush();
  });

  test("joinMany returns results in order; one exit rejects it and leaves no wait behind", async () => {
    const sup = await task.startSupervisor();
    const tasks = await Promise.all(
      [3, 1, 2].map((n) => task.asyncNolink(sup, () => n)),
    );
    assert.deepEqual(await task.joinMany(tasks), [3, 1, 2]);
    const never = await task.asyncNolink(sup, () => new Promise(() => {}));
    const bad = await task.asyncNolink(sup, () => {
      throw "boom";
    });
    await assert.rejects(
      task.joinMany([never, bad]),
      (e) => e instanceof ExitError && e.reason === "boom",
    );
    // The join of `never` ended with joinMany: its result goes to a new join.
    assert.equal(processInfo(self())!.status, "running");
    exit(never.pid, "kill");
    await assert.rejects(
      task.join(never),
      (e) => e instanceof ExitError && e.reason === "killed",
    );
    await supervisor.stop(sup);
    await assertNoMessages();
  });

  test("joinMany and yieldMany time out as a whole, on the clock", async () => {
    await withClock(async (clock) => {
      const sup = await task.startSupervisor();
      const slow = await task.asyncNolink(sup, () => new Promise(() => {}));
      const quick = await task.asyncNolink(sup, () => "quick");
      const joining = task.joinMany([quick, slow], { timeout: 100 }).catch((
        e,
      ) => e);
      await clock.advance(100);
      const err = await joining;
      assert.ok(err instanceof TimeoutError && err.timeout === 100);
      const yielding = task.yieldMany([slow], { timeout: 50 });
      await clock.advance(50);
      assert.deepEqual(await yielding, [undefined]);
      await task.shutdown(slow, "brutal_kill");
      await supervisor.stop(sup);
      await flush();
    });
  });

  test("yieldMany tells results, exits and unfinished tasks apart", async () => {
    await withClock(async (clock) => {
      const sup = await task.startSupervisor();
      const ok = await task.asyncNolink(sup, () => ({ v: 1 }));
      const crash = await task.asyncNolink(sup, () => {
        throw new ExitError("bad");
      });
      const slow = await task.asyncNolink(sup, () => new Promise(() => {}));
      const y = task.yieldMany([ok, crash, slow], { timeout: 10 });
      await clock.advance(10);
      assert.deepEqual(await y, [
        ["ok", { v: 1 }],
        ["exit", "bad"],
        undefined,
      ]);
      await task.shutdown(slow, "brutal_kill");
      await supervisor.stop(sup);
      await flush();
    });
  });

  test("joinMany and yieldMany keep each task's result type (a tuple in, a tuple out)", async () => {
    const sup = await task.startSupervisor();
    const n = await task.async(sup, () => 1);
    const s = await task.async(sup, () => Promise.resolve("one"));
    const [a, b] = await task.joinMany([n, s]);
    const typed: [number, string] = [a, b]; // a compile error if untyped
    assert.deepEqual(typed, [1, "one"]);
    const [y] = await task.yieldMany([await task.async(sup, () => true)]);
    const flag:
      | readonly ["ok", boolean]
      | readonly ["exit", unknown]
      | undefined = y;
    assert.deepEqual(flag, ["ok", true]);
    await supervisor.stop(sup);
    await flush();
  });

  test("joinMany and yieldMany check their arguments", async () => {
    await assert.rejects(task.joinMany("x" as never), TypeError);
    await assert.rejects(task.yieldMany([], { timeout: -1 }), RangeError);
    await assert.rejects(task.yieldMany([], { tmeout: 1 } as never), TypeError);
    assert.deepEqual(await task.joinMany([]), []);
  });
});

describe("inProcess", () => {
  test("runs a function as its own process and resolves with its result", async () => {
    const main = self();
    const [pid, same] = await inProcess(async (me) => {
      await null;
      return [me, self() === me] as const;
    });
    assert.notEqual(pid, main);
    assert.equal(same, true);
    assert.equal(isAlive(pid), false);
  });

  test("rejects with what the function throws; a kill rejects with ExitError", async () => {
    const boom = new Error("boom");
    await assert.rejects(
      inProcess(() => {
        throw boom;
      }),
      boom,
    );
    let pid: Pid | undefined;
    const running = inProcess(async (me) => {
      pid = me;
      await new Promise(() => {});
    });
    await drain();
    exit(pid!, "kill");
    await assert.rejects(
      running,
      (e) => e instanceof ExitError && e.reason === "killed",
    );
  });

  test("a process that dies while waiting on inProcess takes the run with it, as a link would", async () => {
    let inner: Pid | undefined;
    const outer = spawn(async () => {
      await inProcess(async (me) => {
        inner = me;
        await new Promise(() => {});
      });
    });
    await drain();
    await drain();
    assert.ok(inner !== undefined && isAlive(inner));
    const ref = monitor(inner!);
    exit(outer, "stopped");
    assert.equal(await downReason(ref), "stopped");
  });

  test("what a handler links to gets its exit; nothing is left in the caller's mailbox", async () => {
    const main = self();
    await assert.rejects(
      inProcess(async (me) => {
        spawnLink(async () => {
          trapExit(true);
          send(me, "ready");
          send(main, ["child saw", await receive()]);
        });
        await receive((m) => m === "ready");
        throw new ExitError("handler failed");
      }),
      (e) => e instanceof ExitError && e.reason === "handler failed",
    );
    const [, seen] = await receive((m) =>
      Array.isArray(m) && m[0] === "child saw"
    ) as [string, unknown[]];
    assert.equal(seen[0], "EXIT");
    assert.equal(seen[2], "handler failed");
    await assertNoMessages();
  });
});
