// DynamicSupervisor: ports of Elixir's dynamic_supervisor_test.exs (the ★
// cases and most of the rest; reference §3.11, §5.5), on
// supervisor.startDynamic / startDynamicLink.
//
// The test body runs as the main process, which traps exits: a linked
// supervisor's exit arrives as an ["EXIT", pid, reason] message.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as supervisor from "../supervisor.ts";
import {
  type ChildSpec,
  ChildSpecError,
  SupervisorError,
  type SupervisorEvent,
} from "../supervisor.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  processInfo,
  receive,
  self,
  send,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import { ExitError, StartError } from "../errors.ts";
import {
  assertNoMessages,
  downReason,
  forever,
  isExit,
  next,
  settle,
  withClock,
} from "./_helpers.ts";

// ------------------------------------------------------------- helpers --

/** The supervisor's "process dictionary" (start functions run as it). */
const dictionaries = new WeakMap<Pid, Map<unknown, unknown>>();

function dictionary(): Map<unknown, unknown> {
  const sup = self();
  let d = dictionaries.get(sup);
  if (d === undefined) dictionaries.set(sup, d = new Map());
  return d;
}

/** A linked process that sleeps forever (Elixir's Task with sleep). */
function sleeper(): Pid {
  return spawnLink(forever);
}

type Value = "ok3" | "ok2" | "error" | "ignore" | "unknown";

/**
 * The test module's start_link/1,2: "ok3" → pid and extra, "ok2" → pid,
 * "error" → ["error", "found"], "ignore", "unknown" → garbage;
 * ["restart", v]: "ok2" the first time (per supervisor), then v;
 * ["try_again", notify]: alternately a child and ["error", "try_again"],
 * telling `notify` which; ["non_local", "throw" | "error" | "exit"].
 */
function startValue(value: Value): supervisor.StartReturn {
  switch (value) {
    case "ok3":
      return ["ok", sleeper(), "extra"];
    case "ok2":
      return ["ok", sleeper()];
    case "error":
      return ["error", "found"];
    case "ignore":
      return "ignore";
    case "unknown":
      return "unknown" as never;
  }
}

function startLinkOf(...args: unknown[]): supervisor.StartReturn {
  if (args[0] === "restart") {
    const d = dictionary();
    const key = `restart ${args[1]}`;
    if (d.get(key)) return startValue(args[1] as Value);
    d.set(key, true);
    return startValue("ok2");
  }
  if (args[0] === "try_again") {
    const d = dictionary();
    const notify = args[1] as Pid;
    if (d.get("try_again")) {
      d.set("try_again", false);
      send(notify, ["try_again", false]);
      return ["error", "try_again"];
    }
    d.set("try_again", true);
    send(notify, ["try_again", true]);
    return startValue("ok2");
  }
  if (args[0] === "non_local") {
    if (args[1] === "throw") throw "oops";
    if (args[1] === "error") throw new Error("oops");
    throw new ExitError("oops");
  }
  return startValue(args[0] as Value);
}

/** current_module_worker(args, opts). */
function moduleWorker(
  args: unknown[],
  more: Partial<ChildSpec> = {},
): ChildSpec {
  return { id: "worker", start: startLinkOf, args, ...more };
}

/** sleepy_worker(opts). */
function sleepyWorker(more: Partial<ChildSpec> = {}): ChildSpec {
  return { id: "task", start: sleeper, ...more };
}

/** A child that traps exits, tells `parent` it is ready, then waits. */
function trapper(
  parent: Pid,
  onMessage: ((msg: unknown) => unknown) | null,
): () => Pid {
  return () =>
    spawnLink(async () => {
      trapExit(true);
      send(parent, "ready");
      const msg = await receive();
      if (onMessage !== null) throw new ExitError(onMessage(msg));
      await forever();
    });
}

