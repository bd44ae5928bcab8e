// deno-lint-ignore-file no-explicit-any
// `self()` everywhere (issue 11, item 3): the current process is right after
// any `await`, inside any wrapper, in downlevelled async code (tsc's
// __awaiter + generators, Babel's regenerator), in `.then` chains,
// `queueMicrotask` and timers a process starts; for process bodies, gen_server
// callbacks and child start functions alike. And `receive()` in such code
// reads that process's mailbox, not main's. (`any` below: the helpers are
// pasted compiler output, typed as loosely as it is.)
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as genServer from "../gen_server.ts";
import * as supervisor from "../supervisor.ts";
import {
  isAlive,
  type Pid,
  processInfo,
  receive,
  self,
  send,
  spawn,
  spawnMonitor,
} from "../process.ts";
import { ExitError } from "../errors.ts";
import { applyAfter } from "../timer.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  settle,
  withClock,
} from "./_helpers.ts";

// ------------------------------------------------------------- helpers --

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A higher-order wrapper, as tracing or logging libraries write them. */
function traced<A extends unknown[], R>(
  fn: (...args: A) => R,
): (...args: A) => R {
  return (...args) => fn(...args);
}

// tsc's helper, exactly as `tsc --target ES2016` emits it for an `async`
// function (a generator driven by promises).
const __awaiter = function (
  thisArg: any,
  _arguments: any,
  P: any,
  generator: any,
) {
  function adopt(value: any) {
    return value instanceof P ? value : new P(function (resolve: any) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function (resolve: any, reject: any) {
    function fulfilled(value: any) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value: any) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result: any) {
      result.done
        ? resolve(result.value)
        : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};

// Babel's helpers for `async` functions compiled with regenerator: its
// _asyncToGenerator verbatim, and a small stand-in for regeneratorRuntime's
// `wrap` (the state machine protocol: `_context.next`, `.sent`, `.abrupt`,
// `.stop`), so no generator is involved at all.
function asyncGeneratorStep(
  gen: any,
  resolve: any,
  reject: any,
  _next: any,
  _throw: any,
  key: any,
  arg: any,
) {
  let info, value;
  try {
    info = gen[key](arg);
    value = info.value;
  } catch (error) {
    reject(error);
    return;
  }
  if (info.done) {
    resolve(value);
  } else {
    Promise.resolve(value).then(_next, _throw);
  }
}

function _asyncToGenerator(fn: any): any {
  return function (this: any) {
    // deno-lint-ignore no-this-alias
    const self = this, args = arguments;
    return new Promise(function (resolve, reject) {
      const gen = fn.apply(self, args);
      function _next(value: any) {
        asyncGeneratorStep(gen, resolve, reject, _next, _throw, "next", value);
      }
      function _throw(err: any) {
        asyncGeneratorStep(gen, resolve, reject, _next, _throw, "throw", err);
      }
      _next(undefined);
    });
  };
}

const CONTINUE = {};

/** regeneratorRuntime.wrap, reduced to what the machines below use. */
function wrap(inner: (context: any) => unknown): any {
  const context = {
    prev: 0 as number | string,
    next: 0 as number | string,
    sent: undefined as unknown,
    rval: undefined as unknown,
    done: false,
    abrupt(_type: "return", arg: unknown) {
      this.rval = arg;
      this.next = "end";
      return CONTINUE;
    },
    stop() {
      this.done = true;
      return this.rval;
    },
  };
  function invoke(method: "next" | "throw", arg: unknown) {
    if (method === "throw") throw arg;
    context.sent = arg;
    for (;;) {
      const value = inner(context);
      if (value !== CONTINUE) return { value, done: context.done };
    }
  }
  return {
    next: (arg: unknown) => invoke("next", arg),
    throw: (error: unknown) => invoke("throw", error),
  };
}

// --------------------------------------------------------------- bodies --

describe("self() in process bodies", () => {
  test("self() and receive() after await inside a higher-order wrapper", async () => {
    const main = self();
    const seen = deferred<unknown[]>();
    const pid = spawn(traced(async (me: Pid) => {
      await null;
      const a = self();
      const m = await receive();
      seen.resolve([me, a, self(), m]);
    }));
    send(pid, "for the child");
    send(main, "for main");
    const [me, a, b, m] = await seen.promise;
    assert.equal(me, pid);
    assert.equal(a, pid);
    assert.equal(b, pid);
    assert.equal(m, "for the child");
    assert.equal(self(), main);
    assert.deepEqual(await flush(), ["for main"]);
  });

  test("a body compiled by tsc for ES2016 (__awaiter + generator)", async () => {
    const seen = deferred<unknown[]>();
    // tsc's output for: async function body(me) { const m = await receive();
    //   await null; seen.resolve([me, self(), m]); }
    function body(this: unknown, me: Pid) {
      return __awaiter(this, void 0, void 0, function* () {
        const m: unknown = yield receive();
        yield null;
        seen.resolve([me, self(), m]);
      });
    }
    const pid = spawn(body);
    send(pid, "hi");
    assert.deepEqual(await seen.promise, [pid, pid, "hi"]);
    await assertNoMessages();
  });

  test("a body compiled by Babel with regenerator (a state machine)", async () => {
    const seen = deferred<unknown[]>();
    // Babel's output for: async (me) => { const m = await receive();
    //   seen.resolve([me, self(), m]); return m; }
    const body = _asyncToGenerator(function (me: Pid) {
      let m: unknown;
      return wrap(function (context) {
        for (;;) {
          switch (context.prev = context.next) {
            case 0:
              context.next = 2;
              return receive();
            case 2:
              m = context.sent;
              seen.resolve([me, self(), m]);
              return context.abrupt("return", m);
            case "end":
              return context.stop();
          }
        }
      });
    });
    const [pid, ref] = spawnMonitor(body);
    send(pid, "hello");
    assert.deepEqual(await seen.promise, [pid, pid, "hello"]);
    assert.equal(await downReason(ref), "normal");
  });

  test("a .then chain started by a plain body runs as the process", async () => {
    const seen = deferred<unknown[]>();
    const [pid, ref] = spawnMonitor(() =>
      Promise.resolve()
        .then(() => receive())
        .then((m) => seen.resolve([self(), m]))
    );
    send(pid, "x");
    assert.deepEqual(await seen.promise, [pid, "x"]);
    assert.equal(await downReason(ref), "normal");
  });

  test("queueMicrotask from a plain body runs as the process", async () => {
    const seen = deferred<unknown>();
    const [pid, ref] = spawnMonitor(() =>
      new Promise<void>((resolve) => {
        queueMicrotask(() => {
          seen.resolve(self());
          resolve();
        });
      })
    );
    assert.equal(await seen.promise, pid);
    assert.equal(await downReason(ref), "normal");
  });

  test("setTimeout and setInterval callbacks run as the process that started them", async () => {
    const seen = deferred<unknown[]>();
    const [pid, ref] = spawnMonitor(() =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          const fromTimeout = self();
          let ticks = 0;
          const interval = setInterval(() => {
            if (++ticks < 2) return;
            clearInterval(interval);
            receive().then((m) => {
              seen.resolve([fromTimeout, self(), m]);
              resolve();
            });
          }, 0);
        }, 0);
      })
    );
    send(pid, "tick");
    assert.deepEqual(await seen.promise, [pid, pid, "tick"]);
    assert.equal(await downReason(ref), "normal");
  });

  test("receive()'s predicate runs as the receiving process", async () => {
    const seen: unknown[] = [];
    const done = deferred<void>();
    const pid = spawn(async () => {
      await receive((m) => {
        seen.push(self());
        return m === "go";
      });
      done.resolve();
    });
    await settle();
    send(pid, "go");
    await done.promise;
    assert.deepEqual(seen, [pid]);
  });

  test("processes interleaving their awaits each keep seeing themselves", async () => {
    const results: Promise<unknown[]>[] = [];
    const pids: Pid[] = [];
    for (let i = 0; i < 5; i++) {
      const d = deferred<unknown[]>();
      results.push(d.promise);
      pids.push(
        spawn(traced(() =>
          __awaiter(undefined, void 0, void 0, function* () {
            const seen: unknown[] = [];
            for (let k = 0; k < 3; k++) {
              yield receive();
              seen.push(self());
            }
            d.resolve(seen);
          })
        )),
      );
    }
    for (let k = 0; k < 3; k++) for (const pid of pids) send(pid, k);
    const all = await Promise.all(results);
    all.forEach((seen, i) =>
      assert.deepEqual(seen, [pids[i], pids[i], pids[i]])
    );
  });
});

