// Applications (application.ts): a tree run as the program's root. Two
// halves: in this process with `exit: false` (the handle, stop order, exit
// codes, start failures, option checks), and as a real child OS process of
// the runtime under test (tests/fixtures/app_child.ts), signalled and read:
// SIGTERM/SIGINT, a second signal, errors outside every process, the exit
// code, and a program that ends by itself once its application stopped.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as application from "../application.ts";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as genServer from "../gen_server.ts";
import {
  exit,
  isAlive,
  type Pid,
  receive,
  self,
  spawnLink,
  trapExit,
} from "../process.ts";
import { ApplicationError, ExitError, StartError } from "../errors.ts";
import { captureReports, formatReport } from "../logger.ts";
import { assertNoMessages, forever, settle, withClock } from "./_helpers.ts";

// ------------------------------------------------------------- helpers --

/** A child spec whose gen_server logs its start and its terminate. */
function worker(
  log: string[],
  id: string,
  extra: Partial<supervisor.ChildSpec> = {},
): supervisor.ChildSpec {
  return {
    id,
    start: () =>
      genServer.startLink({
        init: () => {
          trapExit(true);
          log.push(`start ${id}`);
          return ["ok", null];
        },
        terminate: (reason: unknown) => {
          log.push(`terminate ${id} ${String(reason)}`);
        },
      }, undefined),
    ...extra,
  };
}

/**
 * Runs `fn` capturing the application's reports (kind "application");
 * returns their text, as the console logger writes it.
 */
async function captureErrors(fn: () => Promise<void>): Promise<string[]> {
  const captured = captureReports();
  try {
    await fn();
  } finally {
    captured.restore();
  }
  return captured.reports
    .filter((r) => r.source === "application")
    .map(formatReport);
}

const NO_EXIT = { exit: false } as const;
const IS_DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;

// ------------------------------------------------------- in this process --