/** Elixir's assert_kill: exit(pid, reason) and wait for the DOWN. */
async function assertKill(pid: Pid, reason: unknown): Promise<unknown> {
  const ref = monitor(pid);
  exit(pid, reason);
  const r = await downReason(ref);
  await settle(); // the supervisor handles the EXIT
  return r;
}

async function counts(sup: Pid): Promise<Record<string, number>> {
  return { ...await supervisor.countChildren(sup) };
}

async function supError(
  p: Promise<unknown>,
  code: SupervisorError["code"],
): Promise<SupervisorError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SupervisorError, `expected SupervisorError: ${e}`);
    assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected a SupervisorError ${code}`);
}

async function startFails(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StartError, `expected StartError, got ${e}`);
    return e.reason;
  }
  assert.fail("expected the start to fail");
}

async function specFails(p: Promise<unknown>): Promise<ChildSpecError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChildSpecError, `expected ChildSpecError: ${e}`);
    return e;
  }
  assert.fail("expected a ChildSpecError");
}

function pidIn(started: supervisor.StartedChild): Pid {
  assert.ok(started.pid !== undefined, "the child started");
  return started.pid;
}

/** The EXIT of `pid` (linked to the main process), now. */
async function checkExit(pid: Pid, reason: unknown): Promise<void> {
  const m = await next(isExit(pid)) as unknown[];
  assert.deepEqual(m[2], reason);
}

// Elixir's tests keep a child "restarting" with an immediate retry loop
// and max_restarts 100_000, and look while the supervisor spins: BEAM
// preempts it. Here processes are scheduled cooperatively and such a
// loop runs to its end (100_000 attempts) before the test's next step, so
// these tests make the retries wait with `backoff`, on the virtual clock:
// the child is restarting for as long as the test looks.
const slowRetries = {
  intensity: 100_000,
  backoff: { initial: 1000, max: 1000 },
};

// ---------------------------------------------------------------- tests --

describe("DynamicSupervisor start", () => {
  test("defaults: intensity 3, period 5 s, no children limit, no extra arguments (init/1)", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamicLink();
      assert.deepEqual(await counts(sup), {
        specs: 0,
        active: 0,
        supervisors: 0,
        workers: 0,
      });
      let pid = pidIn(await supervisor.startChild(sup, sleepyWorker()));
      for (let i = 0; i < 3; i++) {
        await assertKill(pid, "boom");
        [{ pid }] = await supervisor.whichChildren(sup) as { pid: Pid }[];
        await clock.advance(1000);
      }
      // 4 restarts within 5 s are one too many
      await clock.advance(1000);
      await assertKill(pid, "boom");
      await checkExit(sup, "shutdown");
      await assertNoMessages();
    });
  });

  test("an init returning bad flags, garbage or 'ignore' fails the start as Elixir's (start_link/3 with non-ok init)", async () => {
    const cases: [unknown, unknown][] = [
      [{ strategy: "unknown" }, [
        "supervisor_data",
        ["invalid_strategy", "unknown"],
      ]],
      [{ intensity: -1 }, ["supervisor_data", ["invalid_intensity", -1]]],
      [{ period: 0 }, ["supervisor_data", ["invalid_period", 0]]],
      [{ maxChildren: -1 }, ["supervisor_data", ["invalid_max_children", -1]]],
      [{ extraArguments: -1 }, [
        "supervisor_data",
        ["invalid_extra_arguments", -1],
      ]],
      [{ autoShutdown: "any_significant" }, [
        "supervisor_data",
        ["invalid_auto_shutdown", "any_significant"],
      ]],
      ["unknown", ["bad_return", "unknown"]],
      ["ignore", "ignore"],
    ];
    for (const [init, reason] of cases) {
      assert.deepEqual(
        await startFails(supervisor.startDynamicLink(() => init as never)),
        reason,
      );
      const exitMsg = await next((m) =>
        Array.isArray(m) && m[0] === "EXIT"
      ) as unknown[];
      assert.deepEqual(exitMsg[2], reason === "ignore" ? "normal" : reason);
    }
    // given directly, the flags are checked at once
    const e = await specFails(
      supervisor.startDynamic({ strategy: "one_for_all" as never }),
    );
    assert.equal(e.key, "strategy");
    assert.equal(
      e.message,
      `Cannot use supervisor flags: a dynamic supervisor's 'strategy' can only be "one_for_one", got "one_for_all"`,
    );
    const ok = await supervisor.startDynamic({
      strategy: "one_for_one",
      autoShutdown: "never",
    });
    await supervisor.stop(ok);
    await assertNoMessages();
  });

  test("startDynamicLink() with a name: linked, registered, stops (with registered process)", async () => {
    const pid = await supervisor.startDynamicLink({}, { name: "dyn_sup" });
    assert.ok(processInfo(self())!.links.includes(pid));
    assert.equal(whereis("dyn_sup"), pid);
    await supervisor.stop("dyn_sup");
    assert.equal(whereis("dyn_sup"), undefined);
    await checkExit(pid, "normal");
  });

  test("a dynamic supervisor can be a child of a supervisor (can be supervised directly)", async () => {
    const top = await supervisor.start({
      children: [{
        id: "dyn",
        type: "supervisor",
        start: () => supervisor.startDynamicLink({}, { name: "dyn_child" }),
      }],
    });
    assert.deepEqual(await supervisor.whichChildren("dyn_child"), []);
    await supervisor.stop(top);
  });
});

