// Options and specs refuse unknown keys (issue 12): every options object
// and child spec of supervisor, DynamicSupervisor, director, tracker, task
// and table manager; the typos are the issue's own. Each test fails if its
// module's check is taken out (the key would then be silently ignored).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as task from "../task.ts";
import * as tableManager from "../table_manager.ts";
import { exit, spawnLink } from "../process.ts";
import { ChildSpecError } from "../errors.ts";
import { assertNoMessages, flush, forever, settle } from "./_helpers.ts";

const worker = () => spawnLink(forever);

/** Awaits a rejection and returns the error; fails if it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

/** A ChildSpecError naming `key`, whose message says it and `known`. */
function assertUnknownKey(
  error: unknown,
  key: string,
  known: string,
  prefix: string,
): void {
  assert.ok(error instanceof ChildSpecError, String(error));
  assert.ok(error instanceof TypeError);
  assert.equal(error.key, key);
  assert.equal(
    error.message,
    `${prefix}unknown key ${JSON.stringify(key)} (known: ${known})`,
  );
}

/** A TypeError `Cannot OP: unknown option "key" (known: ...)`. */
function assertUnknownOption(
  error: unknown,
  op: string,
  key: string,
  known: string,
): void {
  assert.ok(error instanceof TypeError, String(error));
  assert.equal(
    error.message,
    `Cannot ${op}: unknown option ${JSON.stringify(key)} (known: ${known})`,
  );
}

const SUP_SPEC_KEYS =
  "id, start, args, restart, significant, shutdown, type, modules";
const SUP_FLAG_KEYS =
  "strategy, intensity, period, autoShutdown, backoff, children";
const DYN_FLAG_KEYS =
  "strategy, autoShutdown, intensity, period, maxChildren, extraArguments, backoff";

describe("supervisor: unknown keys", () => {
  test("supervisor.start() refuses an unknown flag (intesity) with a ChildSpecError naming it", async () => {
    const err = await rejection(
      supervisor.start({ intesity: 3 } as never),
    );
    assertUnknownKey(
      err,
      "intesity",
      SUP_FLAG_KEYS,
      "Cannot use supervisor flags: ",
    );
    assert.deepEqual((err as ChildSpecError).reason, [
      "unknown_flag",
      "intesity",
    ]);
  });

  test("supervisor.start() refuses an unknown start option (tmeout) with a TypeError", async () => {
    const err = await rejection(
      supervisor.start({}, { tmeout: 100 } as never),
    );
    assertUnknownOption(
      err,
      "start",
      "tmeout",
      "name, timeout, signal, logger, label",
    );
    const linked = await rejection(
      supervisor.startLink({}, { tmeout: 100 } as never),
    );
    assertUnknownOption(
      linked,
      "startLink",
      "tmeout",
      "name, timeout, signal, logger, label",
    );
  });

  test("supervisor.start() refuses a child spec key it does not know (restart_type), naming the child", async () => {
    const err = await rejection(supervisor.start({
      children: [{ id: "db", start: worker, restart_type: "temporary" }],
    } as never));
    assertUnknownKey(
      err,
      "restart_type",
      SUP_SPEC_KEYS,
      'Cannot use child spec "db": ',
    );
    assert.equal(
      supervisor.checkChildspecs([{ id: 1, start: worker, plans: [] }])?.key,
      "plans",
    );
  });

  test("supervisor.startChild() refuses an unknown child spec key; the supervisor lives on", async () => {
    const sup = await supervisor.start({});
    const err = await rejection(
      supervisor.startChild(sup, {
        id: "w",
        start: worker,
        restart_type: "temporary",
      } as never),
    );
    assertUnknownKey(
      err,
      "restart_type",
      SUP_SPEC_KEYS,
      'Cannot use child spec "w": ',
    );
    assert.equal((await supervisor.countChildren(sup)).specs, 0);
    await supervisor.stop(sup);
  });

  test("an unknown backoff key (jiter) is refused", async () => {
    const err = await rejection(supervisor.start({
      backoff: { initial: 10, max: 100, jiter: 0.5 },
    } as never));
    assert.ok(err instanceof ChildSpecError);
    assert.equal(err.key, "backoff");
    assert.match(
      err.message,
      /'backoff' has an unknown key "jiter" \(known: initial, max, factor, jitter\)/,
    );
  });

  test("an init function's spec with an unknown flag fails the start with ['supervisor_data', r]", async () => {
    const err = await rejection(
      supervisor.start(() =>
        ({ strategy: "one_for_one", intesity: 2 }) as never
      ),
    );
    assert.deepEqual((err as { reason?: unknown }).reason, ["supervisor_data", [
      "unknown_flag",
      "intesity",
    ]]);
  });
});

