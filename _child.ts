// The child lifecycle shared by the supervisor-like modules (supervisor,
// tracker, director): start a child and normalise what its start function
// returned; shut a child down (brutal kill, timeout then kill, or infinity)
// while watching it, then unlink it and take its EXIT out of the
// supervisor's mailbox, so a child the supervisor ended never looks like a
// crash. The modules differ only in policy: which children restart, when,
// and what they record.
//
// Everything here takes the supervising process explicitly and uses the
// runtime's internals, not `self()`: the callers' async code does not run in
// the supervisor's async context (that would cost every promise on Node).

import { applyAs } from "./_context.ts";
import {
  addWait,
  deliver,
  type DownWatcher,
  exitSignal,
  findFirst,
  linked,
  linkProcs,
  NO_MESSAGE,
  Pid,
  type Proc,
  procOf,
  removeWait,
  takeFirst,
  thrownReason,
  unlinkProcs,
  unwatch,
  type Wait,
  watch,
} from "./_runtime.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import { ChildSpecError, StartError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import { isInstance, thenOf } from "./_safe.ts";
import { unknownKey, unknownKeyMessage } from "./_options.ts";
import {
  type ChildEvent,
  type LogTarget,
  reportChildEvent,
} from "./_logger.ts";

/**
 * How a child is shut down: `"brutal_kill"` (killed at once), a number of
 * milliseconds (asked to exit with `"shutdown"`, killed if still alive after
 * that long), or `"infinity"` (asked, and waited for however long it takes).
 */
export type Shutdown = "brutal_kill" | number | "infinity";

/**
 * What a child's start function may return (or resolve to):
 * - a `Pid`, `["ok", pid]` or `{ pid }`: started;
 * - `["ok", pid, extra]` or `{ pid, extra }`: started, with extra information
 *   for the caller of startChild;
 * - `"ignore"`: nothing to run (the spec may be kept, see the supervisor);
 * - `["error", reason]`: failed with `reason`.
 *
 * A start function that throws (or rejects) fails with what it threw: a
 * {@linkcode StartError} stands for its `reason` (a gen_server init that
 * returned `"ignore"` counts as `"ignore"`), an `ExitError` for its reason.
 * Any other value `v` fails with reason `v`, as OTP's `{error, v}`.
 */
export type StartReturn =
  | Pid
  | "ignore"
  | readonly ["ok", Pid]
  | readonly ["ok", Pid, unknown]
  | readonly ["error", unknown]
  | { readonly pid: Pid; readonly extra?: unknown };

/** A child start's outcome, normalised. */
export type StartOutcome =
  | { readonly pid: Pid; readonly extra: unknown }
  | "ignore"
  | { readonly error: unknown };

/** Whether an outcome is a failure. */
export function failed(
  outcome: StartOutcome,
): outcome is { readonly error: unknown } {
  return typeof outcome === "object" && "error" in outcome;
}

/**
 * Normalises what a start function returned. A value that throws when read
 * (a Proxy's trap, a getter) is a failure with that value as its reason,
 * never a throw in the supervisor.
 */
export function normalise(value: unknown): StartOutcome {
  try {
    return normaliseValue(value);
  } catch {
    return { error: value };
  }
}

function normaliseValue(value: unknown): StartOutcome {
  if (value instanceof Pid) return { pid: value, extra: undefined };
  if (value === "ignore") return "ignore";
  if (Array.isArray(value)) {
    if (value[0] === "ok" && value[1] instanceof Pid) {
      if (value.length === 2) return { pid: value[1], extra: undefined };
      if (value.length === 3) return { pid: value[1], extra: value[2] };
    }
    if (value[0] === "error" && value.length === 2) return { error: value[1] };
  } else if (
    value !== null && typeof value === "object" &&
    (value as { pid?: unknown }).pid instanceof Pid
  ) {
    const v = value as { pid: Pid; extra?: unknown };
    return { pid: v.pid, extra: v.extra };
  }
  return { error: value };
}

/** The outcome a thrown start stands for. */
export function thrownOutcome(error: unknown): StartOutcome {
  if (isInstance(error, StartError)) {
    return error.reason === "ignore" ? "ignore" : { error: error.reason };
  }
  return { error: thrownReason(error) };
}

/**
 * Calls a child's start function as the supervisor `sup` (so `startLink`
 * links to it) and normalises the result. A started child is linked to `sup`
 * if its start function did not link it; a child that is already dead leaves
 * its EXIT in `sup`'s mailbox either way, so its death is never missed.
 */
