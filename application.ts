/**
 * Applications: a supervision tree run as the program's root, as OTP's
 * `application` and Elixir's `Application`.
 *
 * A process tree alone is promises and messages: nothing in it keeps Deno,
 * Node or Bun running, nothing stops it when the service manager sends
 * SIGTERM, and an error thrown outside every process kills the program
 * without stopping the tree. An application is the piece that does those
 * three things for one root: a supervisor (or a director, a tracker, any
 * process) started by a function, as a supervisor's child is.
 *
 * ```ts ignore
 * import * as application from "@steward/steward/application";
 * import * as supervisor from "@steward/steward/supervisor";
 *
 * await application.run(() =>
 *   supervisor.startLink({
 *     strategy: "one_for_one",
 *     children: [db, cache, web], // started in order, stopped in reverse
 *   })
 * );
 * // Runs until SIGTERM or SIGINT; then stops the tree and exits 0.
 * ```
 *
 * ## Starting: `start` and `run`
 * {@linkcode start} calls the start function (as a supervisor calls a
 * child's: it may return a pid, `["ok", pid]`, `{ pid }`, or fail) and
 * resolves to a {@linkcode RunningApplication} once the root runs. From then
 * on the application holds the runtime open (one ref'd timer), listens for
 * the stop signals, and watches for errors nobody caught. {@linkcode run} is
 * the same with `exit: true`: when the tree is gone, the program exits with
 * the application's exit code. Use `run` in a program's entry point, `start`
 * where something else decides when the program ends (tests, a larger
 * program embedding a tree).
 *
 * ## Stopping
 * - **A signal** (SIGTERM and SIGINT by default, option `signals`) stops the
 *   root the way its own supervisor would: with the root's own stop
 *   (gen_server `stop` with reason `"shutdown"`, which a supervisor, a
 *   director and a tracker answer by stopping their children in reverse
 *   start order, each within its `shutdown` time, then exiting). A root that
 *   is a plain process gets the exit signal `"shutdown"`. A **second** signal
 *   while stopping ends the program at once, with code 128 + the signal's
 *   number (130 for SIGINT, 143 for SIGTERM), as a shell reports a program a
 *   signal killed. This holds with `exit: false` too: the listener replaced
 *   the runtime's own reaction (die), so the second signal is honoured here.
 * - **`stop(reason)`** does the same from code (`"shutdown"` by default),
 *   and so does `await using` on the handle.
 * - **The root exiting on its own** ends the application too: a supervisor
 *   that gave up, one that shut itself down (`autoShutdown`), a root process
 *   that returned.
 * - Option `shutdown` bounds the whole stop: a root still alive after that
 *   many milliseconds is killed (its linked children get `"killed"`). By
 *   default there is no bound, as in OTP: each child's own `shutdown`
 *   already bounds its part.
 *
 * Once the root is dead: `onStop` runs (awaited), the timer and the
 * listeners go, `stopped` (and every `stop()`) resolves with an
 * {@linkcode ApplicationStop} (the root's exit reason, what ended it, the
 * exit code), and with `exit: true` the program exits.
 *
 * ## Exit code
 * `0` when the root ended with a shutdown reason (`"normal"`, `"shutdown"`,
 * or `["shutdown", detail]`), `1` otherwise, and `1`
 * also:
 * - when the root was a supervisor or a tracker that gave up after too many
 *   restarts: it exits `"shutdown"` (OTP's reason), yet the program failed,
 *   and a service manager must see it (OTP takes the whole node down when a
 *   permanent application's tree dies);
 * - after an error outside every process (below);
 * - when `onStop` throws.
 *
 * Why the application stopped, when it is not the signal or `stop()` the
 * program asked for, is printed on stderr.
 *
 * ## Errors outside every process
 * A throw inside a process is its exit reason: its links and supervisor deal
 * with it. A throw anywhere else (a raw `setTimeout` callback, top-level
 * code, a promise rejection nobody handles) has no process to end; OTP has
 * no such place. Node, Deno and Bun print it and die, stopping nothing.
 * While an application runs it is reported on stderr with its stack, and
 * then (option `uncaught`, default `"stop"`) the tree is stopped in order
 * and the exit code is 1: the program's state is unknown, so it ends as the
 * runtime would have ended it, but cleanly. With `uncaught: "report"` the
 * program reports it and keeps running (for a program whose stray
 * rejections are known to be harmless). Rejections count the same as
 * exceptions: all three runtimes die of both by default. Before the
 * application starts and once it has stopped, the runtime's own handling
 * applies again (the hooks are removed with the signal listeners).
 *
 * ## Differences from OTP
 * - No `.app` files, no application controller, no dependencies between
 *   applications, no `start_phases` or environment: an application is a
 *   start function and options.
 * - One root per program: a second {@linkcode start} while one runs fails
 *   with {@linkcode ApplicationError} `"already_running"`. Compose trees under
 *   one root supervisor instead.
 * - Restart types (permanent, transient, temporary) do not apply: when the
 *   tree is gone the application is over, and `exit` says whether the
 *   program ends with it.
 * - The start function runs as the application's own process (OTP's
 *   application master), so a `startLink` links the root to it, never to
 *   the caller, and no `EXIT` lands in the main process's mailbox. A root
 *   started unlinked is linked to it too.
 * - The root is stopped with its own stop request (gen_server `stop`), not
 *   with an exit signal from its parent as OTP's application master does:
 *   the outcome is the same (`terminate` with `"shutdown"`, children in
 *   reverse order), and it also holds for a root started unlinked, which
 *   would take a parent's exit signal for an ordinary message.
 * - An application that stops itself (its root exited) and a signal are
 *   told apart in `cause` and in the exit code; OTP halts the node with a
 *   non-zero status whenever a permanent application's tree dies, here a
 *   root that ends with a shutdown reason (`autoShutdown`, a job done)
 *   exits 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as application from "@steward/steward/application";
 * import * as supervisor from "@steward/steward/supervisor";
 * import * as genServer from "@steward/steward/gen-server";
 * import { trapExit } from "@steward/steward/process";
 *
 * const log: string[] = [];
 * const worker = (id: string) => ({
 *   id,
 *   start: () =>
 *     genServer.startLink({
 *       init: () => {
 *         trapExit(true); // so that terminate runs when it is stopped
 *         log.push(`start ${id}`);
 *         return ["ok", null];
 *       },
 *       terminate: () => void log.push(`stop ${id}`),
 *     }, undefined),
 * });
 * const app = await application.start(
 *   () => supervisor.startLink({ children: [worker("db"), worker("web")] }),
 *   { name: "shop", exit: false },
 * );
 * const { reason, cause, exitCode } = await app.stop();
 * assert.deepEqual([reason, cause, exitCode], ["shutdown", "stop", 0]);
 * assert.deepEqual(log, ["start db", "start web", "stop web", "stop db"]);
 * ```
 *
 * @module
 */

