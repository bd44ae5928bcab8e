// A node under steady load: callers that never stop calling servers, as a
// cluster node serving requests does. The scheduler's burst of work never
// ends on its own there, so whatever waits for "the end of the burst" must
// not wait for it: timers and I/O get their turn (the node's heartbeats and
// lease renewals are timers), call timeouts start, and answered requests are
// not kept referenced (issue 15, "two nodes at least 1.7x one": on Deno the
// whole workload once ran as one burst holding every request of it).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { call, start } from "../gen_server.ts";
import { exit, type Pid } from "../process.ts";
import { CallError } from "../errors.ts";
import { pendingLaterTimeouts } from "../_timers.ts";
import { settle, withClock } from "./_helpers.ts";

/** Echo servers: each answers a call with its request. */
async function echoes(n: number): Promise<Pid[]> {
  const pids: Pid[] = [];
  for (let i = 0; i < n; i++) {
    pids.push(
      await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (req, _from, s) => ["reply", req, s],
      }, undefined),
    );
  }
  return pids;
}

/**
 * 16 callers, each calling the servers in turn until `stop()` says so or
 * `limit` calls were made in all (with `timeout`); `check` runs after each
 * answer. Resolves with the number of calls answered.
 */
async function callers(
  servers: Pid[],
  limit: number,
  stop: () => boolean,
  { timeout = 5000, check = () => {} }: {
    timeout?: number;
    check?: (answered: number) => void;
  } = {},
): Promise<number> {
  let next = 0;
  let answered = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i; !stop() && (i = next++) < limit;) {
      const answer = await call(servers[i % servers.length], i, { timeout });
      assert.equal(answer, i);
      check(++answered);
    }
  }));
  return answered;
}

describe("steady load: callers that never stop", () => {
  test("a timer fires while 16 callers keep 20 servers busy (bounded: they stop after 2,000,000 calls)", async () => {
    const servers = await echoes(20);
    let fired = false;
    const timer = setTimeout(() => fired = true, 0);
    try {
      const made = await callers(servers, 2_000_000, () => fired);
      assert.ok(fired, `the timer had not fired after ${made} calls`);
      assert.ok(made < 2_000_000);
    } finally {
      clearTimeout(timer);
      for (const pid of servers) exit(pid, "kill");
      await settle();
    }
  });

  test("a call's timeout starts while the burst goes on, and fires on time", async () => {
    await withClock(async (clock) => {
      const servers = await echoes(20);
      const silent = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (_r, _f, s) => ["noreply", s],
      }, undefined);
      try {
        // The callers' own calls start no timeout; the silent call is made
        // amid the burst, and virtual timers are armed only by timeouts
        // that started: its must start before the callers stop, though the
        // burst has not ended (they stop once it has).
        let hanging: Promise<unknown> | undefined;
        const made = await callers(
          servers,
          500_000,
          () => clock.pending > 0,
          {
            timeout: Infinity,
            check: (answered) => {
              if (answered === 1000) {
                hanging = call(silent, "hello", { timeout: 1000 })
                  .catch((e) => e);
              }
            },
          },
        );
        assert.ok(hanging !== undefined);
        assert.ok(clock.pending > 0, `no timeout started in ${made} calls`);
        await clock.advance(999);
        assert.equal(
          await Promise.race([hanging, Promise.resolve("pending")]),
          "pending",
        );
        await clock.advance(1);
        const error = await hanging;
        assert.ok(error instanceof CallError, String(error));
        assert.equal(error.reason, "timeout");
      } finally {
        exit(silent, "kill");
        for (const pid of servers) exit(pid, "kill");
        await settle();
      }
    });
  });

  test("answered calls are not kept waiting for the burst to end (at most 256 queued timeouts)", async () => {
    const servers = await echoes(20);
    let most = 0;
    try {
      const made = await callers(servers, 20_000, () => false, {
        check: () => {
          most = Math.max(most, pendingLaterTimeouts());
        },
      });
      assert.equal(made, 20_000);
      assert.ok(most > 0, "no call queued its timeout");
      assert.ok(most <= 256, `${most} timeouts queued at once`);
    } finally {
      for (const pid of servers) exit(pid, "kill");
      await settle();
    }
  });
});
