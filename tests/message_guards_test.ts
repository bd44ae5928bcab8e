// The messages the library sends, as types and type guards: isExit and
// isDown (process.ts), isEtsTransfer (ets.ts), isTimeout (timer.ts). Each
// accepts the real message, filters by pid/ref/table when asked, refuses
// look-alikes, never throws on hostile values, and types receive().
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  type DownMessage,
  exit,
  type ExitMessage,
  isDown,
  isExit,
  monitor,
  receive,
  self,
  spawn,
  spawnLink,
} from "../process.ts";
import { create, type EtsTransferMessage, isEtsTransfer } from "../ets.ts";
import { isTimeout, startTimer, type TimeoutMessage } from "../timer.ts";
import {
  assertNoMessages,
  cleanup,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";
import {
  cyclic,
  revokedProxy,
  throwingGetters,
  throwingPrimitive,
  throwingProxy,
} from "./_hostile.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;
function assertType<T extends true>(_ok?: T): void {}

/** Values that look like messages but are not. */
function lookAlikes(tag: string): unknown[] {
  return [
    tag,
    [tag],
    [tag.toLowerCase(), null, null, null, null],
    { 0: tag, length: 3 },
    null,
    undefined,
    42,
  ];
}

/** Hostile values: a revoked proxy, proxies whose every trap throws. */
function hostile(): unknown[] {
  const revocable = Proxy.revocable([], {});
  revocable.revoke();
  const throwing = new Proxy(["EXIT", 1, 2], {
    get() {
      throw new Error("get trap");
    },
    getPrototypeOf() {
      throw new Error("proto trap");
    },
  });
  return [
    revocable.proxy,
    throwing,
    revokedProxy([]),
    throwingProxy([]),
    throwingPrimitive(),
    throwingGetters(),
    cyclic(),
  ];
}

describe("isExit()", () => {
  test("isExit() accepts a linked process's EXIT and filters by pid", async () => {
    const pid = spawnLink(() => {
      throw "boom";
    });
    const other = spawn(forever);
    const m = await receive((x) => isExit(x, pid));
    assertType<Equal<typeof m, ExitMessage>>();
    assert.equal(m[1], pid);
    assert.equal(m[2], "boom");
    assert.equal(isExit(m), true);
    assert.equal(isExit(m, other), false);
    await cleanup(other);
    await assertNoMessages();
  });

  test("isExit() refuses look-alikes and hostile values without throwing", () => {
    for (const v of [...lookAlikes("EXIT"), ["EXIT", "not a pid", 1]]) {
      assert.equal(isExit(v), false);
    }
    for (const v of hostile()) {
      assert.equal(isExit(v), false);
    }
  });
});

describe("isDown()", () => {
  test("receive(isDown) resolves to a typed DownMessage", async () => {
    const pid = spawn(forever);
    const ref = monitor(pid);
    const other = monitor("nobody_at_all");
    exit(pid, "kill");
    const m = await receive((x) => isDown(x, ref));
    assertType<Equal<typeof m, DownMessage>>();
    assert.equal(m[1], ref);
    assert.equal(m[3], pid);
    assert.equal(m[4], "killed");
    const n = await receive(isDown);
    assertType<Equal<typeof n, DownMessage>>();
    assert.equal(n[1], other);
    assert.equal(n[4], "noproc");
    assert.equal(isDown(n, ref), false);
    await assertNoMessages();
  });

  test("isDown() refuses look-alikes and hostile values without throwing", () => {
    const ref = monitor("nobody_else");
    for (
      const v of [
        ...lookAlikes("DOWN"),
        ["DOWN", ref, "port", "x", "noproc"],
        ["DOWN", "ref", "process", "x", "noproc"],
      ]
    ) {
      assert.equal(isDown(v), false);
    }
    for (const v of hostile()) {
      assert.equal(isDown(v), false);
    }
    return receive((m) => isDown(m, ref)).then(() => {});
  });
});

describe("isEtsTransfer()", () => {
  test("receive(isEtsTransfer) gets the heir's ETS-TRANSFER, typed", async () => {
    const me = self();
    const owner = spawn(async () => {
      create("guards_heir", { heir: { pid: me, data: "gift" } });
      await forever();
    });
    await settle();
    exit(owner, "kill");
    const m = await receive(isEtsTransfer);
    assertType<Equal<typeof m, EtsTransferMessage>>();
    assert.equal(m[1].name, "guards_heir");
    assert.equal(m[2], owner);
    assert.equal(m[3], "gift");
    assert.equal(isEtsTransfer(m, m[1]), true);
    const other = create("guards_other");
    assert.equal(isEtsTransfer(m, other), false);
    other.destroy();
    m[1].destroy();
    await assertNoMessages();
  });

  test("isEtsTransfer() refuses look-alikes and hostile values", () => {
    for (
      const v of [
        ...lookAlikes("ETS-TRANSFER"),
        ["ETS-TRANSFER", "table", self(), 1],
      ]
    ) {
      assert.equal(isEtsTransfer(v), false);
    }
    for (const v of hostile()) {
      assert.equal(isEtsTransfer(v), false);
    }
  });
});

describe("isTimeout()", () => {
  test("isTimeout() matches startTimer's message and filters by ref", async () => {
    await withClock(async (clock) => {
      const ref = startTimer(10, self(), { job: 1 });
      const other = startTimer(20, self(), "later");
      await clock.advance(20);
      const m = await receive((x) => isTimeout(x, ref));
      assertType<Equal<typeof m, TimeoutMessage>>();
      assert.equal(m[1], ref);
      assert.deepEqual(m[2], { job: 1 });
      const n = await receive(isTimeout);
      assert.equal(n[1], other);
      assert.equal(isTimeout(n, ref), false);
    });
  });

  test("isTimeout() refuses look-alikes and hostile values", () => {
    for (
      const v of [
        ...lookAlikes("timeout"),
        ["timeout", "ref", 1],
        ["timeout", self(), 1],
      ]
    ) {
      assert.equal(isTimeout(v), false);
    }
    for (const v of hostile()) {
      assert.equal(isTimeout(v), false);
    }
  });
});
