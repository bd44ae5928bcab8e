// TableManager: a port of Immortal's ets_table_manager_test.exs and
// ghost_test.exs (reference seeds.md §3.4), with the consumer really killed
// (the original's "restart" never killed anything, §3.3), plus a test for
// every defect of §3.3/§3.5 and §4.8.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { captureReports, formatReport } from "../logger.ts";
import * as supervisor from "../supervisor.ts";
import * as TableManager from "../table_manager.ts";
import type { TableManagerEvent } from "../table_manager.ts";
import * as GenServer from "../gen_server.ts";
import * as Ets from "../ets.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  processInfo,
  receive,
  register,
  self,
  send,
  spawn,
  whereis,
} from "../process.ts";
import { CallError, EtsError, StartError } from "../errors.ts";
import { formatTerm } from "../_format.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";

// ------------------------------------------------------------- helpers --

/**
 * Immortal's TableConsumer: a gen_server that keeps the table it is given
 * (handle_info of ETS-TRANSFER) and answers "table".
 */
const consumer: GenServer.GenServer<Ets.Table | null, undefined> = {
  init: () => ["ok", null],
  handleInfo: (msg, t) =>
    Array.isArray(msg) && msg[0] === "ETS-TRANSFER"
      ? ["noreply", msg[1] as Ets.Table]
      : ["noreply", t],
  handleCall: (req, _from, t) => {
    if (req === "table") return ["reply", t, t];
    if (req === "give back") {
      t!.giveAway(giveBackTo!, null);
      return ["reply", "ok", null];
    }
    return ["reply", "unknown", t];
  },
};
/** Whom the consumer gives its table to, on "give back". */
let giveBackTo: Pid | undefined;

/** Starts (or "restarts", as a supervisor would) the consumer `name`. */
function startConsumer(name: string): Promise<Pid> {
  return GenServer.start(consumer, undefined, { name });
}

/** The table the consumer holds, asked of the consumer itself. */
function consumerTable(name: string): Promise<Ets.Table | null> {
  return GenServer.call<Ets.Table | null>(name, "table");
}

/** Records every table manager event, until `stop()`. */
function recorder() {
  const events: TableManagerEvent[] = [];
  const stop = TableManager.subscribe((e) => events.push(e));
  return {
    events,
    stop,
    types: (manager?: Pid) =>
      events.filter((e) => manager === undefined || e.manager === manager)
        .map((e) => e.type),
  };
}

/** Lets deliveries run until `cond()` holds (a bounded number of turns). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (cond()) return;
    await settle();
  }
  assert.fail(`timed out waiting for: ${what}`);
}

/** Waits until the consumer `name` (alive, registered) owns `table`. */
function handedTo(table: Ets.Table, name: string): Promise<void> {
  return until(() => {
    const pid = whereis(name);
    return pid !== undefined && table.info()?.owner === pid;
  }, `${name} owns ${table.info()?.name}`);
}

/** The reason of a StartError, asserting the class. */
async function startFails(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StartError, `expected StartError, got ${e}`);
    return e.reason;
  }
  assert.fail("expected the start to fail");
}

/** Kills `pid` for real and waits until it is dead (DOWN seen). */
async function kill(pid: Pid): Promise<void> {
  const ref = monitor(pid);
  exit(pid, "kill");
  assert.equal(await downReason(ref), "killed");
}

/** Fails if a table called `name` is still alive. */
function assertNoTable(name: string): void {
  assert.deepEqual(
    Ets.all().filter((t) => t.info()?.name === name),
    [],
    `table ${name} left behind`,
  );
}

// ------------------------------------------ Immortal's suite, ported --