export function startChild(
  sup: Proc,
  start: (...args: unknown[]) => unknown,
  args: readonly unknown[],
): StartOutcome | Promise<StartOutcome> {
  let value: unknown;
  try {
    value = applyAs(sup, start, args);
  } catch (error) {
    return thrownOutcome(error);
  }
  if (
    value !== null && typeof value === "object" && thenOf(value) !== null
  ) {
    return Promise.resolve(value).then(
      (v) => adopt(sup, normalise(v)),
      thrownOutcome,
    );
  }
  return adopt(sup, normalise(value));
}

/**
 * Like {@linkcode startChild}, but hands the outcome to `done` instead of
 * returning it: at once when the start function returned a value, else when
 * its promise settles (one promise hop sooner than `startChild(...).then`).
 * `done` must not throw. Returns whether `done` has run already.
 */
export function startChildThen(
  sup: Proc,
  start: (...args: unknown[]) => unknown,
  args: readonly unknown[],
  done: (outcome: StartOutcome) => void,
): boolean {
  let value: unknown;
  try {
    value = applyAs(sup, start, args);
  } catch (error) {
    done(thrownOutcome(error));
    return true;
  }
  if (
    value !== null && typeof value === "object" && thenOf(value) !== null
  ) {
    Promise.resolve(value).then(
      (v) => done(adopt(sup, normalise(v))),
      (error) => done(thrownOutcome(error)),
    );
    return false;
  }
  done(adopt(sup, normalise(value)));
  return true;
}

function adopt(sup: Proc, outcome: StartOutcome): StartOutcome {
  if (typeof outcome !== "object" || !("pid" in outcome)) return outcome;
  const child = procOf(outcome.pid);
  if (sup.dead) {
    // Started after its supervisor died (a promise the start function
    // chained): it gets the supervisor's exit as a link would have given
    // it, rather than run on unsupervised.
    exitSignal(sup, child, sup.reason, true);
    return outcome;
  }
  if (!child.dead) {
    // The child's side: one link (to sup) vs the supervisor's 100k.
    if (!linked(child, sup)) linkProcs(sup, child);
  } else if (!hasExit(sup, outcome.pid)) {
    // Died unlinked before we could link: its EXIT as if it had been linked.
    deliver(sup, ["EXIT", outcome.pid, child.reason]);
  }
  return outcome;
}

function hasExit(sup: Proc, pid: Pid): boolean {
  return findFirst(sup, isExitOf(pid)) !== NO_MESSAGE;
}

function isExitOf(pid: Pid): (m: unknown) => boolean {
  return (m) =>
    Array.isArray(m) && m.length === 3 && m[0] === "EXIT" && m[1] === pid;
}

/**
 * Ends the link between `sup` and `child` and removes the child's EXIT from
 * `sup`'s mailbox; returns the EXIT's reason, or `fallback` if there was
 * none (OTP: the EXIT, when present, is the authoritative reason).
 */
export function unlinkAndFlush(
  sup: Proc,
  child: Pid,
  fallback: unknown,
): unknown {
  unlinkProcs(sup, procOf(child));
  const m = takeFirst(sup, isExitOf(child));
  return m === NO_MESSAGE ? fallback : (m as unknown[])[2];
}

/**
 * One child being shut down: a watch on its death (OTP's monitor, so a child
 * that unlinked cannot hang the supervisor), the kill timer, and a wait the
 * supervisor's own death ends. `settled` says whether it is done; the
 * reason is then in `reason`, else await `promise`.
 */
class Shutdowner extends Timed implements DownWatcher, Wait {
  settled = false;
  reason: unknown = undefined;
  #resolve: ((reason: unknown) => void) | null = null;
  #promise: Promise<unknown> | null = null;

  constructor(readonly owner: Proc, readonly child: Proc) {
    super();
  }

  get promise(): Promise<unknown> {
    if (this.#promise === null) {
      this.#promise = this.settled
        ? Promise.resolve(this.reason)
        : new Promise((resolve) => this.#resolve = resolve);
    }
    return this.#promise;
  }

  down(_target: Proc, reason: unknown): void {
    this.#settle(unlinkAndFlush(this.owner, this.child.pid, reason));
  }

  expire(): void {
    // Still alive after its shutdown time: killed (the watch then fires).
    exitSignal(this.owner, this.child, "kill", false);
  }

  abort(reason: unknown): void {
    // The supervisor died while waiting: the child goes with it (linked).
    unwatch(this.child, this);
    this.#settle(reason);
  }

  #settle(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reason = reason;
    cancelTimeout(this);
    removeWait(this.owner, this);
    this.#resolve?.(reason);
  }
}