describe("DynamicSupervisor.startChild()", () => {
  test("starts children from full specs; their args follow extraArguments (supports extra arguments)", async () => {
    const me = self();
    const sup = await supervisor.startDynamic({
      extraArguments: [() => send(me, "from_child")],
    });
    const pid = pidIn(
      await supervisor.startChild(sup, {
        id: "task",
        restart: "temporary",
        start: (fun: () => void, tag: string) =>
          spawnLink(() => {
            fun();
            send(me, tag);
          }),
        args: ["tagged"],
      }),
    );
    assert.ok(pid !== undefined);
    assert.equal(await receive((m) => m === "from_child"), "from_child");
    assert.equal(await receive((m) => m === "tagged"), "tagged");
    await supervisor.stop(sup);
  });

  test("invalid child specs are rejected with the key and reason (with invalid child spec)", async () => {
    const sup = await supervisor.startDynamic();
    const cases: [unknown, string, unknown][] = [
      [{}, "id", "missing_id"],
      [{ id: 1, start: ["Task", "foo", "bar"] }, "start", [
        "invalid_mfa",
        ["Task", "foo", "bar"],
      ]],
      [{ id: 1, start: sleeper, shutdown: -1 }, "shutdown", [
        "invalid_shutdown",
        -1,
      ]],
      [
        { id: 1, start: sleeper, restart: "transient", significant: true },
        "significant",
        ["invalid_significant", true],
      ],
    ];
    for (const [child, key, reason] of cases) {
      const e = await specFails(
        supervisor.startChild(sup, child as ChildSpec),
      );
      assert.equal(e.key, key);
      assert.deepEqual(e.reason, reason);
    }
    assert.deepEqual(await supervisor.whichChildren(sup), []);
    await supervisor.stop(sup);
  });

  test("each start outcome: pid and extra, pid, ignore, error, garbage (with different returns)", async () => {
    const sup = await supervisor.startDynamicLink();
    const s3 = await supervisor.startChild(sup, moduleWorker(["ok3"]));
    assert.ok(s3.pid !== undefined && s3.extra === "extra");
    const s2 = await supervisor.startChild(sup, moduleWorker(["ok2"]));
    assert.ok(s2.pid !== undefined && s2.extra === undefined);
    assert.deepEqual(
      await supervisor.startChild(sup, moduleWorker(["ignore"])),
      { pid: undefined, extra: undefined },
    );
    const found = await supError(
      supervisor.startChild(sup, moduleWorker(["error"])),
      "start_failed",
    );
    assert.equal(found.reason, "found");
    const unknown = await supError(
      supervisor.startChild(sup, moduleWorker(["unknown"])),
      "start_failed",
    );
    assert.equal(unknown.reason, "unknown");
    assert.deepEqual(await counts(sup), {
      specs: 2,
      active: 2,
      supervisors: 0,
      workers: 2,
    });
    await supervisor.stop(sup);
    await checkExit(sup, "normal");
  });

  test("a start function that throws fails with what it threw (with throw/error/exit)", async () => {
    const sup = await supervisor.startDynamic();
    const thrown = await supError(
      supervisor.startChild(sup, moduleWorker(["non_local", "throw"])),
      "start_failed",
    );
    assert.equal(thrown.reason, "oops");
    const error = await supError(
      supervisor.startChild(sup, moduleWorker(["non_local", "error"])),
      "start_failed",
    );
    assert.ok(error.reason instanceof Error);
    assert.equal((error.reason as Error).message, "oops");
    const exited = await supError(
      supervisor.startChild(sup, moduleWorker(["non_local", "exit"])),
      "start_failed",
    );
    assert.equal(exited.reason, "oops");
    await supervisor.stop(sup);
  });

  test("maxChildren: past it, startChild rejects with maxChildren (with max_children)", async () => {
    const sup = await supervisor.startDynamic({ maxChildren: 0 });
    const e = await supError(
      supervisor.startChild(sup, moduleWorker(["ok2"])),
      "max_children",
    );
    assert.equal(
      e.message,
      `Cannot startChild "worker" of supervisor ${sup}: the supervisor has max_children children`,
    );
    await supervisor.stop(sup);
  });

  test("a temporary child is never restarted (temporary child is not restarted regardless of reason)", async () => {
    const child = moduleWorker(["ok2"], { restart: "temporary" });
    const sup = await supervisor.startDynamic();
    for (const reason of ["shutdown", "whatever"]) {
      const pid = pidIn(await supervisor.startChild(sup, child));
      await assertKill(pid, reason);
      const c = await counts(sup);
      assert.equal(c.workers, 0);
      assert.equal(c.active, 0);
    }
    await supervisor.stop(sup);
  });

  test("a transient child is restarted unless it exits normal, shutdown or ['shutdown', x] (transient child is restarted unless normal/shutdown/{shutdown, _})", async () => {
    const child = moduleWorker(["ok2"], { restart: "transient" });
    const sup = await supervisor.startDynamic();
    for (const reason of ["shutdown", ["shutdown", "signal"]]) {
      const pid = pidIn(await supervisor.startChild(sup, child));
      await assertKill(pid, reason);
      const c = await counts(sup);
      assert.equal(c.workers, 0);
      assert.equal(c.active, 0);
    }
    const pid = pidIn(await supervisor.startChild(sup, child));
    await assertKill(pid, "whatever");
    const c = await counts(sup);
    assert.equal(c.workers, 1);
    assert.equal(c.active, 1);
    await supervisor.stop(sup);
  });

  test("a permanent child is always restarted (permanent child is restarted regardless of reason)", async () => {
    const child = moduleWorker(["ok2"], { restart: "permanent" });
    const sup = await supervisor.startDynamic({ intensity: 100_000 });
    let n = 0;
    for (const reason of ["shutdown", ["shutdown", "signal"], "whatever"]) {
      const pid = pidIn(await supervisor.startChild(sup, child));
      await assertKill(pid, reason);
      n++;
      const c = await counts(sup);
      assert.equal(c.workers, n);
      assert.equal(c.active, n);
    }
    await supervisor.stop(sup);
  });

  test("a restart may return another value: ignore removes the child, an error leaves it restarting (child is restarted with different values)", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamic(slowRetries);
      const kill = async (pid: Pid) => {
        await assertKill(pid, "shutdown");
        await clock.advance(1000); // the delayed restart
      };
      const workersActive = async () => {
        const c = await counts(sup);
        return [c.workers, c.active];
      };
      const child1 = pidIn(
        await supervisor.startChild(sup, moduleWorker(["restart", "ok2"])),
      );
      assert.deepEqual(await supervisor.whichChildren(sup), [
        { id: undefined, pid: child1, type: "worker", modules: [] },
      ]);
      await kill(child1);
      assert.deepEqual(await workersActive(), [1, 1]);

      const child2 = pidIn(
        await supervisor.startChild(sup, moduleWorker(["restart", "ok3"])),
      );
      const two = await supervisor.whichChildren(sup);
      assert.equal(two.length, 2);
      assert.ok(two.some((c) => c.pid === child2));
      await kill(child2);
      assert.deepEqual(await workersActive(), [2, 2]);

      const child3 = pidIn(
        await supervisor.startChild(sup, moduleWorker(["restart", "ignore"])),
      );
      assert.equal((await supervisor.whichChildren(sup)).length, 3);
      await kill(child3);
      assert.deepEqual(await workersActive(), [2, 2]);

      const child4 = pidIn(
        await supervisor.startChild(sup, moduleWorker(["restart", "error"])),
      );
      assert.equal((await supervisor.whichChildren(sup)).length, 3);
      await kill(child4); // the restart fails: restarting
      assert.deepEqual(await workersActive(), [3, 2]);

      const child5 = pidIn(
        await supervisor.startChild(sup, moduleWorker(["restart", "unknown"])),
      );
      const four = await supervisor.whichChildren(sup);
      assert.equal(four.length, 4);
      assert.equal(four.filter((c) => c.pid === "restarting").length, 1);
      assert.ok(four.every((c) => c.id === undefined));
      await kill(child5);
      assert.deepEqual(await workersActive(), [4, 2]);
      await supervisor.stop(sup);
    });
  });

  test("children restarting count toward maxChildren (restarting on init / on exit children counted in max_children)", async () => {
    await withClock(async (clock) => {
      const sup1 = await supervisor.startDynamic({
        ...slowRetries,
        maxChildren: 1,
      });
      const pid1 = pidIn(
        await supervisor.startChild(
          sup1,
          moduleWorker(["restart", "error"], { restart: "permanent" }),
        ),
      );
      await assertKill(pid1, "shutdown");
      await clock.advance(1000); // the restart fails
      const c1 = await counts(sup1);
      assert.deepEqual([c1.workers, c1.active], [1, 0]);
      await supError(
        supervisor.startChild(sup1, moduleWorker(["restart", "ok2"])),
        "max_children",
      );
      await supervisor.stop(sup1);
    });

    const opts = { maxChildren: 1, intensity: 100_000 };

    const sup2 = await supervisor.startDynamic(opts);
    const pid2 = pidIn(
      await supervisor.startChild(
        sup2,
        moduleWorker(["ok2"], { restart: "permanent" }),
      ),
    );
    await assertKill(pid2, "shutdown");
    const c2 = await counts(sup2);
    assert.deepEqual([c2.workers, c2.active], [1, 1]);
    await supError(
      supervisor.startChild(sup2, moduleWorker(["ok2"])),
      "max_children",
    );
    await supervisor.stop(sup2);
  });

  test("a restarted child gets the extra arguments again (restarting a child with extra_arguments successfully restarts child)", async () => {
    const me = self();
    const fun = () => {
      send(me, "from_child");
      return forever();
    };
    const sup = await supervisor.startDynamic({ extraArguments: [fun] });
    const child = pidIn(
      await supervisor.startChild(sup, {
        id: "task",
        restart: "transient",
        start: (f: () => Promise<void>) => spawnLink(f),
      }),
    );
    await receive((m) => m === "from_child");
    assert.deepEqual(
      [(await counts(sup)).active, (await counts(sup)).workers],
      [1, 1],
    );
    await assertKill(child, "oops");
    await receive((m) => m === "from_child");
    assert.deepEqual(
      [(await counts(sup)).workers, (await counts(sup)).active],
      [1, 1],
    );
    await supervisor.stop(sup);
  });

  test("a failed restart is tried again (child is restarted when trying again)", async () => {
    const sup = await supervisor.startDynamic({ intensity: 2 });
    const isTry = (m: unknown) => Array.isArray(m) && m[0] === "try_again";
    const pid = pidIn(
      await supervisor.startChild(
        sup,
        moduleWorker(["try_again", self()], { restart: "permanent" }),
      ),
    );
    assert.deepEqual(await next(isTry), ["try_again", true]);
    await assertKill(pid, "shutdown");
    assert.deepEqual(await next(isTry), ["try_again", false]);
    assert.deepEqual(await next(isTry), ["try_again", true]);
    const c = await counts(sup);
    assert.deepEqual([c.workers, c.active], [1, 1]);
    await supervisor.stop(sup);
  });

  for (const intensity of [1, 10]) {
    test(`a child that cannot restart stops the supervisor with shutdown, intensity ${intensity} (child triggers maximum restarts / intensity when trying again)`, async () => {
      const sup = await supervisor.startDynamicLink({ intensity });
      const pid = pidIn(
        await supervisor.startChild(
          sup,
          moduleWorker(["restart", "error"], { restart: "permanent" }),
        ),
      );
      await assertKill(pid, "shutdown");
      await checkExit(sup, "shutdown");
      await assertNoMessages();
    });
  }

  test("shutdown 0 and 1 are valid (with valid shutdown)", async () => {
    const sup = await supervisor.startDynamicLink();
    for (const n of [0, 1]) {
      const pid = pidIn(
        await supervisor.startChild(sup, sleepyWorker({ id: n, shutdown: n })),
      );
      await assertKill(pid, "shutdown");
    }
    await supervisor.stop(sup);
    await checkExit(sup, "normal");
  });
});