describe("TableManager (Immortal's ets_table_manager_test)", () => {
  test("start() returns a manager pid (doctest: start_link(TableConsumer, [:public]))", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_doctest");
      const m = await TableManager.start("tm_doctest", { access: "public" });
      assert.ok(isAlive(m));
      assert.ok(processInfo(m)!.trapExit);
      await TableManager.stop(m);
      await kill(c);
      assertNoTable("tm_doctest");
    });
  });

  test("the table shares the consumer's name; with named: true Ets.whereis finds it", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_named");
      const m = await TableManager.start("tm_named", {
        access: "public",
        named: true,
      });
      const t = Ets.whereis("tm_named")!;
      assert.ok(t !== undefined);
      assert.equal(t.info()!.type, "set");
      assert.equal(t.info()!.name, "tm_named");
      await handedTo(t, "tm_named");
      await TableManager.stop(m);
      await kill(c);
      assert.equal(Ets.whereis("tm_named"), undefined);
    });
  });

  test("table options are applied; the consumer owns the table and the manager is its heir", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_attrs");
      const m = await TableManager.start("tm_attrs", {
        type: "ordered_set",
        keyPos: 1,
      });
      const t = await TableManager.table(m);
      await handedTo(t, "tm_attrs");
      const info = t.info()!;
      assert.equal(info.type, "ordered_set");
      assert.equal(info.keyPos, 1);
      assert.equal(info.access, "protected");
      assert.equal(info.owner, c);
      assert.equal(info.heir, m);
      await TableManager.stop(m);
      await kill(c);
      assertNoTable("tm_attrs");
    });
  });

  test("table(manager) is the table the consumer was given", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_provide");
      const m = await TableManager.start("tm_provide", { access: "public" });
      const t = await TableManager.table(m);
      assert.ok(t instanceof Ets.Table);
      await handedTo(t, "tm_provide");
      assert.equal(await consumerTable("tm_provide"), t);
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("the table survives restarts of the consumer: killed for real, its data is there (vacuous upstream)", async () => {
    await withClock(async () => {
      const rec = recorder();
      let c = await startConsumer("tm_survive");
      const m = await TableManager.start("tm_survive", { access: "public" });
      const t = await TableManager.table(m);
      await handedTo(t, "tm_survive");
      t.insert(["test", "value"]);
      for (let round = 1; round <= 3; round++) {
        const before = c;
        await kill(c); // really dead: upstream's exit(pid, :normal) was not
        assert.ok(!isAlive(before));
        assert.equal(t.info()!.owner, m, "back with the manager (its heir)");
        c = await startConsumer("tm_survive"); // the "supervisor" restarts it
        assert.notEqual(c, before);
        await handedTo(t, "tm_survive");
        const given = await consumerTable("tm_survive");
        assert.equal(given, t, "the same table, not a new one");
        assert.deepEqual(given!.lookup("test"), [["test", "value"]]);
        t.insert([`round ${round}`, round]);
      }
      assert.equal(t.info()!.size, 4);
      const status = await TableManager.status(m);
      assert.equal(status.handOffs, 4);
      assert.equal(status.phase, "given");
      assert.equal(status.owner, c);
      assert.deepEqual(rec.types(m), [
        "created",
        "given",
        ...["reclaimed", "waiting", "consumer_down", "given"],
        ...["reclaimed", "waiting", "consumer_down", "given"],
        ...["reclaimed", "waiting", "consumer_down", "given"],
      ]);
      const down = rec.events.find((e) => e.type === "consumer_down")!;
      assert.equal(down.type === "consumer_down" && down.reason, "killed");
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
      assertNoTable("tm_survive");
    });
  });
});

// ------------------------------------------------- the hand-off wait --