describe("self() in nested processes", () => {
  test("a child spawned after an await sees itself; its parent keeps seeing itself", async () => {
    const seen = deferred<unknown[]>();
    const parent = spawn(
      traced((me: Pid) =>
        __awaiter(undefined, void 0, void 0, function* () {
          yield null;
          const child = spawn(traced(async (childSelf: Pid) => {
            await null;
            send(me, ["child", childSelf, self()]);
          }));
          const afterSpawn = self();
          const m: unknown[] = yield receive();
          seen.resolve([child, m, afterSpawn, self()]);
        })
      ),
    );
    const [child, m, afterSpawn, parentAfter] = await seen.promise;
    assert.deepEqual(m, ["child", child, child]);
    assert.equal(afterSpawn, parent);
    assert.equal(parentAfter, parent);
    await assertNoMessages();
  });
});

describe("self() after the process died", () => {
  test("code still running sees its own dead pid: its sends are dropped, receive and spawn fail", async () => {
    const main = self();
    const seen = deferred<unknown[]>();
    // A plain body: the process exits "normal" when it returns, before the
    // promise callback runs.
    const [pid, ref] = spawnMonitor(() => {
      Promise.resolve().then(async () => {
        const me = self();
        send(main, "from the dead");
        let received: unknown;
        try {
          await receive(undefined, { timeout: 0 });
        } catch (e) {
          received = e;
        }
        let spawned: unknown;
        try {
          spawn(() => {});
        } catch (e) {
          spawned = e;
        }
        seen.resolve([me, received, spawned]);
      });
    });
    const [me, received, spawned] = await seen.promise;
    assert.equal(me, pid);
    assert.equal(isAlive(pid), false);
    assert.ok(received instanceof ExitError);
    assert.equal(received.reason, "normal");
    assert.ok(spawned instanceof ExitError);
    assert.equal(await downReason(ref), "normal");
    assert.equal(self(), main);
    await assertNoMessages();
  });
});