describe("DynamicSupervisor stop (terminate/2)", () => {
  /** Starts three children, stops the supervisor with shutdown, returns each DOWN reason. */
  async function stopWith(
    child: ChildSpec,
    ready = false,
  ): Promise<unknown[]> {
    const sup = await supervisor.startDynamicLink();
    const pids: Pid[] = [];
    for (let i = 0; i < 3; i++) {
      pids.push(pidIn(await supervisor.startChild(sup, child)));
    }
    if (ready) {
      for (let i = 0; i < 3; i++) await receive((m) => m === "ready");
    }
    const refs = pids.map((p) => monitor(p));
    exit(sup, "shutdown");
    const reasons = [];
    for (const ref of refs) reasons.push(await downReason(ref));
    await settle();
    await checkExit(sup, "shutdown");
    return reasons;
  }

  test("brutal_kill children are killed (terminates children with brutal kill)", async () => {
    assert.deepEqual(
      await stopWith(sleepyWorker({ shutdown: "brutal_kill" })),
      ["killed", "killed", "killed"],
    );
    await assertNoMessages();
  });

  test("infinity children exit shutdown, or with their own reason (terminates children with infinity shutdown [and abnormal reason])", async () => {
    assert.deepEqual(
      await stopWith(sleepyWorker({ shutdown: "infinity" })),
      ["shutdown", "shutdown", "shutdown"],
    );
    const own = { shutdown: "oops" };
    assert.deepEqual(
      await stopWith(
        { id: "t", start: trapper(self(), () => own), shutdown: "infinity" },
        true,
      ),
      [own, own, own],
    );
    await assertNoMessages();
  });

  test("integer shutdown children exit shutdown, or with their own reason (terminates children with integer shutdown [and abnormal reason])", async () => {
    await withClock(async () => {
      assert.deepEqual(
        await stopWith(sleepyWorker({ shutdown: 1000 })),
        ["shutdown", "shutdown", "shutdown"],
      );
      const own = { shutdown: "oops" };
      assert.deepEqual(
        await stopWith(
          { id: "t", start: trapper(self(), () => own), shutdown: 1000 },
          true,
        ),
        [own, own, own],
      );
      await assertNoMessages();
    });
  });

  test("a child that traps exits and ignores the shutdown is killed when its time is up (terminates children with expired integer shutdown)", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamicLink();
      const childFun = sleepyWorker({ shutdown: 1 });
      const childTmt: ChildSpec = {
        id: "tmt",
        start: trapper(self(), null),
        shutdown: 1,
      };
      const child1 = pidIn(await supervisor.startChild(sup, childFun));
      const child2 = pidIn(await supervisor.startChild(sup, childTmt));
      const child3 = pidIn(await supervisor.startChild(sup, childFun));
      await receive((m) => m === "ready");
      const refs = [child1, child2, child3].map((p) => monitor(p));
      exit(sup, "shutdown");
      assert.equal(await downReason(refs[0]), "shutdown");
      assert.equal(await downReason(refs[2]), "shutdown");
      await settle();
      assert.ok(isAlive(child2) && isAlive(sup));
      await clock.advance(1);
      assert.equal(await downReason(refs[1]), "killed");
      await settle();
      await checkExit(sup, "shutdown");
      await assertNoMessages();
    });
  });

  test("permanent children exiting normal during the shutdown keep their reason (terminates children with permanent restart and normal reason)", async () => {
    assert.deepEqual(
      await stopWith(
        {
          id: "t",
          start: trapper(self(), () => "normal"),
          shutdown: "infinity",
          restart: "permanent",
        },
        true,
      ),
      ["normal", "normal", "normal"],
    );
    await assertNoMessages();
  });

  test("mixed shutdown rules: each child its own (terminates with mixed children)", async () => {
    const sup = await supervisor.startDynamicLink();
    const child1 = pidIn(
      await supervisor.startChild(sup, sleepyWorker({ shutdown: "infinity" })),
    );
    const child2 = pidIn(
      await supervisor.startChild(
        sup,
        sleepyWorker({ shutdown: "brutal_kill" }),
      ),
    );
    const refs = [monitor(child1), monitor(child2)];
    await assertKill(sup, "shutdown");
    assert.equal(await downReason(refs[0]), "shutdown");
    assert.equal(await downReason(refs[1]), "killed");
    await checkExit(sup, "shutdown");
    await assertNoMessages();
  });
});