describe("TableManager.start(): waiting for the consumer", () => {
  test("start() does not block on the consumer; it is given the table when it registers later", async () => {
    await withClock(async (clock) => {
      const rec = recorder();
      const m = await TableManager.start("tm_late", {}, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m);
      assert.equal(t.info()!.owner, m);
      assert.deepEqual(rec.types(m), ["created", "waiting"]);
      // Event-driven: no timer, no polling, an idle mailbox.
      await settle();
      assert.equal(clock.pending, 0);
      assert.equal(processInfo(m)!.status, "waiting");
      assert.equal(processInfo(m)!.messageQueueLength, 0);
      const s = await TableManager.status(m);
      assert.equal(s.phase, "waiting");
      assert.equal(s.waitingSince, clock.now());
      const c = await startConsumer("tm_late");
      await handedTo(t, "tm_late");
      assert.equal(await consumerTable("tm_late"), t);
      assert.deepEqual(rec.types(m), ["created", "waiting", "given"]);
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("a process registered by hand (register()) is a consumer too", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_plain", {}, {
        gift: "from the manager",
      });
      const t = await TableManager.table(m);
      const main = self();
      const c = spawn(async () => {
        send(main, await receive());
        await forever();
      });
      register("tm_plain", c);
      const msg = await receive((x) => Array.isArray(x)) as unknown[];
      assert.deepEqual(msg, ["ETS-TRANSFER", t, m, "from the manager"]);
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("the consumer timeout emits an event and, with onTimeout 'wait', keeps waiting", async () => {
    await withClock(async (clock) => {
      const rec = recorder();
      const m = await TableManager.start("tm_slow", {}, { timeout: 1000 });
      await clock.advance(999);
      assert.deepEqual(rec.types(m), ["created", "waiting"]);
      await clock.advance(1);
      await settle();
      const e = rec.events.at(-1)!;
      assert.deepEqual(e, {
        type: "timeout",
        manager: m,
        table: await TableManager.table(m),
        consumer: "tm_slow",
        timeout: 1000,
      });
      assert.ok(isAlive(m));
      assert.equal(clock.pending, 0, "one timeout per wait, not a poll");
      const c = await startConsumer("tm_slow");
      await handedTo(await TableManager.table(m), "tm_slow");
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("onTimeout 'stop': the manager exits with ['consumer_timeout', name] and its table goes with it", async () => {
    await withClock(async (clock) => {
      const m = await TableManager.start("tm_giveup", {}, {
        timeout: 50,
        onTimeout: "stop",
        onLost: "recreate",
      });
      const t = await TableManager.table(m);
      const ref = monitor(m);
      await clock.advance(50);
      assert.deepEqual(await downReason(ref), [
        "consumer_timeout",
        "tm_giveup",
      ]);
      assert.equal(t.info(), undefined);
      // Lost, not silently recreated: the next start says so.
      const captured = captureReports();
      try {
        const reason = await startFails(
          TableManager.start("tm_giveup", {}, { onLost: "fail" }),
        );
        assert.deepEqual(reason, ["table_lost", "tm_giveup"]);
        assert.deepEqual(
          captured.reports.filter((r) => r.kind === "table_manager_lost_table")
            .map((r) => r.reason),
          [["consumer_timeout", "tm_giveup"]],
        );
      } finally {
        captured.restore();
      }
    });
  });

  test("the timer restarts with each wait, and stops when the consumer comes", async () => {
    await withClock(async (clock) => {
      const rec = recorder();
      let c = await startConsumer("tm_rearm");
      const m = await TableManager.start("tm_rearm", {}, { timeout: 100 });
      const t = await TableManager.table(m);
      await handedTo(t, "tm_rearm");
      assert.equal(clock.pending, 0, "no timer while the consumer holds it");
      await kill(c);
      await settle();
      assert.equal(clock.pending, 1, "waiting again: its timeout is armed");
      await clock.advance(100);
      await settle();
      assert.equal(rec.types(m).filter((x) => x === "timeout").length, 1);
      c = await startConsumer("tm_rearm");
      await handedTo(t, "tm_rearm");
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
    });
  });
});

// --------------------------------------------------------------- races --

describe("TableManager: no race loses the table (Immortal #5)", () => {
  test("a consumer killed right after the hand-off, before reading ETS-TRANSFER, sends the table back", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_race1", { access: "public" }, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m);
      t.insert(["k", "v"]);
      const rec = recorder();
      // Kill the consumer as soon as the table is given, in the same turn.
      const stopKilling = TableManager.subscribe((e) => {
        if (e.type === "given" && e.manager === m) exit(e.consumer, "kill");
      });
      const first = await startConsumer("tm_race1");
      await until(() => !isAlive(first), "the first consumer dies");
      stopKilling();
      await until(() => t.info()!.owner === m, "the table is back");
      assert.deepEqual(t.lookup("k"), [["k", "v"]]);
      assert.deepEqual(rec.types(m), [
        "given",
        "reclaimed",
        "waiting",
        "consumer_down",
      ]);
      const c = await startConsumer("tm_race1");
      await handedTo(t, "tm_race1");
      assert.deepEqual((await consumerTable("tm_race1"))!.lookup("k"), [[
        "k",
        "v",
      ]]);
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
      await flush();
    });
  });

  test("a consumer that registers and dies before the manager acts is never given the table", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_race2", { access: "public" }, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m);
      t.insert(["k", "v"]);
      const rec = recorder();
      const doomed = spawn(forever);
      register("tm_race2", doomed); // the manager hears of it...
      exit(doomed, "kill"); // ...but it is dead by the time the manager acts
      await settle();
      assert.equal(t.info()!.owner, m);
      assert.deepEqual(rec.types(m), []);
      assert.ok(isAlive(m), "the manager did not crash (Immortal's badarg)");
      const c = await startConsumer("tm_race2");
      await handedTo(t, "tm_race2");
      assert.deepEqual(t.lookup("k"), [["k", "v"]]);
      rec.stop();
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("a consumer registered but still in init that then fails: the table comes back (Immortal #5's 'not yet alive')", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_initfail", { access: "public" }, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m);
      t.insert(["k", "v"]);
      const main = self();
      // Registered (by name) before init runs; init waits, then fails.
      const failing = GenServer.start(
        {
          init: async () => {
            send(main, ["in init", self()]);
            await receive((x) => x === "fail now");
            throw new Error("init failed");
          },
        },
        undefined,
        { name: "tm_initfail" },
      );
      const [, pid] = await receive((x) =>
        Array.isArray(x) && x[0] === "in init"
      ) as [string, Pid];
      await until(() => t.info()!.owner === pid, "given during init");
      send(pid, "fail now");
      await assert.rejects(failing, StartError);
      await until(() => t.info()!.owner === m, "the table is back");
      assert.deepEqual(t.lookup("k"), [["k", "v"]]);
      const c = await startConsumer("tm_initfail");
      await handedTo(t, "tm_initfail");
      await TableManager.stop(m);
      await kill(c);
    });
  });

  test("a consumer that gives the table back keeps none; the next process under the name gets it", async () => {
    await withClock(async () => {
      const rec = recorder();
      const c1 = await startConsumer("tm_back");
      const m = await TableManager.start("tm_back", {}, { timeout: Infinity });
      giveBackTo = m;
      const t = await TableManager.table(m);
      await handedTo(t, "tm_back");
      assert.equal(await GenServer.call("tm_back", "give back"), "ok");
      await until(() => t.info()!.owner === m, "the table is back");
      await settle();
      assert.equal(t.info()!.owner, m, "not given back to the same process");
      assert.deepEqual(rec.types(m), [
        "created",
        "given",
        "reclaimed",
        "waiting",
      ]);
      await GenServer.stop(c1);
      const c2 = await startConsumer("tm_back");
      await handedTo(t, "tm_back");
      rec.stop();
      await TableManager.stop(m);
      await kill(c2);
      giveBackTo = undefined;
    });
  });

  test("a consumer that passes the table on: the new owner's death returns it, and it goes to the consumer", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_pass");
      const m = await TableManager.start("tm_pass", { access: "public" }, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m);
      await handedTo(t, "tm_pass");
      t.insert(["k", 1]);
      const other = spawn(forever);
      giveBackTo = other;
      await GenServer.call("tm_pass", "give back"); // gives it to `other`
      assert.equal(t.info()!.owner, other);
      assert.equal(t.info()!.heir, m, "the heir stays");
      await kill(other);
      // Back to the manager (the heir), which gives it to the consumer.
      await until(() => t.info()!.owner === c, "the consumer has it again");
      assert.deepEqual(t.lookup("k"), [["k", 1]]);
      assert.equal((await TableManager.status(m)).handOffs, 2);
      await TableManager.stop(m);
      await kill(c);
      giveBackTo = undefined;
    });
  });

  test("a consumer that deletes the table: the manager reports it lost and stops", async () => {
    await withClock(async () => {
      const rec = recorder();
      const c = spawn(async () => {
        const [, table] = await receive() as [string, Ets.Table];
        table.destroy();
      });
      register("tm_deleter", c);
      const m = await TableManager.start("tm_deleter");
      const ref = monitor(m);
      assert.deepEqual(await downReason(ref), ["table_lost", "tm_deleter"]);
      assert.deepEqual(rec.types(m), [
        "created",
        "given",
        "consumer_down",
        "lost",
      ]);
      rec.stop();
    });
  });
});