import {
  type DownWatcher,
  exitSignal,
  kill,
  type Kind,
  Pid,
  type Proc,
  procOf,
  spawnProc,
  watch,
} from "./_runtime.ts";
import { applyAs } from "./_context.ts";
import {
  failed,
  startChild,
  type StartOutcome,
  type StartReturn,
} from "./_child.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import { isCleanExit } from "./_safe.ts";
import { microtask } from "./_microtask.ts";
import { ApplicationError } from "./errors.ts";
import {
  exitProgram,
  keepAlive,
  onSignal,
  onUncaught,
  type UncaughtOrigin,
} from "./_platform.ts";
import {
  describe,
  describeError,
  report,
  reportUncaught,
} from "./_uncaught.ts";
import * as supervisor from "./supervisor.ts";
import * as tracker from "./tracker.ts";

export { ApplicationError, Pid };
export type { StartReturn };

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Starts the root, as a supervisor's child `start` does: linked to the
 * caller (`supervisor.startLink`, `genServer.startLink`, `spawnLink`...), or
 * not (it is linked for you). See {@linkcode StartReturn}.
 */
export type StartFunction = () => MaybePromise<StartReturn>;

/** The signals an application can stop on. */
export type Signal =
  | "SIGTERM"
  | "SIGINT"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGBREAK";

/**
 * What an error outside every process does: `"stop"` (report it, stop the
 * tree in order, exit code 1) or `"report"` (report it, keep running).
 */
export type UncaughtPolicy = "stop" | "report";

/**
 * What ended an application: `"stop"` (its `stop()`), `"signal"`,
 * `"uncaught"` (an error outside every process), `"exited"` (the root
 * exited on its own).
 */