describe("DynamicSupervisor.terminateChild()", () => {
  for (const shutdown of ["brutal_kill", 1000] as const) {
    test(
      `stops a child by pid (${shutdown}); again: notFound (terminates child with ${
        shutdown === 1000 ? "integer shutdown" : "brutal kill"
      })`,
      async () => {
        const sup = await supervisor.startDynamic();
        const pid = pidIn(
          await supervisor.startChild(sup, sleepyWorker({ shutdown })),
        );
        const ref = monitor(pid);
        await supervisor.terminateChild(sup, pid);
        assert.equal(
          await downReason(ref),
          shutdown === "brutal_kill" ? "killed" : "shutdown",
        );
        await supError(supervisor.terminateChild(sup, pid), "not_found");
        const c = await counts(sup);
        assert.deepEqual([c.workers, c.active], [0, 0]);
        await supervisor.stop(sup);
      },
    );
  }

  test("stops a child that is restarting, by its last pid (terminates restarting child)", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamic({
        intensity: 100_000,
        backoff: { initial: 1000, max: 1000 },
      });
      const pid = pidIn(
        await supervisor.startChild(
          sup,
          moduleWorker(["restart", "error"], { restart: "permanent" }),
        ),
      );
      await assertKill(pid, "shutdown");
      await clock.advance(1000); // the restart fails
      assert.equal(
        (await supervisor.whichChildren(sup))[0].pid,
        "restarting",
      );
      await supervisor.terminateChild(sup, pid);
      await supError(supervisor.terminateChild(sup, pid), "not_found");
      const c = await counts(sup);
      assert.deepEqual([c.workers, c.active], [0, 0]);
      await supervisor.stop(sup);
    });
  });

  test("an id or a pid that is not a child: simpleOneForOne / notFound; restartChild and deleteChild do not apply", async () => {
    const sup = await supervisor.startDynamic();
    pidIn(await supervisor.startChild(sup, sleepyWorker()));
    await supError(
      supervisor.terminateChild(sup, "task"),
      "simple_one_for_one",
    );
    await supError(supervisor.terminateChild(sup, self()), "not_found");
    const dead = spawnLink(() => {});
    await checkExit(dead, "normal");
    await supError(supervisor.terminateChild(sup, dead), "not_found");
    await supError(supervisor.restartChild(sup, "task"), "simple_one_for_one");
    await supError(supervisor.deleteChild(sup, "task"), "simple_one_for_one");
    await supervisor.stop(sup);
  });
});