describe("Application.start()", () => {
  test("runs the tree; stop() stops it in reverse start order and resolves with the root's reason", async () => {
    const log: string[] = [];
    const stops: application.ApplicationStop[] = [];
    const app = await application.start(
      () =>
        supervisor.startLink({
          children: [worker(log, "a"), worker(log, "b"), worker(log, "c")],
        }),
      { name: "shop", exit: false, onStop: (s) => void stops.push(s) },
    );
    assert.equal(app.name, "shop");
    assert.equal(app.status, "running");
    assert.equal(application.current(), app);
    assert.equal((await supervisor.countChildren(app.pid)).active, 3);
    assert.equal(app.exitCode, undefined);

    const stop = await app.stop();
    assert.equal(stop.reason, "shutdown");
    assert.deepEqual(log, [
      "start a",
      "start b",
      "start c",
      "terminate c shutdown",
      "terminate b shutdown",
      "terminate a shutdown",
    ]);
    assert.equal(app.status, "stopped");
    assert.equal(app.exitCode, 0);
    assert.equal(isAlive(app.pid), false);
    assert.equal(application.current(), undefined);
    assert.deepEqual(stops, [{
      name: "shop",
      reason: "shutdown",
      cause: "stop",
      signal: undefined,
      exitCode: 0,
    }]);
    assert.deepEqual(stop, stops[0]);
    assert.equal(await app.stopped, stop);
    await assertNoMessages();
  });

  test("current() is the application from its root's start until it has stopped", async () => {
    let during: unknown = "unset";
    const app = await application.start(() => {
      during = application.current();
      return supervisor.start({});
    }, NO_EXIT);
    assert.equal(during, undefined);
    assert.equal(application.current(), app);
    const stopping = application.current()!.stop();
    assert.equal(application.current(), app); // stopping
    await stopping;
    assert.equal(application.current(), undefined);
  });

  test("stop() is idempotent: one stop, the first reason, the same promise", async () => {
    const app = await application.start(() => supervisor.start({}), NO_EXIT);
    const first = app.stop(["shutdown", "maintenance"]);
    assert.equal(app.status, "stopping");
    assert.equal(app.stop(), first);
    assert.deepEqual((await first).reason, ["shutdown", "maintenance"]);
    assert.equal(app.exitCode, 0);
    assert.equal(app.stop(), first);
    await app[Symbol.asyncDispose](); // after the stop: nothing to do
  });

  test("[Symbol.asyncDispose] (await using) stops the application", async () => {
    // `await using app = ...` calls this on scope exit (Node 20 lacks the
    // syntax; the module's example uses it).
    const app = await application.start(() => supervisor.start({}), NO_EXIT);
    const root = app.pid;
    assert.ok(isAlive(root));
    await app[Symbol.asyncDispose]();
    assert.equal(isAlive(root), false);
    assert.equal(app.status, "stopped");
    assert.equal(application.current(), undefined);
    await app[Symbol.asyncDispose](); // twice: a no-op
  });

  test("a director root is stopped with its own stop (children in reverse order)", async () => {
    const log: string[] = [];
    const child = (id: string): director.ChildSpec => ({
      id,
      start: worker(log, id).start,
    });
    const app = await application.start(
      () => director.startLink({ children: [child("x"), child("y")] }),
      NO_EXIT,
    );
    assert.equal((await app.stop()).reason, "shutdown");
    assert.deepEqual(log, [
      "start x",
      "start y",
      "terminate y shutdown",
      "terminate x shutdown",
    ]);
  });

  test("a root started unlinked is linked to the application, not to the caller", async () => {
    const app = await application.start(() => supervisor.start({}), NO_EXIT);
    await app.stop();
    // main traps exits: an EXIT from the root would be in its mailbox.
    await assertNoMessages();
  });

  test("a plain process root is sent the exit signal 'shutdown'", async () => {
    const app = await application.start(() => spawnLink(forever), NO_EXIT);
    assert.equal((await app.stop()).reason, "shutdown");
    assert.equal(app.exitCode, 0);
  });

  test("a plain process root that traps exits gets the EXIT and decides", async () => {
    const app = await application.start(
      () =>
        spawnLink(async () => {
          trapExit(true);
          const m = await receive() as unknown[];
          throw ["cleaned_up", m[0], m[2]];
        }),
      NO_EXIT,
    );
    const lines = await captureErrors(async () => {
      assert.deepEqual((await app.stop()).reason, [
        "cleaned_up",
        "EXIT",
        "shutdown",
      ]);
    });
    assert.equal(app.exitCode, 1); // not a shutdown reason
    assert.equal(lines.length, 1);
    assert.match(lines[0], /exited: \["cleaned_up", "EXIT", "shutdown"\]/);
  });

  test("a root that was already dead when start returned ends the application at once", async () => {
    const lines = await captureErrors(async () => {
      const app = await application.start(async () => {
        const pid = spawnLink(() => {});
        await settle();
        assert.equal(isAlive(pid), false);
        return pid;
      }, NO_EXIT);
      const stop = await app.stopped;
      assert.equal(stop.reason, "normal");
      assert.equal(stop.cause, "exited");
      assert.equal(app.exitCode, 0);
    });
    assert.match(lines.join("\n"), /root <0\.\d+\.0> exited: "normal"/);
  });
});