export type StopCause = "stop" | "signal" | "uncaught" | "exited";

/** An application's state: `"running"`, then `"stopping"`, then `"stopped"`. */
export type ApplicationStatus = "running" | "stopping" | "stopped";

/** What {@linkcode ApplicationOptions.onStop} is told. */
export interface ApplicationStop {
  /** The application's name. */
  readonly name: string;
  /** The root's exit reason. */
  readonly reason: unknown;
  /** What ended it. */
  readonly cause: StopCause;
  /** The signal that stopped it (cause `"signal"`), else undefined. */
  readonly signal: Signal | undefined;
  /** The exit code (see the module docs): 0 or 1. */
  readonly exitCode: number;
}

/** Options of {@linkcode start} and {@linkcode run}. */
export interface ApplicationOptions {
  /** Names the application in reports and errors. @default {"application"} */
  readonly name?: string;
  /**
   * The signals that stop it (`[]`: none; signals a runtime cannot listen
   * for on this OS are skipped). @default {["SIGTERM", "SIGINT"]}
   */
  readonly signals?: readonly Signal[];
  /**
   * Milliseconds the whole stop may take before the root is killed, or
   * `"infinity"`. @default {"infinity"}
   */
  readonly shutdown?: number | "infinity";
  /**
   * Whether the program exits, with the exit code, once the application has
   * stopped (and when it fails to start). @default {false for start, true for run}
   */
  readonly exit?: boolean;
  /** What an error outside every process does. @default {"stop"} */
  readonly uncaught?: UncaughtPolicy;
  /**
   * Called once the root is dead, before the program exits; awaited. A
   * throw is reported and makes the exit code 1.
   */
  readonly onStop?: (stop: ApplicationStop) => void | Promise<void>;
}

/** The defaults of {@linkcode ApplicationOptions} (OTP has no such keys). */
const DEFAULTS = {
  name: "application",
  signals: ["SIGTERM", "SIGINT"] as readonly Signal[],
  shutdown: "infinity" as number | "infinity",
  uncaught: "stop" as UncaughtPolicy,
};

const OPTION_KEYS = [
  "name",
  "signals",
  "shutdown",
  "exit",
  "uncaught",
  "onStop",
] as const;

/** Signal numbers on Linux (SIGBREAK: Windows), for the exit code 128 + n. */
const SIGNAL_NUMBERS: Readonly<Record<Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
  SIGBREAK: 21,
};

interface Settings {
  readonly name: string;
  readonly signals: readonly Signal[];
  readonly shutdown: number | "infinity";
  readonly exit: boolean;
  readonly uncaught: UncaughtPolicy;
  readonly onStop:
    | ((stop: ApplicationStop) => void | Promise<void>)
    | undefined;
}

/**
 * The application of this program, from its start until it has stopped (one
 * root per program); `started` once its root runs.
 */
let running: RunningApplication | undefined;
let started: RunningApplication | undefined;

/**
 * The application's own process (OTP's application master): it runs the
 * start function, so a `startLink` links the root to it, and it traps exits.
 * It decides nothing from messages: the root's death is watched (a monitor,
 * not the link, so a root that unlinks cannot hang the application), and its
 * EXIT, like any other message, is dropped.
 */
const MASTER: Kind = {
  dispatch(): void {},
};

/** The kill timer of a bounded stop. */
class Deadline extends Timed {
  constructor(readonly fire: () => void) {
    super();
  }

  expire(): void {
    this.fire();
  }
}

let create: (settings: Settings) => RunningApplication;
let launchApp: (
  app: RunningApplication,
  start: StartFunction,
) => Promise<RunningApplication>;

/**
 * A running application: its root's pid, how to stop it, and a promise of
 * its end. Made by {@linkcode start} and {@linkcode run}.
 */