// ----------------------------------------------------------- gen_server --

describe("self() in gen_server callbacks", () => {
  test("init, handleCall, handleCast, handleInfo, handleContinue and terminate, written as wrappers and downlevelled code", async () => {
    const main = self();
    const log: [string, unknown][] = [];
    const terminated = deferred<void>();
    const behaviour: genServer.GenServer<null, null> = {
      // a wrapper around an async function
      init: traced(async () => {
        await null;
        log.push(["init", self()]);
        return ["ok", null, ["continue", "more"]] as const;
      }),
      // queueMicrotask, from a plain function
      handleContinue(_arg, state) {
        return new Promise((resolve) => {
          queueMicrotask(() => {
            log.push(["handleContinue", self()]);
            resolve(["noreply", state]);
          });
        });
      },
      // tsc's ES2016 output, with a receive inside
      handleCall(this: unknown, request, _from, state) {
        return __awaiter(this, void 0, void 0, function* () {
          yield null;
          if (request === "receive") {
            const m: unknown = yield receive((m) => m === "direct");
            return ["reply", [self(), m], state];
          }
          return ["reply", self(), state];
        });
      },
      // a plain function starting a timer that sends to self()
      handleCast(_message, state) {
        setTimeout(() => send(self(), ["timer", self()]), 0);
        return ["noreply", state];
      },
      // a .then chain
      handleInfo(message, state) {
        return Promise.resolve().then(() => {
          log.push(["handleInfo", [self(), message]]);
          return ["noreply", state] as const;
        });
      },
      // Babel's regenerator output
      terminate: _asyncToGenerator(function () {
        return wrap(function (context) {
          for (;;) {
            switch (context.prev = context.next) {
              case 0:
                context.next = 2;
                return null;
              case 2:
                log.push(["terminate", self()]);
                terminated.resolve();
                return context.stop();
            }
          }
        });
      }),
    };
    const pid = await genServer.start(behaviour, null);
    assert.equal(await genServer.call(pid, "who"), pid);
    const answer = genServer.call(pid, "receive");
    await settle();
    send(pid, "direct");
    assert.deepEqual(await answer, [pid, "direct"]);
    genServer.cast(pid, "tick");
    await settle();
    await settle();
    assert.equal(await genServer.call(pid, "who"), pid); // handleInfo is done
    await genServer.stop(pid);
    await terminated.promise;
    assert.deepEqual(log, [
      ["init", pid],
      ["handleContinue", pid],
      ["handleInfo", [pid, ["timer", pid]]],
      ["terminate", pid],
    ]);
    assert.equal(self(), main);
    await assertNoMessages();
  });
});