/**
 * Shuts `child` down as OTP's supervisor does: watch it, then
 * `"brutal_kill"` sends `kill`; a number of ms sends `"shutdown"` and kills
 * the child if it is still alive after that long; `"infinity"` sends
 * `"shutdown"` and waits as long as it takes; last, unlink it and take its
 * EXIT, whose reason (if there is one) is the reason. Returns the child's
 * exit reason, at once if it is known at once (a brutal kill, a child that
 * does not trap exits), else a promise of it.
 */
export function shutdownChild(
  sup: Proc,
  child: Pid,
  shutdown: Shutdown,
): unknown | Promise<unknown> {
  const s = begin(sup, child, shutdown);
  if (s.settled) return s.reason;
  if (typeof shutdown === "number") startTimeout(s, shutdown);
  return s.promise;
}

function begin(sup: Proc, child: Pid, shutdown: Shutdown): Shutdowner {
  const proc = procOf(child);
  const s = new Shutdowner(sup, proc);
  if (proc.dead) {
    s.settled = true;
    s.reason = unlinkAndFlush(sup, child, proc.reason);
    return s;
  }
  watch(proc, s);
  addWait(sup, s);
  exitSignal(
    sup,
    proc,
    shutdown === "brutal_kill" ? "kill" : "shutdown",
    false,
  );
  return s;
}

/**
 * Shuts many children down at once (simple_one_for_one, DynamicSupervisor):
 * every exit signal first, then one wait; with a numeric `shutdown`, the
 * ones still alive after it are killed. Resolves to each child's reason, in
 * the order given.
 */
export function shutdownAll(
  sup: Proc,
  children: readonly Pid[],
  shutdown: Shutdown,
): Promise<unknown[]> {
  const all = children.map((c) => begin(sup, c, shutdown));
  const pending = all.filter((s) => !s.settled);
  if (pending.length === 0) return Promise.resolve(all.map((s) => s.reason));
  const timer = typeof shutdown === "number" ? new KillAll(pending) : null;
  if (timer !== null) startTimeout(timer, shutdown as number);
  return Promise.all(pending.map((s) => s.promise)).then(() => {
    if (timer !== null) cancelTimeout(timer);
    return all.map((s) => s.reason);
  });
}

/** The shared timer of {@linkcode shutdownAll}. */
class KillAll extends Timed {
  constructor(readonly pending: Shutdowner[]) {
    super();
  }

  expire(): void {
    for (const s of this.pending) if (!s.settled) s.expire();
  }
}

/**
 * Reports a child's event through the logger `log` (the module's `logger`
 * option; `false`: none): `spec` gives the child's restart type and whether
 * it is killed brutally, which decide whether an exit or a shutdown is
 * worth a report.
 */
export function reportChild(
  log: LogTarget,
  source: "supervisor" | "tracker",
  sup: Pid,
  name: string | undefined,
  event: ChildEvent,
  spec?: { readonly restart: RestartType; readonly shutdown: Shutdown },
): void {
  if (log === false) return;
  reportChildEvent(
    log,
    source,
    sup,
    name,
    event,
    spec?.restart,
    spec?.shutdown === "brutal_kill",
  );
}

// ------------------------------------------------- child spec checks --
// The keys every supervisor-like module's child spec shares, checked the
// same way everywhere, by OTP's supervisor rules (`id` and `start`
// required; `restart` permanent/transient/temporary; `shutdown`
// brutal_kill, ms or infinity; `type` worker/supervisor): each checker
// returns the value (normalised where said) or throws a ChildSpecError
// naming the key.

/** When a child is restarted (supervisor.ts documents the table). */
export type RestartType = "permanent" | "transient" | "temporary";

/** What a child is, for counts and shutdown defaults. */
export type ChildType = "worker" | "supervisor";

const RESTARTS: readonly unknown[] = ["permanent", "transient", "temporary"];

/**
 * A child spec error: `Cannot use child spec <id>: <why>` (no child
 * part when `id` is undefined).
 */
export function specError(
  key: string,
  reason: unknown,
  id: unknown,
  why: string,
): ChildSpecError {
  const who = id === undefined ? "" : ` ${formatTerm(id)}`;
  return new ChildSpecError(key, reason, `Cannot use child spec${who}: ${why}`);
}

/**
 * The spec itself: an object (not an array) with an `id`; returned as a
 * record. `idRule` says what an id may be, for the missing-id message.
 */