export class RunningApplication implements AsyncDisposable {
  readonly #settings: Settings;
  #status: ApplicationStatus | "starting" = "starting";
  /** The application master (see MASTER). */
  readonly #master: Proc;
  /** The root, once started. */
  #root: Proc | null = null;
  /** What ended it, once known. */
  #cause: StopCause | undefined = undefined;
  /** The first stop signal received. */
  #signal: Signal | undefined = undefined;
  /** A stop asked for while starting: done once the root runs. */
  #pending: { cause: StopCause; reason: unknown } | undefined = undefined;
  /** An error outside every process happened (policy "stop"): exit 1. */
  #uncaught = false;
  /** The root supervisor or tracker gave up (intensity): exit 1. */
  #gaveUp = false;
  /** Whether the root's death has been seen (finish runs once). */
  #down = false;
  #exitCode: number | undefined = undefined;
  readonly #deadline = new Deadline(() => this.#expire());
  /** Undo functions: timer, listeners, subscriptions. */
  readonly #release: (() => void)[] = [];
  readonly #stopped: Promise<ApplicationStop>;
  #resolveStopped!: (stop: ApplicationStop) => void;

  private constructor(settings: Settings) {
    this.#settings = settings;
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#master = spawnProc(null, null, "application");
    this.#master.trapExit = true;
    this.#master.kind = MASTER;
  }

  /** The application's name (option `name`). */
  get name(): string {
    return this.#settings.name;
  }

  /** The root's pid. */
  get pid(): Pid {
    return this.#root!.pid;
  }

  /** `"running"`, `"stopping"` (its tree is stopping), `"stopped"`. */
  get status(): ApplicationStatus {
    return this.#status === "starting" ? "running" : this.#status;
  }

  /**
   * The exit code (0 or 1, see the module docs) once stopped, else
   * undefined. With `exit: false` the program does not exit by itself: this
   * is the code to exit with.
   */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /**
   * Resolves once the application has stopped (after `onStop`) with what
   * `onStop` was told: the root's exit reason, the cause, the exit code.
   * Never rejects. (An object, not the bare reason: a promise cannot resolve
   * to a reason that is a thenable, or whose `then` throws.)
   */
  get stopped(): Promise<ApplicationStop> {
    return this.#stopped;
  }

  /**
   * Stops the tree: the root's own stop (a gen_server-based root: a
   * supervisor, a director, a tracker) with `reason`, or the exit signal
   * `reason` for a plain process; each child within its own `shutdown`
   * time, in reverse start order. Idempotent: later calls (any reason)
   * return the same promise.
   *
   * @param reason the root's exit reason; keep to a shutdown reason
   *   (`"shutdown"`, `["shutdown", detail]`) for exit code 0.
   *   @default {"shutdown"}
   * @returns what `stopped` resolves to: the root's exit reason, the cause,
   *   the exit code.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { start } from "@steward/steward/application";
   * import * as supervisor from "@steward/steward/supervisor";
   * const app = await start(() => supervisor.start({}), { exit: false });
   * const first = app.stop();
   * assert.equal(app.status, "stopping");
   * assert.equal(app.stop(["shutdown", "again"]), first); // same stop
   * assert.equal((await first).reason, "shutdown");
   * assert.equal(app.status, "stopped");
   * ```
   */
  stop(reason: unknown = "shutdown"): Promise<ApplicationStop> {
    this.#begin("stop", reason);
    return this.#stopped;
  }