describe("DynamicSupervisor: unknown keys", () => {
  test("supervisor.startDynamic() refuses max_children, naming the known flags", async () => {
    const err = await rejection(
      supervisor.startDynamic({ max_children: 1 } as never),
    );
    assertUnknownKey(
      err,
      "max_children",
      DYN_FLAG_KEYS,
      "Cannot use supervisor flags: ",
    );
    // children is a static supervisor's key, not a dynamic one's.
    const children = await rejection(
      supervisor.startDynamic({ children: [] } as never),
    );
    assert.equal((children as ChildSpecError).key, "children");
  });

  test("supervisor.startChild() on a dynamic supervisor refuses an unknown spec key", async () => {
    const sup = await supervisor.startDynamic();
    const err = await rejection(
      supervisor.startChild(sup, {
        id: "w",
        start: worker,
        shutdwn: 100,
      } as never),
    );
    assertUnknownKey(
      err,
      "shutdwn",
      SUP_SPEC_KEYS,
      'Cannot use child spec "w": ',
    );
    await supervisor.stop(sup);
  });
});

const DIR_SPEC_KEYS =
  "id, start, args, plan, count, terminateTimeout, type, modules, append, logValidator";

describe("director: unknown keys", () => {
  for (const typo of ["terminate_timeout", "restart_type", "plans"]) {
    test(`director.start() refuses a child spec with ${typo}, naming the child and the known keys`, async () => {
      const err = await rejection(director.start({
        children: [{ id: "c", start: worker, [typo]: 1 }],
      } as never));
      assertUnknownKey(
        err,
        typo,
        DIR_SPEC_KEYS,
        'Cannot use child spec "c": ',
      );
    });
  }

  test("director.startChild() refuses a spec with plans; the director lives on", async () => {
    const d = await director.start({});
    const err = await rejection(
      director.startChild(d, {
        id: "c",
        start: worker,
        plans: ["restart"],
      } as never),
    );
    assertUnknownKey(
      err,
      "plans",
      DIR_SPEC_KEYS,
      'Cannot use child spec "c": ',
    );
    assert.equal((await director.countChildren(d)).specs, 0);
    await director.stop(d);
  });

  test("director.start() refuses an unknown start option (tmeout) and an unknown spec key (child)", async () => {
    const err = await rejection(director.start({}, { tmeout: 5 } as never));
    assertUnknownOption(
      err,
      "start",
      "tmeout",
      "name, timeout, signal, debug, logger, logValidator, label",
    );
    const spec = await rejection(director.start({ child: [] } as never));
    assert.ok(spec instanceof ChildSpecError);
    assert.equal(
      spec.message,
      'Cannot use director spec: unknown key "child" (known: children, defaultChildspec)',
    );
    const fromInit = await rejection(
      director.start(() => ({ child: [] }) as never),
    );
    assert.deepEqual((fromInit as { reason?: unknown }).reason, ["start_spec", [
      "unknown_key",
      "child",
    ]]);
  });

  test("a default childspec with an unknown key (plans) is refused", async () => {
    const err = await rejection(
      director.start({ defaultChildspec: { plans: [] } } as never),
    );
    assert.ok(err instanceof ChildSpecError);
    assert.equal(err.key, "plans");
    assert.match(
      err.message,
      /^Cannot use default childspec: unknown key "plans" \(known: start, args, plan, count, terminateTimeout, type, modules, logValidator\)$/,
    );
  });
});

const TRACKER_SPEC_KEYS =
  "id, start, args, restart, shutdown, type, modules, afterTerminate";

describe("tracker: unknown keys", () => {
  test("tracker.findOrOpen() refuses after_terminate, naming afterTerminate among the known keys (also right after a valid spec)", async () => {
    await tracker.start("opts_tracker");
    const called: unknown[] = [];
    const afterTerminate = () => called.push("after");
    // The same spec but for the id and the typo: past the spec cache too.
    await tracker.findOrOpen("opts_tracker", {
      id: 1,
      start: worker,
      afterTerminate,
    });
    const err = await rejection(
      tracker.findOrOpen("opts_tracker", {
        id: 2,
        start: worker,
        afterTerminate,
        after_terminate: afterTerminate,
      } as never),
    );
    assertUnknownKey(
      err,
      "after_terminate",
      TRACKER_SPEC_KEYS,
      "Cannot use child spec 2: ",
    );
    const first = await rejection(
      tracker.findOrOpen("opts_tracker", {
        id: 3,
        start: worker,
        after_terminate: afterTerminate,
      } as never),
    );
    assert.equal((first as ChildSpecError).key, "after_terminate");
    assert.equal((await tracker.whichChildren("opts_tracker")).length, 1);
    await tracker.stop("opts_tracker");
    assert.deepEqual(called, ["after"]);
  });

  test("tracker.findOrOpen() and getAttr() refuse an unknown option (tmeout)", async () => {
    await tracker.start("opts_tracker2");
    const spec = { id: 1, start: worker };
    assertUnknownOption(
      await rejection(
        tracker.findOrOpen("opts_tracker2", spec, { tmeout: 5 } as never),
      ),
      "findOrOpen",
      "tmeout",
      "timeout, signal",
    );
    assertUnknownOption(
      await rejection(
        tracker.getAttr("opts_tracker2", 1, "k", { tmeout: 5 } as never),
      ),
      "getAttr",
      "tmeout",
      "timeout, signal",
    );
    assert.equal((await tracker.whichChildren("opts_tracker2")).length, 0);
    await tracker.stop("opts_tracker2");
  });

  test("tracker.start() refuses an unknown backoff key; addExistingChild an unknown spec key", async () => {
    const err = await rejection(
      tracker.start("opts_tracker3", {
        backoff: { initial: 1, max: 2, jiter: 0 },
      } as never),
    );
    assertUnknownOption(
      err,
      "start tracker: 'backoff'",
      "jiter",
      "initial, max, factor, jitter",
    );
    await tracker.start("opts_tracker3");
    const pid = spawnLink(forever);
    const existing = await rejection(
      tracker.addExistingChild("opts_tracker3", {
        id: "x",
        pid,
        restart_type: "temporary",
      } as never),
    );
    assertUnknownKey(
      existing,
      "restart_type",
      `${TRACKER_SPEC_KEYS}, pid`,
      'Cannot use child spec "x": ',
    );
    await tracker.stop("opts_tracker3");
    exit(pid, "kill");
    await settle();
    await flush();
  });
});