describe("Application exit codes", () => {
  test('the root exiting ["shutdown", x] exits 0; { shutdown: x } is no shutdown reason and exits 1', async () => {
    for (
      const [reason, code] of [
        [["shutdown", "done"], 0],
        [{ shutdown: "done" }, 1],
        [["shutdown", "done", "extra"], 1],
      ] as const
    ) {
      await captureErrors(async () => {
        const app = await application.start(
          () =>
            spawnLink(async () => {
              await receive((m) => m === "go");
              throw new ExitError(reason);
            }),
          NO_EXIT,
        );
        (await import("../process.ts")).send(app.pid, "go");
        assert.deepEqual((await app.stopped).reason, reason);
        assert.equal(app.exitCode, code, JSON.stringify(reason));
      });
    }
  });

  test("the root exiting 'normal' on its own: cause 'exited', exit code 0, said on stderr", async () => {
    const stops: application.ApplicationStop[] = [];
    const lines = await captureErrors(async () => {
      const app = await application.start(
        () =>
          spawnLink(async () => {
            await receive((m) => m === "go");
          }),
        { exit: false, name: "job", onStop: (s) => void stops.push(s) },
      );
      (await import("../process.ts")).send(app.pid, "go");
      assert.equal((await app.stopped).reason, "normal");
      assert.equal(app.exitCode, 0);
    });
    assert.equal(stops[0].cause, "exited");
    assert.equal(stops[0].exitCode, 0);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^=APPLICATION REPORT= application "job" stopped: root <0\.\d+\.0> exited: "normal"$/,
    );
  });

  test("a root that crashes: exit code 1, the reason on stderr", async () => {
    const lines = await captureErrors(async () => {
      const app = await application.start(
        () =>
          spawnLink(async () => {
            await receive((m) => m === "go");
            throw new Error("root crashed");
          }),
        NO_EXIT,
      );
      (await import("../process.ts")).send(app.pid, "go");
      const reason = (await app.stopped).reason as Error;
      assert.equal(reason.message, "root crashed");
      assert.equal(app.exitCode, 1);
    });
    assert.match(lines.join("\n"), /exited: Error: root crashed/);
  });

  test("a root supervisor that gives up exits 'shutdown', yet the exit code is 1", async () => {
    const log: string[] = [];
    const lines = await captureErrors(async () => {
      const app = await application.start(
        () =>
          supervisor.startLink({
            intensity: 0,
            children: [worker(log, "a"), worker(log, "b")],
          }),
        NO_EXIT,
      );
      const [b] = await supervisor.whichChildren(app.pid);
      exit(b.pid as Pid, "kill");
      assert.equal((await app.stopped).reason, "shutdown");
      assert.equal(app.exitCode, 1);
    });
    assert.deepEqual(log, ["start a", "start b", "terminate a shutdown"]);
    assert.match(
      lines.join("\n"),
      /exited: "shutdown" \(reached_max_restart_intensity\)/,
    );
  });

  test("a supervisor that shuts itself down (autoShutdown) ends with exit code 0", async () => {
    const app = await application.start(
      () =>
        supervisor.startLink({
          autoShutdown: "any_significant",
          children: [{
            id: "job",
            restart: "transient",
            significant: true,
            start: () => spawnLink(() => receive((m) => m === "done")),
          }],
        }),
      NO_EXIT,
    );
    const [job] = await supervisor.whichChildren(app.pid);
    (await import("../process.ts")).send(job.pid as Pid, "done");
    const lines = await captureErrors(async () => {
      assert.equal((await app.stopped).reason, "shutdown");
    });
    assert.equal(app.exitCode, 0);
    assert.equal(lines.length, 1); // said, but no failure
  });

  test("shutdown bounds the whole stop: a root still alive is killed (exit code 1)", async () => {
    await withClock(async (clock) => {
      let stuck: Pid | undefined;
      const app = await application.start(
        () =>
          supervisor.startLink({
            children: [{
              id: "stuck",
              shutdown: "infinity",
              start: () =>
                genServer.startLink({
                  init: () => {
                    trapExit(true);
                    stuck = self();
                    return ["ok", null];
                  },
                  terminate: () => new Promise<void>(() => {}),
                }, undefined),
            }],
          }),
        { exit: false, shutdown: 100 },
      );
      const lines = await captureErrors(async () => {
        const stopped = app.stop();
        await clock.advance(99);
        assert.equal(app.status, "stopping");
        assert.ok(isAlive(app.pid));
        await clock.advance(1);
        assert.equal((await stopped).reason, "killed");
      });
      assert.equal(app.exitCode, 1);
      assert.match(lines[0], /still running 100 ms into the stop: killed/);
      // A child stuck in terminate outlives even OTP's killed supervisor.
      exit(stuck!, "kill");
    });
  });

  test("an onStop that throws is reported and makes the exit code 1", async () => {
    const app = await application.start(() => supervisor.start({}), {
      exit: false,
      onStop: () => {
        throw new Error("cleanup failed");
      },
    });
    const lines = await captureErrors(async () => {
      const stop = await app.stop();
      assert.equal(stop.reason, "shutdown");
      assert.equal(stop.exitCode, 1);
    });
    assert.equal(app.exitCode, 1);
    assert.match(lines.join("\n"), /onStop threw: Error: cleanup failed/);
  });

  test("an async onStop is awaited before stopped resolves", async () => {
    const order: string[] = [];
    const app = await application.start(() => supervisor.start({}), {
      exit: false,
      onStop: async () => {
        await settle();
        order.push("onStop done");
      },
    });
    await app.stop();
    order.push("stopped");
    assert.deepEqual(order, ["onStop done", "stopped"]);
  });

  test("an exit reason that throws when read or printed breaks nothing", async () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error("no looking");
      },
      ownKeys() {
        throw new Error("no looking");
      },
    });
    const lines = await captureErrors(async () => {
      const app = await application.start(
        () =>
          spawnLink(async () => {
            await receive((m) => m === "go");
            throw hostile;
          }),
        NO_EXIT,
      );
      (await import("../process.ts")).send(app.pid, "go");
      assert.equal((await app.stopped).reason, hostile);
      assert.equal(app.exitCode, 1);
    });
    assert.match(
      lines.join("\n"),
      /exited: \[object throwing on inspect\]/,
    );
  });

  test("a thenable exit reason is kept as it is, not adopted", async () => {
    const thenable = { then: () => {} }; // would never settle if adopted
    const lines = await captureErrors(async () => {
      const app = await application.start(
        () =>
          spawnLink(async () => {
            await receive((m) => m === "go");
            throw thenable;
          }),
        NO_EXIT,
      );
      (await import("../process.ts")).send(app.pid, "go");
      assert.equal((await app.stopped).reason, thenable);
    });
    assert.equal(lines.length, 1);
  });
});