export function checkSpecObject(
  spec: unknown,
  idRule = "any value but undefined",
): Record<string, unknown> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw specError(
      "spec",
      ["invalid_child_spec", spec],
      undefined,
      `a child spec must be an object with 'id' and 'start', got ${
        formatTerm(spec)
      }`,
    );
  }
  const s = spec as Record<string, unknown>;
  if (s.id === undefined) {
    throw specError(
      "id",
      "missing_id",
      undefined,
      `'id' is missing (${idRule})`,
    );
  }
  return s;
}

/**
 * Refuses a key of spec `s` not in `known`: `Cannot use child spec <id>:
 * unknown key "x" (known: ...)`, a ChildSpecError whose `key` is the
 * unknown key. (OTP's map specs ignore extra keys; a typo such as
 * `restart_type` would then silently leave the default in place.)
 */
export function checkSpecKeys(
  s: Record<string, unknown>,
  known: readonly string[],
): void {
  const key = unknownKey(s, known);
  if (key !== undefined) {
    throw specError(
      key,
      ["unknown_key", key],
      s.id,
      unknownKeyMessage(key, known, "key"),
    );
  }
}

/**
 * `type` (default `"worker"`), `shutdown` (default 5000 ms for a worker,
 * `"infinity"` for a supervisor) and `modules` (default `noModules`), in
 * that order: what the child is and how it stops.
 */
export function checkKindKeys(
  s: Record<string, unknown>,
  noModules: readonly string[],
): {
  type: ChildType;
  shutdown: Shutdown;
  modules: readonly string[] | "dynamic";
} {
  const type = checkType(s.type ?? "worker", s.id);
  const shutdown = checkShutdown(
    s.shutdown ?? (type === "worker" ? 5000 : "infinity"),
    s.id,
  );
  return {
    type,
    shutdown,
    modules: checkModules(s.modules ?? noModules, s.id),
  };
}

/** `restart`: one of the three restart types. */
export function checkRestart(restart: unknown, id: unknown): RestartType {
  if (!RESTARTS.includes(restart)) {
    throw specError(
      "restart",
      ["invalid_restart_type", restart],
      id,
      `'restart' must be "permanent", "transient" or "temporary", got ${
        formatTerm(restart)
      }`,
    );
  }
  return restart as RestartType;
}

/** `start` (when given): a function. */
export function checkStart(start: unknown, id: unknown): void {
  if (typeof start !== "function") {
    throw specError(
      "start",
      ["invalid_mfa", start],
      id,
      `'start' must be a function, got ${formatTerm(start)}`,
    );
  }
}

/** `args`: an array. */
export function checkArgs(args: unknown, id: unknown): readonly unknown[] {
  if (!Array.isArray(args)) {
    throw specError(
      "args",
      ["invalid_mfa", args],
      id,
      `'args' must be an array, got ${formatTerm(args)}`,
    );
  }
  return args;
}

/** `type`: worker or supervisor. */
export function checkType(type: unknown, id: unknown): ChildType {
  if (type !== "worker" && type !== "supervisor") {
    throw specError(
      "type",
      ["invalid_child_type", type],
      id,
      `'type' must be "worker" or "supervisor", got ${formatTerm(type)}`,
    );
  }
  return type;
}

/** `shutdown`: brutal_kill, infinity or whole ms >= 0 (Infinity: "infinity"). */
export function checkShutdown(shutdown: unknown, id: unknown): Shutdown {
  if (shutdown === "brutal_kill" || shutdown === "infinity") return shutdown;
  if (typeof shutdown === "number" && shutdown >= 0) {
    if (shutdown === Infinity) return "infinity";
    if (Number.isInteger(shutdown)) return shutdown;
  }
  throw specError(
    "shutdown",
    ["invalid_shutdown", shutdown],
    id,
    `'shutdown' must be "brutal_kill", "infinity" or a whole number of ms >= 0, got ${
      formatTerm(shutdown)
    }`,
  );
}

/** `modules`: "dynamic" or an array of strings (returned as given). */
export function checkModules(
  modules: unknown,
  id: unknown,
): readonly string[] | "dynamic" {
  if (modules === "dynamic") return modules;
  if (!Array.isArray(modules)) {
    throw specError(
      "modules",
      ["invalid_modules", modules],
      id,
      `'modules' must be an array of strings or "dynamic", got ${
        formatTerm(modules)
      }`,
    );
  }
  for (const m of modules) {
    if (typeof m !== "string") {
      throw specError(
        "modules",
        ["invalid_module", m],
        id,
        `every module must be a string, got ${formatTerm(m)}`,
      );
    }
  }
  return modules;
}