describe("task: unknown keys", () => {
  test("task.startSupervisor() refuses max_children; task.async() and startChild() refuse an unknown option", async () => {
    assertUnknownOption(
      await rejection(task.startSupervisor({ max_children: 1 } as never)),
      "startSupervisor",
      "max_children",
      "name, maxChildren, signal, label",
    );
    const sup = await task.startSupervisor();
    assertUnknownOption(
      await rejection(task.async(sup, () => 1, { shutdwn: 5 } as never)),
      "async",
      "shutdwn",
      "shutdown",
    );
    assertUnknownOption(
      await rejection(task.startChild(sup, () => 1, { shutdwn: 5 } as never)),
      "startChild",
      "shutdwn",
      "shutdown",
    );
    assert.equal((await supervisor.countChildren(sup)).specs, 0);
    await supervisor.stop(sup);
    await assertNoMessages();
  });
});

describe("table manager: unknown keys", () => {
  test("tableManager.startGhost() refuses an unknown option (nmae); start() names a bad signal", async () => {
    const target = spawnLink(forever);
    assertUnknownOption(
      await rejection(
        tableManager.startGhost(target, 100, { nmae: "g" } as never),
      ),
      "startGhost",
      "nmae",
      "init, name, signal",
    );
    const err = await rejection(
      tableManager.start("opts_consumer", {}, { signal: "stop" } as never),
    );
    assert.ok(err instanceof TypeError);
    assert.equal(
      err.message,
      `Cannot start: 'signal' must be an AbortSignal, got "stop"`,
    );
    assertUnknownOption(
      await rejection(
        tableManager.start("opts_consumer", {}, { tmeout: 5 } as never),
      ),
      "start",
      "tmeout",
      "name, tableName, timeout, onTimeout, onLost, gift, signal, label",
    );
    exit(target, "kill");
    await flush();
  });
});

describe("unknown keys: hostile specs and options", () => {
  const hostile = () =>
    new Proxy({ id: "h", start: worker }, {
      ownKeys() {
        throw new Error("no keys for you");
      },
    });

  test("supervisor.startChild() and director.startChild() reject a spec whose keys cannot be read; the server lives on", async () => {
    const sup = await supervisor.start({});
    await assert.rejects(
      supervisor.startChild(sup, hostile() as never),
      /no keys for you/,
    );
    assert.equal((await supervisor.countChildren(sup)).specs, 0);
    await supervisor.stop(sup);
    const d = await director.start({});
    await assert.rejects(
      director.startChild(d, hostile() as never),
      /no keys for you/,
    );
    await director.stop(d);
    await assertNoMessages();
  });

  test("tracker.findOrOpen() rejects a spec or options whose keys cannot be read; tracker.increment() refuses an unknown option", async () => {
    await tracker.start("opts_hostile");
    await assert.rejects(
      tracker.findOrOpen("opts_hostile", hostile() as never),
      /no keys for you/,
    );
    const spec = { id: 1, start: worker };
    await assert.rejects(
      tracker.findOrOpen("opts_hostile", spec, hostile() as never),
      /no keys for you/,
    );
    await tracker.findOrOpen("opts_hostile", spec);
    assert.throws(
      () =>
        tracker.increment("opts_hostile", 1, "n", 1, { defualt: 0 } as never),
      {
        name: "TypeError",
        message: 'Cannot increment: unknown option "defualt" (known: default)',
      },
    );
    assert.equal(
      tracker.increment("opts_hostile", 1, "n", 1, { default: 0 }),
      1,
    );
    await tracker.stop("opts_hostile");
    await flush();
  });
});