describe("Application start failures", () => {
  const failures: [string, application.StartFunction, unknown][] = [
    ["['error', reason]", () => ["error", "no_config"] as const, "no_config"],
    ["'ignore'", () => "ignore" as const, "ignore"],
    ["a throw", () => {
      throw "bad";
    }, "bad"],
    [
      "a gen_server whose init stops",
      () => genServer.startLink({ init: () => ["stop", "no_db"] }, undefined),
      "no_db",
    ],
    ["a value that is no pid", () => 42 as unknown as Pid, 42],
  ];
  for (const [what, start, reason] of failures) {
    test(`start() rejects with ApplicationError "start_failed" for ${what}`, async () => {
      const err = await application.start(start, NO_EXIT).catch((e) => e);
      assert.ok(err instanceof ApplicationError, String(err));
      assert.equal(err.code, "start_failed");
      assert.deepEqual(err.reason, reason);
      assert.equal(err.application, "application");
      assert.equal(application.current(), undefined);
      // Nothing left: the next application starts.
      const app = await application.start(() => supervisor.start({}), NO_EXIT);
      await app.stop();
      await settle();
      // A linked gen_server that failed to start leaves its EXIT with the
      // application's process, never with the caller.
      await assertNoMessages();
    });
  }

  test("a StartError thrown by start stands for its reason", async () => {
    const err = await application.start(() => {
      throw new StartError("timeout");
    }, NO_EXIT).catch((e) => e);
    assert.ok(err instanceof ApplicationError);
    assert.equal(err.reason, "timeout");
    assert.match(
      err.message,
      /^Cannot start application "application": its start failed \("timeout"\)$/,
    );
  });

  test("a second application while one runs is refused", async () => {
    const app = await application.start(() => supervisor.start({}), NO_EXIT);
    const err = await application.start(() => supervisor.start({}), {
      exit: false,
      name: "second",
    }).catch((e) => e);
    assert.ok(err instanceof ApplicationError);
    assert.equal(err.code, "already_running");
    assert.equal(
      err.message,
      'Cannot start application "second": an application is already running (one root per program)',
    );
    await app.stop();
  });
});