describe("DynamicSupervisor beyond Elixir", () => {
  test("getChildspec() by pid gives the child's full spec", async () => {
    const sup = await supervisor.startDynamic({ extraArguments: [1] });
    const spec = sleepyWorker({ args: [2] });
    const pid = pidIn(await supervisor.startChild(sup, spec));
    assert.deepEqual(await supervisor.getChildspec(sup, pid), {
      ...spec,
      restart: "permanent",
      significant: false,
      shutdown: 5000,
      type: "worker",
      modules: [],
    });
    await supError(supervisor.getChildspec(sup, "task"), "not_found");
    await supervisor.stop(sup);
  });

  test("backoff delays restarts; a restarting child shows its restartAt; events name the child", async () => {
    await withClock(async (clock) => {
      const events: SupervisorEvent[] = [];
      const off = supervisor.subscribe((e) => events.push(e));
      try {
        const sup = await supervisor.startDynamic({
          backoff: { initial: 50, max: 500 },
        });
        const pid = pidIn(await supervisor.startChild(sup, sleepyWorker()));
        await assertKill(pid, "boom");
        const [info] = await supervisor.whichChildren(sup);
        assert.equal(info.pid, "restarting");
        assert.equal(info.restartAt, 50);
        await clock.advance(50);
        const [again] = await supervisor.whichChildren(sup);
        assert.ok(again.pid instanceof Object && again.pid !== pid);
        assert.deepEqual(
          events.filter((e) => e.supervisor === sup).map((e) => e.type),
          [
            "child_started",
            "child_exited",
            "restart_delayed",
            "child_started",
            "child_restarted",
          ],
        );
        await supervisor.stop(sup);
      } finally {
        off();
      }
    });
  });

  test("stopping, each child still alive is killed after its own shutdown time", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamic();
      const quick = pidIn(
        await supervisor.startChild(sup, {
          id: "quick",
          start: trapper(self(), null),
          shutdown: 10,
        }),
      );
      const patient = pidIn(
        await supervisor.startChild(sup, {
          id: "patient",
          start: trapper(self(), null),
          shutdown: 1000,
        }),
      );
      await receive((m) => m === "ready");
      await receive((m) => m === "ready");
      const refs = [monitor(quick), monitor(patient)];
      const stopping = supervisor.stop(sup);
      await clock.advance(10);
      assert.equal(await downReason(refs[0]), "killed");
      assert.ok(isAlive(patient));
      await clock.advance(990);
      assert.equal(await downReason(refs[1]), "killed");
      await stopping;
    });
  });

  test("children stop all at once when the supervisor stops", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.startDynamic();
      const slow: ChildSpec = {
        id: "slow",
        start: trapper(self(), null),
        shutdown: 1000,
      };
      const pids = [];
      for (let i = 0; i < 3; i++) {
        pids.push(pidIn(await supervisor.startChild(sup, slow)));
        await receive((m) => m === "ready");
      }
      const stopping = supervisor.stop(sup);
      await clock.advance(1000); // one timer for all, not 3 s
      await stopping;
      assert.ok(pids.every((p) => !isAlive(p)));
    });
  });
});