// -------------------------------------------------- manager restarts --

describe("TableManager: the manager's own restart", () => {
  test("killed while the consumer holds the table: a new manager re-adopts it (no empty table, no second ETS-TRANSFER)", async () => {
    await withClock(async () => {
      const rec = recorder();
      let c = await startConsumer("tm_adopt");
      const m1 = await TableManager.start("tm_adopt", { access: "public" });
      const t = await TableManager.table(m1);
      await handedTo(t, "tm_adopt");
      t.insert(["k", "v"]);
      await kill(m1);
      assert.equal(t.info()!.owner, c, "the consumer keeps it");
      assert.equal(t.info()!.heir, undefined, "without a live heir");
      const m2 = await TableManager.start("tm_adopt", { access: "public" });
      assert.equal(await TableManager.table(m2), t, "the same table");
      assert.equal(t.info()!.heir, m2, "the new manager is the heir");
      assert.equal(t.info()!.owner, c);
      assert.equal(
        Ets.all().filter((x) => x.info()?.name === "tm_adopt").length,
        1,
        "no second table",
      );
      const adopted = rec.events.filter((e) => e.manager === m2);
      assert.deepEqual(adopted, [{
        type: "adopted",
        manager: m2,
        table: t,
        owner: c,
      }]);
      assert.equal((await TableManager.status(m2)).phase, "given");
      // The consumer got no second ETS-TRANSFER: it still has `t`.
      assert.equal(await consumerTable("tm_adopt"), t);
      // And the protection is back: a consumer crash returns the table.
      await kill(c);
      assert.equal(t.info()!.owner, m2);
      c = await startConsumer("tm_adopt");
      await handedTo(t, "tm_adopt");
      assert.deepEqual(t.lookup("k"), [["k", "v"]]);
      rec.stop();
      await TableManager.stop(m2);
      await kill(c);
      assertNoTable("tm_adopt");
    });
  });

  test("stopped on purpose while the consumer holds it: a later start re-adopts it too", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_adopt2");
      const m1 = await TableManager.start("tm_adopt2");
      const t = await TableManager.table(m1);
      await handedTo(t, "tm_adopt2");
      await TableManager.stop(m1);
      const m2 = await TableManager.start("tm_adopt2");
      assert.equal(await TableManager.table(m2), t);
      assert.equal(t.info()!.heir, m2);
      await TableManager.stop(m2);
      await kill(c);
    });
  });

  test("killed while holding the table: the table is lost and the next start fails with ['table_lost', name] (onLost 'fail'), reported once", async () => {
    await withClock(async () => {
      const rec = recorder();
      const captured = captureReports();
      const m1 = await TableManager.start("tm_lost", {}, {
        timeout: Infinity,
      });
      const t = await TableManager.table(m1);
      await kill(m1);
      assert.equal(t.info(), undefined, "ETS had no one to give it to");
      const err = await TableManager.start("tm_lost", {}, { onLost: "fail" })
        .catch((e) => e);
      assert.ok(err instanceof StartError);
      assert.deepEqual(err.reason, ["table_lost", "tm_lost"]);
      const lost = rec.events.filter((e) => e.type === "lost");
      assert.equal(lost.length, 1);
      assert.deepEqual(
        lost[0].type === "lost" && lost[0].tableName,
        "tm_lost",
      );
      assertNoTable("tm_lost");
      // It keeps failing: the loss is not forgotten by a failed start.
      assert.deepEqual(
        await startFails(TableManager.start("tm_lost", {}, { onLost: "fail" })),
        ["table_lost", "tm_lost"],
      );
      rec.stop();
      // Logged once, loudly, however many starts fail on it.
      captured.restore();
      const lostReports = captured.reports.filter((r) =>
        r.kind === "table_manager_lost_table"
      );
      assert.equal(lostReports.length, 1);
      const [r] = lostReports;
      assert.equal(r.level, "error");
      assert.equal(r.source, "table_manager");
      assert.equal(r.table, "tm_lost");
      assert.equal(r.reason, "killed");
      assert.match(
        formatReport(r),
        /^=ERROR REPORT= table manager <[\d.]+>: table "tm_lost" was lost \(its previous manager exited: "killed"\); start refused \(onLost: "fail"\)$/,
      );
    });
  });

  test("stopped with ['shutdown', x] while holding the table: a deliberate stop, the next start is fresh; { shutdown: x } counts as a crash", async () => {
    await withClock(async () => {
      const captured = captureReports();
      try {
        const rec = recorder();
        const m1 = await TableManager.start("tm_deliberate", {}, {
          timeout: Infinity,
        });
        await GenServer.stop(m1, ["shutdown", "maintenance"]);
        const m2 = await TableManager.start("tm_deliberate", {}, {
          timeout: Infinity,
          onLost: "fail",
        });
        assert.deepEqual(rec.types(m2), ["created", "waiting"]);
        await GenServer.stop(m2, { shutdown: "maintenance" });
        assert.deepEqual(
          await startFails(
            TableManager.start("tm_deliberate", {}, { onLost: "fail" }),
          ),
          ["table_lost", "tm_deliberate"],
        );
        rec.stop();
        assertNoTable("tm_deliberate");
        assert.deepEqual(
          captured.reports.filter((r) => r.level === "error").map((r) => [
            r.kind,
            r.reason,
          ]),
          [
            ["server_terminated", { shutdown: "maintenance" }],
            ["table_manager_lost_table", { shutdown: "maintenance" }],
          ],
        );
      } finally {
        captured.restore();
      }
    });
  });

  test("killed while holding the table, onLost 'recreate': an empty table, after a 'lost' event", async () => {
    await withClock(async () => {
      const rec = recorder();
      const m1 = await TableManager.start("tm_recreate", { access: "public" }, {
        timeout: Infinity,
      });
      (await TableManager.table(m1)).insert(["k", 1]);
      await kill(m1);
      const m2 = await TableManager.start("tm_recreate", { access: "public" }, {
        timeout: Infinity,
        onLost: "recreate",
      });
      const t2 = await TableManager.table(m2);
      assert.equal(t2.info()!.size, 0);
      assert.deepEqual(rec.types(m2), ["lost", "created", "waiting"]);
      rec.stop();
      await TableManager.stop(m2);
      assertNoTable("tm_recreate");
    });
  });

  test("the consumer and the manager die together under a supervisor: the restarted manager reports the loss once and carries on with an empty table (default onLost 'recreate')", async () => {
    await withClock(async () => {
      const captured = captureReports();
      try {
        const rec = recorder();
        // Default intensity 1: two failed restarts would stop the tree.
        const sup = await supervisor.start({
          children: [{
            id: "manager",
            start: () =>
              TableManager.startLink("tm_together", { access: "public" }),
          }],
        });
        const managerPid = async () =>
          (await supervisor.whichChildren(sup))[0].pid;
        const m1 = await managerPid() as Pid;
        const c1 = await startConsumer("tm_together");
        const t1 = await TableManager.table(m1);
        await handedTo(t1, "tm_together");
        t1.insert(["k", 1]);
        // Together: the table goes back to the dying manager, or stays with
        // the dying consumer: lost either way.
        exit(c1, "kill");
        exit(m1, "kill");
        await until(() => t1.info() === undefined, "the table is gone");
        let m2: unknown = m1;
        for (let i = 0; i < 50 && (m2 === m1 || m2 === undefined); i++) {
          await settle();
          if (!isAlive(sup)) break;
          m2 = await managerPid();
        }
        assert.ok(isAlive(sup), "the supervisor carries on");
        assert.ok(typeof m2 === "object" && m2 !== m1 && isAlive(m2 as Pid));
        const t2 = await TableManager.table(m2 as Pid);
        assert.equal(t2.info()!.size, 0);
        assert.deepEqual(rec.types(m2 as Pid), ["lost", "created", "waiting"]);
        const lost = captured.reports.filter((r) =>
          r.kind === "table_manager_lost_table"
        );
        assert.deepEqual(
          lost.map((r) => [r.level, r.table, r.pid, r.reason, r.message]),
          [["error", "tm_together", m2, "killed", "created anew, empty"]],
        );
        // A new consumer gets the new table.
        const c2 = await startConsumer("tm_together");
        await handedTo(t2, "tm_together");
        rec.stop();
        await supervisor.stop(sup);
        await kill(c2);
      } finally {
        captured.restore();
      }
    });
    await assertNoMessages();
  });

  test("stopped on purpose while holding the table: the table goes, the next start creates one without 'lost'", async () => {
    await withClock(async () => {
      const rec = recorder();
      const m1 = await TableManager.start("tm_fresh", {}, {
        timeout: Infinity,
      });
      const t1 = await TableManager.table(m1);
      await TableManager.stop(m1);
      assert.equal(t1.info(), undefined);
      const m2 = await TableManager.start("tm_fresh", {}, {
        timeout: Infinity,
      });
      assert.notEqual(await TableManager.table(m2), t1);
      assert.deepEqual(rec.types(m2), ["created", "waiting"]);
      rec.stop();
      await TableManager.stop(m2);
    });
  });

  test("the consumer dies while no manager is alive: the table is gone, and the next start says so", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_orphan");
      const m1 = await TableManager.start("tm_orphan");
      const t = await TableManager.table(m1);
      await handedTo(t, "tm_orphan");
      await kill(m1);
      await kill(c);
      assert.equal(t.info(), undefined);
      const captured = captureReports();
      try {
        assert.deepEqual(
          await startFails(
            TableManager.start("tm_orphan", {}, { onLost: "fail" }),
          ),
          ["table_lost", "tm_orphan"],
        );
      } finally {
        captured.restore();
      }
    });
  });

  test("a named table that exists and no manager made: the start rejects with its EtsError", async () => {
    const other = Ets.create("tm_taken", { named: true });
    const reason = await startFails(
      TableManager.start("tm_taken", { named: true }),
    );
    assert.ok(reason instanceof EtsError);
    assert.equal(reason.code, "already_exists");
    other.destroy();
  });

  test("a second live manager for the same table is refused with ['already_managed', pid]", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_twice", {}, {
        timeout: Infinity,
      });
      assert.deepEqual(
        await startFails(
          TableManager.start("other_consumer", {}, { tableName: "tm_twice" }),
        ),
        ["already_managed", m],
      );
      await TableManager.stop(m);
    });
  });
});