describe("Application options", () => {
  test("unknown option keys are refused, naming the key and the known ones", async () => {
    const err = await application.start(() => supervisor.start({}), {
      exit: false,
      timeout: 5,
    } as application.ApplicationOptions).catch((e) => e);
    assert.ok(err instanceof TypeError);
    assert.equal(
      err.message,
      'Cannot start application: unknown option "timeout" (known: name, signals, shutdown, exit, uncaught, onStop)',
    );
    assert.equal(application.current(), undefined);
  });

  const bad: [string, unknown, typeof TypeError, RegExp][] = [
    ["name", "", TypeError, /'name' must be a non-empty string, got ""/],
    ["name", 7, TypeError, /'name' must be a non-empty string, got 7/],
    [
      "signals",
      "SIGTERM",
      TypeError,
      /'signals' must be an array of SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGBREAK, got "SIGTERM"/,
    ],
    ["signals", ["SIGKILL"], TypeError, /got \["SIGKILL"\]/],
    [
      "shutdown",
      -1,
      RangeError,
      /'shutdown' must be a non-negative integer or "infinity", got -1/,
    ],
    ["shutdown", 1.5, RangeError, /got 1\.5/],
    ["shutdown", "forever", TypeError, /got "forever"/],
    ["exit", "yes", TypeError, /'exit' must be a boolean, got "yes"/],
    [
      "uncaught",
      "ignore",
      TypeError,
      /'uncaught' must be "stop" or "report", got "ignore"/,
    ],
    ["onStop", "later", TypeError, /'onStop' must be a function, got "later"/],
  ];
  for (const [key, value, type, message] of bad) {
    test(`run() refuses ${key}: ${JSON.stringify(value)}`, async () => {
      const err = await application.run(() => supervisor.start({}), {
        exit: false,
        [key]: value,
      }).catch((e) => e);
      assert.equal(err.constructor, type);
      assert.match(err.message, /^Cannot run application: /);
      assert.match(err.message, message);
      assert.equal(application.current(), undefined);
    });
  }

  test("start must be a function; options an object", async () => {
    const e1 = await application.start(
      "sup" as unknown as application.StartFunction,
    ).catch((e) => e);
    assert.ok(e1 instanceof TypeError);
    assert.equal(
      e1.message,
      `Cannot start application: 'start' must be a function, got "sup"`,
    );
    const e2 = await application.start(
      () => supervisor.start({}),
      5 as unknown as application.ApplicationOptions,
    ).catch((e) => e);
    assert.ok(e2 instanceof TypeError);
    assert.match(e2.message, /'options' must be an object, got 5/);
  });

  test("its listeners and timer are there while it runs and gone once it stopped", async () => {
    // Node and Bun: counted on `process`. Deno: its listeners are
    // Deno.addSignalListener's and the global "error" events, which Deno
    // does not count; the harness's resource and op sanitizers fail this
    // test if a signal listener or the keep-alive timer is left behind.
    const onProcess = !IS_DENO;
    const counts = () =>
      onProcess
        ? [
          "SIGTERM",
          "SIGINT",
          "SIGHUP",
          "uncaughtException",
          "unhandledRejection",
        ].map((e) => process.listenerCount(e))
        : [];
    const before = counts();
    const app = await application.start(() => supervisor.start({}), {
      exit: false,
      signals: ["SIGTERM", "SIGHUP"],
    });
    if (onProcess) {
      assert.deepEqual(counts(), [
        before[0] + 1,
        before[1],
        before[2] + 1,
        before[3] + 1,
        before[4] + 1,
      ]);
    }
    await app.stop();
    assert.deepEqual(counts(), before);
  });
});