describe("self() in message-driven processes exchanging messages", () => {
  test("two gen_servers playing ping-pong see themselves in every callback and in what each schedules", async () => {
    const wrong: unknown[] = [];
    const done = deferred<void>();
    const check = (expected: Pid) => {
      const me = self();
      if (me !== expected) wrong.push([expected, me]);
    };
    const behaviour: genServer.GenServer<{ me: Pid | null }, null> = {
      init: () => ["ok", { me: null }],
      handleInfo(message, state) {
        const me = state.me ??= self();
        check(me);
        queueMicrotask(() => check(me));
        Promise.resolve().then(() => check(me));
        const [peer, n] = message as [Pid, number];
        if (n === 0) setTimeout(() => (check(me), done.resolve()), 0);
        else send(peer, [me, n - 1]);
        return ["noreply", state];
      },
    };
    const a = await genServer.start(behaviour, null);
    const b = await genServer.start(behaviour, null);
    send(a, [b, 200]);
    await done.promise;
    await settle();
    assert.deepEqual(wrong, []);
    await genServer.stop(a);
    await genServer.stop(b);
    await assertNoMessages();
  });
});

// ----------------------------------------------------------- supervisor --

describe("self() in child start functions", () => {
  test("a wrapped async start function runs as the supervisor, so startLink links the child to it", async () => {
    const seen: unknown[] = [];
    const sup = await supervisor.start({
      strategy: "one_for_one",
      children: [{
        id: "worker",
        start: traced(async () => {
          await null;
          seen.push(self());
          return await genServer.startLink({
            init: () => ["ok", null] as const,
          }, null);
        }),
      }],
    });
    const [child] = await supervisor.whichChildren(sup);
    const pid = child.pid as Pid;
    assert.deepEqual(seen, [sup]);
    assert.deepEqual(processInfo(pid)?.links, [sup]);
    await supervisor.stop(sup);
    assert.equal(isAlive(pid), false);
    await assertNoMessages();
  });
});

// ---------------------------------------------------------------- timer --

describe("self() in timer callbacks", () => {
  test("applyAfter() runs a plain function as its owner, and what it schedules too, though the clock fires it from main", async () => {
    await withClock(async (clock) => {
      const seen = deferred<unknown[]>();
      const [pid, ref] = spawnMonitor(() => {
        applyAfter(10, () => {
          const direct = self();
          Promise.resolve().then(() =>
            queueMicrotask(() => seen.resolve([direct, self()]))
          );
        });
        return receive((m) => m === "stop");
      });
      await settle();
      await clock.advance(10);
      assert.deepEqual(await seen.promise, [pid, pid]);
      send(pid, "stop");
      assert.equal(await downReason(ref), "normal");
      await assertNoMessages();
    });
  });
});