// ------------------------------------------------- lifecycle, errors --

describe("TableManager: lifecycle and arguments", () => {
  test("a request the manager or a ghost does not know is refused: the call rejects with a TableManagerError, the server lives on", async () => {
    await withClock(async () => {
      const m = await TableManager.start("tm_unknown", {}, {
        timeout: Infinity,
      });
      for (const req of ["bogus", ["error", "unknown_request"], undefined]) {
        const err = await GenServer.call(m, req).then(
          () => assert.fail("the call resolved"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof TableManager.TableManagerError, String(err));
        assert.equal(err.code, "unknown_request");
        assert.equal(err.request, req);
        assert.equal(
          err.message,
          `Cannot call table manager ${m}: unknown request ${
            formatTerm(req)
          } (call its module's functions, not GenServer.call)`,
        );
      }
      assert.equal((await TableManager.status(m)).phase, "waiting");
      const g = await TableManager.startGhost(self(), 1000, { init: () => 1 });
      const err = await GenServer.call(g, "bogus").catch((e: unknown) => e);
      assert.ok(err instanceof TableManager.TableManagerError);
      assert.match(err.message, /^Cannot call ghost <[\d.]+>: unknown request/);
      assert.equal(await TableManager.updateGhost<number>(g, (n) => n + 1), 2);
      await GenServer.stop(g);
      await TableManager.stop(m);
    });
  });

  test("startLink(): the manager stops when its parent exits; it is registered under `name`", async () => {
    await withClock(async () => {
      const main = self();
      const parent = spawn(async () => {
        const m = await TableManager.startLink("tm_linked", {}, {
          name: "tm_linked_manager",
          timeout: Infinity,
        });
        send(main, m);
        await forever();
      });
      const m = await receive() as Pid;
      assert.equal(whereis("tm_linked_manager"), m);
      assert.deepEqual(processInfo(m)!.links, [parent]);
      const t = await TableManager.table("tm_linked_manager");
      const ref = monitor(m);
      exit(parent, "shutdown");
      assert.equal(await downReason(ref), "shutdown");
      assert.equal(t.info(), undefined);
    });
  });

  test("Symbol.asyncDispose on the manager's pid stops it; twice is fine; the consumer keeps the table", async () => {
    await withClock(async () => {
      const c = await startConsumer("tm_dispose");
      const m = await TableManager.start("tm_dispose");
      const t = await TableManager.table(m);
      await handedTo(t, "tm_dispose");
      await m[Symbol.asyncDispose]();
      assert.ok(!isAlive(m));
      await m[Symbol.asyncDispose]();
      assert.equal(t.info()!.owner, c);
      await kill(c);
      assertNoTable("tm_dispose");
    });
  });

  test("table() and status() of a dead manager reject with CallError noproc", async () => {
    const m = await TableManager.start("tm_dead", {}, { timeout: Infinity });
    await TableManager.stop(m);
    for (const p of [TableManager.table(m), TableManager.status(m)]) {
      const e = await p.catch((x) => x);
      assert.ok(e instanceof CallError);
      assert.equal(e.reason, "noproc");
    }
    const e = await TableManager.stop(m).catch((x) => x);
    assert.ok(e instanceof CallError && e.reason === "noproc");
  });

  test("bad input is a TypeError or RangeError naming the argument and its value", async () => {
    const cases: [Promise<unknown>, ErrorConstructor, RegExp][] = [
      [
        TableManager.start(42 as never),
        TypeError,
        /^Cannot start: 'consumer' must be a non-empty string, got 42$/,
      ],
      [
        TableManager.start(""),
        TypeError,
        /'consumer' must be a non-empty string, got ""/,
      ],
      [
        TableManager.start("c", { heir: self() } as never),
        TypeError,
        /'tableOptions.heir' is not allowed \(the manager is the table's heir\), got <0\.\d+\.0>/,
      ],
      [
        TableManager.start("c", { type: "list" } as never),
        TypeError,
        /'tableOptions.type' must be one of "set", "ordered_set", "bag", "duplicate_bag", got "list"/,
      ],
      [
        TableManager.start("c", { keyPos: -1 }),
        RangeError,
        /'tableOptions.keyPos' must be a non-negative integer, got -1/,
      ],
      [
        TableManager.start("c", { size: 3 } as never),
        TypeError,
        /unknown table option "size"/,
      ],
      [
        TableManager.start("c", "public" as never),
        TypeError,
        /'tableOptions' must be an object, got "public"/,
      ],
      [
        TableManager.startLink("c", {}, { timeout: -5 }),
        RangeError,
        /^Cannot startLink: 'timeout' must be a non-negative number or Infinity, got -5$/,
      ],
      [
        TableManager.start("c", {}, { onTimeout: "retry" } as never),
        TypeError,
        /'onTimeout' must be one of "wait", "stop", got "retry"/,
      ],
      [
        TableManager.start("c", {}, { onLost: true } as never),
        TypeError,
        /'onLost' must be one of "fail", "recreate", got true/,
      ],
      [
        TableManager.start("c", {}, { tableName: "" }),
        TypeError,
        /'tableName' must be a non-empty string, got ""/,
      ],
      [
        TableManager.start("c", {}, { name: "c" }),
        TypeError,
        /'name' must differ from the consumer's name, got "c" for both/,
      ],
      [
        TableManager.start("c", {}, { timout: 5 } as never),
        TypeError,
        /unknown option "timout"/,
      ],
      [
        TableManager.startGhost("pid" as never, 5),
        TypeError,
        /^Cannot startGhost: 'target' must be a Pid, got "pid"$/,
      ],
      [
        TableManager.startGhost(self(), -1),
        RangeError,
        /'timeout' must be a non-negative number or Infinity, got -1/,
      ],
      [
        TableManager.startGhost(self(), 5, { init: 3 } as never),
        TypeError,
        /'init' must be a function, got 3/,
      ],
      [
        TableManager.updateGhost(self(), "x" as never),
        TypeError,
        /^Cannot updateGhost: 'fn' must be a function, got "x"$/,
      ],
    ];
    for (const [p, cls, message] of cases) {
      const e = await p.catch((x) => x);
      assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
      assert.match((e as Error).message, message);
    }
    assert.throws(
      () => TableManager.subscribe("x" as never),
      /'listener' must be a function, got "x"/,
    );
  });

  test("a throwing event listener disturbs neither the manager nor the hand-off", async () => {
    await withClock(async () => {
      // Reported through the logger (kind internal_error).
      const captured = captureReports();
      const unsubscribe = TableManager.subscribe(() => {
        throw new Error("listener bug");
      });
      try {
        const c = await startConsumer("tm_listener");
        const m = await TableManager.start("tm_listener");
        const t = await TableManager.table(m);
        await handedTo(t, "tm_listener");
        assert.ok(isAlive(m));
        const errors = captured.reports.filter((r) =>
          r.kind === "internal_error"
        );
        assert.ok(errors.length >= 2);
        await TableManager.stop(m);
        await kill(c);
      } finally {
        unsubscribe();
        captured.restore();
      }
    });
  });
});

// -------------------------------------------------------------- ghost --

describe("TableManager ghosts (Immortal's ghost_test)", () => {
  test("startGhost(): the ghost is alive right after its target is killed", async () => {
    await withClock(async (clock) => {
      const target = spawn(forever);
      const g = await TableManager.startGhost(target, 1000);
      await kill(target);
      await settle();
      assert.ok(isAlive(g));
      await clock.advance(999);
      assert.ok(isAlive(g));
      const ref = monitor(g);
      await clock.advance(1);
      assert.equal(await downReason(ref), "normal");
    });
  });

  test("startGhost(): the ghost is dead `timeout` ms after its target is killed", async () => {
    await withClock(async (clock) => {
      const target = spawn(forever);
      const g = await TableManager.startGhost(target, 100);
      const ref = monitor(g);
      await kill(target);
      await clock.advance(100);
      assert.equal(await downReason(ref), "normal");
      assert.ok(!isAlive(g));
    });
  });

  test("updateGhost() returns the new value; init computes the first one; a throw leaves both", async () => {
    await withClock(async () => {
      const target = spawn(forever);
      const g = await TableManager.startGhost(target, 0, {
        init: () => "hello",
        name: "tm_ghost",
      });
      assert.equal(whereis("tm_ghost"), g);
      assert.equal(
        await TableManager.updateGhost<string>(g, (v) => v + " world"),
        "hello world",
      );
      const boom = new Error("bad update");
      await assert.rejects(
        TableManager.updateGhost("tm_ghost", () => {
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.ok(isAlive(g));
      assert.equal(
        await TableManager.updateGhost<string>(g, (v) => v),
        "hello world",
      );
      const ref = monitor(g);
      await kill(target); // timeout 0: gone at once
      assert.equal(await downReason(ref), "normal");
    });
  });

  test("cancelGhost() cancels a pending expiry (Immortal cannot); the ghost lives until stopped", async () => {
    await withClock(async (clock) => {
      const target = spawn(forever);
      const g = await TableManager.startGhost(target, 100);
      assert.equal(await TableManager.cancelGhost(g), false, "none pending");
      await kill(target);
      await settle();
      assert.equal(clock.pending, 1);
      assert.equal(await TableManager.cancelGhost(g), true);
      await settle();
      assert.equal(clock.pending, 0);
      await clock.advance(1000);
      assert.ok(isAlive(g));
      await GenServer.stop(g);
    });
  });

  test("a ghost of a dead pid starts its countdown at once; a killed ghost leaves no timer", async () => {
    await withClock(async (clock) => {
      const target = spawn(forever);
      await kill(target);
      const g = await TableManager.startGhost(target, 100);
      await settle();
      assert.equal(clock.pending, 1);
      await kill(g);
      await settle();
      assert.equal(clock.pending, 0);
    });
  });
});

test("TableManager tests leave no messages behind", async () => {
  await assertNoMessages();
});