// ------------------------------------------------ as a child OS process --

const FIXTURE = fileURLToPath(
  new URL(
    `./fixtures/app_child.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`,
    import.meta.url,
  ),
);
/** The bound on every wait for the child (a hang fails, never hangs). */
const WAIT_MS = 30_000;

interface Finished {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** The fixture, run by this very runtime as a child OS process. */
class Program {
  stdout = "";
  stderr = "";
  readonly #child;
  readonly #closed: Promise<Finished>;
  #onOutput: (() => void) | null = null;
  #done = false;

  constructor(readonly mode: string) {
    const args = IS_DENO ? ["run", "-A", FIXTURE, mode] : [FIXTURE, mode];
    this.#child = spawnOs(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stderr!.setEncoding("utf8");
    this.#child.stdout!.on("data", (s: string) => {
      this.stdout += s;
      this.#onOutput?.();
    });
    this.#child.stderr!.on("data", (s: string) => {
      this.stderr += s;
      this.#onOutput?.();
    });
    this.#closed = new Promise((resolve) => {
      this.#child.on("close", (code, signal) => {
        this.#done = true;
        this.#onOutput?.();
        resolve({
          code,
          signal,
          stdout: this.stdout,
          stderr: this.stderr,
        });
      });
    });
  }

  /** Waits (bounded) until stdout has the line `line`. */
  async line(line: string): Promise<void> {
    const has = () => this.stdout.split("\n").includes(line);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (has()) resolve();
          else if (this.#done) {
            reject(new Error(`${this.describe()} ended before "${line}"`));
          }
        };
        this.#onOutput = check;
        timer = setTimeout(
          () => reject(new Error(`${this.describe()}: no "${line}" in time`)),
          WAIT_MS,
        );
        check();
      });
    } finally {
      clearTimeout(timer);
      this.#onOutput = null;
    }
  }

  signal(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void {
    // process.kill, not child.kill: Deno's child.kill reports any later
    // exit as death by that signal, and sends a second one nowhere.
    if (!this.#done) process.kill(this.#child.pid!, signal);
  }

  /** Waits (bounded) for the program to end; kills it if it does not. */
  async finished(): Promise<Finished> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.signal("SIGKILL");
            reject(new Error(`${this.describe()} did not end in time`));
          }, WAIT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await this.#closed; // no child, pipe or timer left behind
    }
  }

  describe(): string {
    return `child "${this.mode}" (stdout: ${
      JSON.stringify(this.stdout)
    }, stderr: ${JSON.stringify(this.stderr)})`;
  }
}