  /**
   * Stops the application when an `await using` scope exits, as
   * {@linkcode RunningApplication.stop} with `"shutdown"`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { start } from "@steward/steward/application";
   * import * as supervisor from "@steward/steward/supervisor";
   * import { isAlive } from "@steward/steward/process";
   * let root;
   * {
   *   await using app = await start(() => supervisor.start({}), { exit: false });
   *   root = app.pid;
   * }
   * assert.equal(isAlive(root), false);
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ------------------------------------------------------------ start --

  async #launch(start: StartFunction): Promise<RunningApplication> {
    running = this;
    this.#listen();
    let outcome: StartOutcome;
    try {
      outcome = await startChild(this.#master, start as () => unknown, []);
    } catch (error) {
      outcome = { error }; // not expected: startChild turns throws into failures
    }
    if (outcome === "ignore" || failed(outcome)) {
      return this.#startFailed(outcome === "ignore" ? "ignore" : outcome.error);
    }
    const root = procOf(outcome.pid);
    this.#root = root;
    this.#status = "running";
    started = this;
    if (root.dead) {
      this.#rootDown(root.reason);
    } else {
      const watcher: DownWatcher = {
        owner: this.#master,
        down: (_target, reason) => this.#rootDown(reason),
      };
      watch(root, watcher);
    }
    const pending = this.#pending;
    if (pending !== undefined) this.#begin(pending.cause, pending.reason);
    return this;
  }

  /** Installs the timer, the listeners and the subscriptions. */
  #listen(): void {
    const s = this.#settings;
    this.#release.push(keepAlive());
    for (const signal of s.signals) {
      const remove = onSignal(signal, () => this.#onSignal(signal));
      if (remove !== undefined) this.#release.push(remove);
    }
    this.#release.push(
      onUncaught((error, origin) => this.#onUncaught(error, origin)),
    );
    // A supervisor (or tracker) that gives up exits "shutdown": only its
    // event tells a give-up from an ordinary stop.
    this.#release.push(supervisor.subscribe((e) => {
      if (
        e.type === "gave_up" && e.reason === "reached_max_restart_intensity" &&
        e.supervisor === this.#root?.pid
      ) this.#gaveUp = true;
    }));
    this.#release.push(tracker.subscribe((e) => {
      if (e.type === "gave_up" && e.tracker === this.#root?.pid) {
        this.#gaveUp = true;
      }
    }));
  }

  #startFailed(reason: unknown): never {
    this.#status = "stopped";
    this.#exitCode = 1;
    // Anything the start function left linked to the master goes with it.
    kill(this.#master, "shutdown");
    this.#cleanUp();
    const error = new ApplicationError(this.name, "start_failed", reason);
    if (this.#settings.exit) {
      report(
        this.name,
        `application ${JSON.stringify(this.name)} did not start: ${
          describe(reason)
        }`,
      );
      exitProgram(1);
    }
    throw error;
  }

  // ------------------------------------------------------------- stop --

  /** Starts stopping the tree (once); while starting, after the start. */
  #begin(cause: StopCause, reason: unknown): void {
    if (this.#status === "starting") {
      this.#pending ??= { cause, reason };
      return;
    }
    if (this.#status !== "running") return;
    this.#status = "stopping";
    this.#cause = cause;
    const root = this.#root!;
    if (root.dead) return; // its watcher has fired: finishing already
    const shutdown = this.#settings.shutdown;
    if (shutdown !== "infinity") startTimeout(this.#deadline, shutdown);
    const kind = root.kind;
    if (kind?.stop !== undefined) {
      // The root's own stop, asked by the master (its parent): the same
      // request a supervisor's terminate answers by stopping its children.
      try {
        const stopping = applyAs(
          this.#master,
          () => kind.stop!(root, reason),
          [],
        ) as Promise<void>;
        stopping.then(undefined, () => {
          // It died some other way: the watcher tells us how.
        });
      } catch {
        // The same: the watcher decides.
      }
    } else {
      exitSignal(this.#master, root, reason, false);
    }
  }

  #expire(): void {
    const root = this.#root;
    if (root === null || root.dead) return;
    report(
      this.name,
      `application ${
        JSON.stringify(this.name)
      }: root ${root.pid} still running ${this.#settings.shutdown} ms into the stop: killed`,
    );
    exitSignal(this.#master, root, "kill", false);
  }

  #onSignal(signal: Signal): void {
    if (this.#signal !== undefined) {
      report(
        this.name,
        `application ${
          JSON.stringify(this.name)
        }: ${signal} while stopping on ${this.#signal}: exiting now`,
      );
      exitProgram(128 + SIGNAL_NUMBERS[signal]);
      return;
    }
    this.#signal = signal;
    this.#begin("signal", "shutdown");
  }

  #onUncaught(error: unknown, origin: UncaughtOrigin): void {
    reportUncaught(error, origin);
    if (this.#settings.uncaught === "report") return;
    this.#uncaught = true;
    if (this.#status === "running" || this.#status === "starting") {
      report(
        this.name,
        `application ${
          JSON.stringify(this.name)
        }: stopping after an error outside any process`,
      );
    }
    this.#begin("uncaught", "shutdown");
  }

  /** The root is dead (a watcher: synchronous, must not throw). */
  #rootDown(reason: unknown): void {
    if (this.#down) return;
    this.#down = true;
    microtask(() => {
      this.#finish(reason).catch((error) => {
        report(
          this.name,
          `application ${JSON.stringify(this.name)}: ${describeError(error)}`,
        );
      });
    });
  }

  async #finish(reason: unknown): Promise<void> {
    const cause = this.#cause ??= "exited";
    const shutdown = isCleanExit(reason);
    let exitCode = shutdown && !this.#gaveUp && !this.#uncaught ? 0 : 1;
    try {
      cancelTimeout(this.#deadline);
      if (this.#status === "running") this.#status = "stopping";
      if (cause === "exited" || !shutdown || this.#gaveUp) {
        report(
          this.name,
          `application ${JSON.stringify(this.name)} stopped: root ${
            this.#root!.pid
          } exited: ${describe(reason)}${
            this.#gaveUp ? " (reached_max_restart_intensity)" : ""
          }`,
          shutdown && !this.#gaveUp && !this.#uncaught ? "notice" : "error",
        );
      }
      // Anything else the start function linked to the master goes too.
      kill(this.#master, "shutdown");
      const onStop = this.#settings.onStop;
      if (onStop !== undefined) {
        try {
          await onStop(this.#stopInfo(reason, cause, exitCode));
        } catch (error) {
          report(
            this.name,
            `application ${JSON.stringify(this.name)}: onStop threw: ${
              describeError(error)
            }`,
          );
          exitCode = 1;
        }
      }
    } finally {
      // Whatever happened above, the application ends here.
      this.#status = "stopped";
      this.#exitCode = exitCode;
      this.#cleanUp();
      this.#resolveStopped(this.#stopInfo(reason, cause, exitCode));
      if (this.#settings.exit) exitProgram(exitCode);
    }
  }

  #stopInfo(
    reason: unknown,
    cause: StopCause,
    exitCode: number,
  ): ApplicationStop {
    return Object.freeze({
      name: this.name,
      reason,
      cause,
      signal: cause === "signal" ? this.#signal : undefined,
      exitCode,
    });
  }

  /** Removes the timer, the listeners and the subscriptions. */
  #cleanUp(): void {
    for (const release of this.#release.splice(0)) {
      try {
        release();
      } catch {
        // a listener already gone
      }
    }
    if (running === this) running = undefined;
    if (started === this) started = undefined;
  }

  static {
    create = (settings) => new RunningApplication(settings);
    launchApp = (app, start) => app.#launch(start);
  }
}

// ---------------------------------------------------------- public API --

/**
 * Starts an application: calls `start` (as a supervisor starts a child) and
 * resolves once the root runs. From then until the root is dead the runtime
 * stays alive, the `signals` stop the tree, and errors outside every process
 * are reported (and stop it, see the module docs).
 *
 * @param start starts the root: `() => supervisor.startLink(spec)`, a
 *   director's or a tracker's start, a `spawnLink`...
 * @param options see {@linkcode ApplicationOptions}; `exit` defaults to
 *   false here.
 * @returns the running application.
 * @throws {TypeError} (rejects) if `start` is not a function, or an option
 *   is unknown or of the wrong type.
 * @throws {RangeError} (rejects) for a negative or fractional `shutdown`.
 * @throws {ApplicationError} (rejects) `"already_running"` if an application
 *   runs already, `"start_failed"` if `start` failed (with `exit: true` the
 *   program reports that and exits 1 instead).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { start } from "@steward/steward/application";
 * import * as genServer from "@steward/steward/gen-server";
 * import { isAlive } from "@steward/steward/process";
 *
 * const app = await start(
 *   () => genServer.startLink({ init: () => ["ok", 0] }, undefined),
 *   { name: "counter", exit: false, signals: ["SIGTERM"] },
 * );
 * assert.ok(isAlive(app.pid));
 * await app.stop();
 * assert.ok(!isAlive(app.pid));
 * ```
 */
export function start(
  start: StartFunction,
  options?: ApplicationOptions,
): Promise<RunningApplication> {
  return launch("start", start, options, false);
}

/**
 * {@linkcode start} with `exit: true`: the program's entry point. When the
 * application has stopped, the program exits with its exit code (0 after a
 * clean stop, 1 after a failure, see the module docs); if it does not start,
 * the program says why and exits 1.
 *
 * @param start as {@linkcode start}.
 * @param options as {@linkcode start}; `exit` defaults to true here.
 * @returns the running application.
 * @throws {TypeError} (rejects) as {@linkcode start}.
 * @throws {RangeError} (rejects) as {@linkcode start}.
 * @throws {ApplicationError} (rejects) `"already_running"`; `"start_failed"`
 *   only with `exit: false`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run } from "@steward/steward/application";
 * import * as supervisor from "@steward/steward/supervisor";
 * // In a real entry point: `await run(() => supervisor.startLink(spec));`
 * // (exit: false here only so that this example can end by itself)
 * const app = await run(() => supervisor.startLink({}), { exit: false });
 * assert.equal((await app.stop()).reason, "shutdown");
 * ```
 */
export function run(
  start: StartFunction,
  options?: ApplicationOptions,
): Promise<RunningApplication> {
  return launch("run", start, options, true);
}

/**
 * The application running in this program (its root started, not yet
 * stopped), or undefined: how code deep in the tree stops the program
 * (OTP's `init:stop()`, Elixir's `System.stop()`).
 *
 * @returns the running application, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { current, start } from "@steward/steward/application";
 * import * as supervisor from "@steward/steward/supervisor";
 * assert.equal(current(), undefined);
 * const app = await start(() => supervisor.start({}), { exit: false });
 * assert.equal(current(), app);
 * await current()!.stop();
 * assert.equal(current(), undefined);
 * ```
 */
export function current(): RunningApplication | undefined {
  return started;
}

function launch(
  op: "start" | "run",
  start: unknown,
  options: unknown,
  exitDefault: boolean,
): Promise<RunningApplication> {
  let settings: Settings;
  try {
    if (typeof start !== "function") {
      throw new TypeError(
        `Cannot ${op} application: 'start' must be a function, got ${
          describe(start)
        }`,
      );
    }
    settings = checkOptions(op, options, exitDefault);
  } catch (error) {
    return Promise.reject(error);
  }
  if (running !== undefined) {
    return Promise.reject(
      new ApplicationError(settings.name, "already_running"),
    );
  }
  return launchApp(create(settings), start as StartFunction);
}

const SIGNALS: readonly Signal[] = [
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGBREAK",
];

function checkOptions(
  op: "start" | "run",
  options: unknown,
  exitDefault: boolean,
): Settings {
  const fail = (message: string, range = false) =>
    new (range ? RangeError : TypeError)(
      `Cannot ${op} application: ${message}`,
    );
  if (options === undefined) {
    return { ...DEFAULTS, exit: exitDefault, onStop: undefined };
  }
  if (options === null || typeof options !== "object") {
    throw fail(`'options' must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw fail(
        `unknown option ${JSON.stringify(key)} (known: ${
          OPTION_KEYS.join(", ")
        })`,
      );
    }
  }
  const o = options as ApplicationOptions;
  const name = o.name ?? DEFAULTS.name;
  if (typeof name !== "string" || name === "") {
    throw fail(`'name' must be a non-empty string, got ${describe(name)}`);
  }
  const signals = o.signals ?? DEFAULTS.signals;
  if (
    !Array.isArray(signals) ||
    !signals.every((s) => SIGNALS.includes(s))
  ) {
    throw fail(
      `'signals' must be an array of ${SIGNALS.join(", ")}, got ${
        describe(signals)
      }`,
    );
  }
  const shutdown = o.shutdown ?? DEFAULTS.shutdown;
  if (shutdown !== "infinity") {
    if (typeof shutdown !== "number") {
      throw fail(
        `'shutdown' must be a non-negative integer or "infinity", got ${
          describe(shutdown)
        }`,
      );
    }
    if (!Number.isSafeInteger(shutdown) || shutdown < 0) {
      throw fail(
        `'shutdown' must be a non-negative integer or "infinity", got ${
          describe(shutdown)
        }`,
        true,
      );
    }
  }
  const exit = o.exit ?? exitDefault;
  if (typeof exit !== "boolean") {
    throw fail(`'exit' must be a boolean, got ${describe(exit)}`);
  }
  const uncaught = o.uncaught ?? DEFAULTS.uncaught;
  if (uncaught !== "stop" && uncaught !== "report") {
    throw fail(
      `'uncaught' must be "stop" or "report", got ${describe(uncaught)}`,
    );
  }
  const onStop = o.onStop;
  if (onStop !== undefined && typeof onStop !== "function") {
    throw fail(`'onStop' must be a function, got ${describe(onStop)}`);
  }
  return {
    name,
    signals: [...new Set(signals as Signal[])],
    shutdown,
    exit,
    uncaught,
    onStop,
  };
}