/** stdout's lines. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

describe("Application as the program's root (a child OS process)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} stops the tree in reverse start order, then exits 0`, async () => {
      const p = new Program("signal");
      await p.line("ready");
      p.signal(signal);
      const r = await p.finished();
      assert.deepEqual(lines(r.stdout), [
        "start a",
        "start b",
        "start c",
        "ready",
        'terminate c "shutdown"',
        'terminate b "shutdown"',
        'terminate a "shutdown"',
        `onStop signal ${signal} 0`,
      ], p.describe());
      assert.equal(r.code, 0, p.describe());
      assert.equal(r.stderr, "");
    });
  }

  test("a signal while the root is starting stops it once started; exit 0", async () => {
    const p = new Program("slow-start");
    await p.line("starting");
    p.signal("SIGTERM");
    const r = await p.finished();
    // run() resolved ("started"), the stop began at once: in either order.
    assert.ok(lines(r.stdout).includes("started"), p.describe());
    assert.deepEqual(lines(r.stdout).filter((l) => l !== "started"), [
      "starting",
      "start a",
      'terminate a "shutdown"',
      "onStop signal SIGTERM 0",
    ], p.describe());
    assert.equal(r.code, 0, p.describe());
  });

  test("a second signal while stopping exits at once (128 + its number)", async () => {
    const p = new Program("second-signal");
    await p.line("ready");
    p.signal("SIGTERM");
    await p.line('terminate slow "shutdown"'); // and stuck there
    p.signal("SIGINT");
    const r = await p.finished();
    assert.equal(r.code, 130, p.describe());
    assert.match(r.stderr, /SIGINT while stopping on SIGTERM: exiting now/);
    assert.ok(!r.stdout.includes("terminate a"), p.describe());
  });

  test("a root that crashes: exit code 1, why on stderr", async () => {
    const p = new Program("crash");
    const r = await p.finished();
    assert.deepEqual(lines(r.stdout), ["ready", "onStop exited - 1"]);
    assert.equal(r.code, 1, p.describe());
    assert.match(
      r.stderr,
      /application "fixture" stopped: root <0\.\d+\.0> exited: Error: root crashed/,
    );
  });

  test("a root supervisor that gives up: exit code 1", async () => {
    const p = new Program("gave-up");
    const r = await p.finished();
    assert.equal(r.code, 1, p.describe());
    assert.match(
      r.stderr,
      /exited: "shutdown" \(reached_max_restart_intensity\)/,
    );
    assert.ok(r.stdout.includes('terminate a "shutdown"'), p.describe());
  });

  test("an uncaught exception outside any process is reported; the tree stops in order; exit 1", async () => {
    const p = new Program("uncaught");
    const r = await p.finished();
    assert.deepEqual(lines(r.stdout), [
      "start a",
      "start b",
      "ready",
      'terminate b "shutdown"',
      'terminate a "shutdown"',
      "onStop uncaught - 1",
    ], p.describe());
    assert.equal(r.code, 1, p.describe());
    assert.match(
      r.stderr,
      /=ERROR REPORT= uncaught exception outside any process: Error: stray timer error\n\s+at /,
    );
    assert.match(r.stderr, /stopping after an error outside any process/);
  });

  test("an unhandled rejection is reported the same way; exit 1", async () => {
    const p = new Program("rejection");
    const r = await p.finished();
    assert.equal(r.code, 1, p.describe());
    assert.match(
      r.stderr,
      /=ERROR REPORT= unhandled rejection outside any process: Error: stray rejection/,
    );
    assert.ok(r.stdout.includes("onStop uncaught - 1"), p.describe());
  });

  test("uncaught: 'report' reports and keeps running", async () => {
    const p = new Program("report");
    await p.line("ready");
    assert.match(
      p.stderr,
      /unhandled rejection outside any process: Error: harmless rejection/,
    );
    p.signal("SIGTERM");
    const r = await p.finished();
    assert.equal(r.code, 0, p.describe());
    assert.ok(r.stdout.includes("onStop signal SIGTERM 0"), p.describe());
  });

  test("run() whose start fails says why and exits 1", async () => {
    const p = new Program("start-failed");
    const r = await p.finished();
    assert.equal(r.code, 1, p.describe());
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /application "fixture" did not start: "no_config"/);
  });

  test("with exit: false, a stopped application leaves nothing keeping the program alive", async () => {
    const p = new Program("self-stop");
    const r = await p.finished();
    assert.deepEqual(lines(r.stdout), [
      "start a",
      "ready",
      'terminate a "shutdown"',
      "onStop stop - 0",
      "stopped 0",
    ], p.describe());
    assert.equal(r.code, 0, p.describe());
  });

  test("a hostile exit reason is reported without breaking the exit", async () => {
    const p = new Program("hostile");
    const r = await p.finished();
    assert.equal(r.code, 1, p.describe());
    assert.match(r.stderr, /exited: \[object throwing on inspect\]/);
  });
});
