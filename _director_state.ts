// A director's state and its plan machine (director.ts is the server and
// the API): the child table the lock-free reads use, what happens when a
// child exits (director 17.9.16's handle_exit), delayed restarts and
// retries, stopping children, events and reports. Only the director
// process writes it.

import type { Pid, Proc } from "./_runtime.ts";
import {
  failed,
  type Shutdown,
  shutdownChild,
  startChild as startChildProcess,
  type StartOutcome,
} from "./_child.ts";
import {
  backoffDelay,
  cancelPending,
  type PendingRestart,
  type RestartTimer,
  type Retry,
  retrySoon,
  startRestartTimer,
} from "./_restart.ts";
import { type ChildState, move, STARTING, STOPPED } from "./_child_table.ts";
import { type DistributiveOmit, then } from "./_request.ts";
import { getClock } from "./clock.ts";
import { isCleanExit } from "./_safe.ts";
import { EventHub } from "./_events.ts";
import { ChildTable } from "./_child_table.ts";
import {
  dispatch,
  enabled,
  type LogTarget,
  reportChildEvent,
  SEVERITY,
} from "./_logger.ts";
import { formatTerm } from "./_format.ts";
import {
  badAction,
  DEFAULT_DEFAULT_CHILDSPEC,
  type OwnSpec,
} from "./_director_spec.ts";
import type {
  Backoff,
  DefaultChildspec,
  DirectorEvent,
  DirectorReport,
  FullChildSpec,
  LogEntry,
  LogValidator,
  PlanAction,
  ReportKind,
  StartOptions,
} from "./director.ts";
import { reportInternalError } from "./_report.ts";

/** Every director's events. */
export const events: EventHub<DirectorEvent> = new EventHub<DirectorEvent>();

/**
 * One child: its specs, its process, and where it is in its plan. Where it
 * is lives in `state` (_child_table.ts: the states and the legal moves): a
 * restart under way shows as `"starting"`, a child being stopped as
 * `"terminating"` with its pid (readers see the pid until it is dead).
 */
export class Child {
  state: ChildState = STOPPED;
  /**
   * The pid while running or terminating (readers see it until the child is
   * dead), else undefined: the state's, kept in a field by `to` for the
   * lock-free reads (getPid reads just this).
   */
  pid: Pid | undefined = undefined;
  /** The running child's extra (from its start), else undefined. */
  extra: unknown = undefined;
  /** The next plan element to run (0-based; director's index). */
  index = 0;
  /** Runs of the whole plan completed (director's count2). */
  cycles = 0;
  /** Plan elements run so far (exits and failed restarts). */
  restartCount = 0;
  /** Consecutive backoff restarts. */
  streak = 0;
  /** When it last started, and how long its last run lasted (clock ms). */
  startedAt = 0;
  upFor = 0;

  constructor(
    /** The spec as given, with its own defaults. */
    public own: OwnSpec,
    /** The effective spec (own folded over the default if append). */
    public spec: FullChildSpec,
  ) {}

  /** Between exit and restart: a delay, a retry, or a start under way. */
  get restarting(): boolean {
    const t = this.state.tag;
    return t === "restarting" || t === "starting";
  }

  /** The pending delayed restart or retry. */
  get pending(): PendingRestart | null {
    const s = this.state;
    return s.tag === "restarting" ? s.pending : null;
  }

  /** Moves to `next` (a legal move, or an internal error). */
  to(next: ChildState): void {
    this.state = move(this.state, next);
    this.pid = next.tag === "running" || next.tag === "terminating"
      ? next.pid
      : undefined;
  }
}

/** The director stops with `reason` (a plan said so). */
export class Stop {
  constructor(readonly reason: unknown) {}
}
export type Step = Stop | undefined;

function isOkShutdown(reason: unknown, brutal: boolean): boolean {
  return isCleanExit(reason) || (brutal && reason === "killed");
}

/** Directors by pid: the table the lock-free reads use. */
export const directors = new Map<Pid, Dir>();

/** A director's state (the gen_server state). */
export class Dir {
  readonly pid: Pid;
  /** Children in start order, by id (term equality). */
  readonly children: ChildTable<Child> = new ChildTable<Child>((c) =>
    c.spec.id
  );
  /** Running children by pid. */
  readonly byPid: Map<Pid, Child> = this.children.byPid;
  /** The default childspec (as given, checked). */
  default: DefaultChildspec = DEFAULT_DEFAULT_CHILDSPEC;
  readonly trace: ((line: string) => void) | null;
  /** Where reports go (the `logger` option). */
  readonly log: LogTarget;
  readonly logValidator: LogValidator | undefined;

  constructor(readonly proc: Proc, options: StartOptions) {
    this.pid = proc.pid;
    const debug = options.debug ?? false;
    this.trace = debug === true
      ? (line) => console.log(line)
      : debug === false
      ? null
      : debug;
    this.log = options.logger === undefined
      ? undefined
      : typeof options.logger === "string"
      ? SEVERITY[options.logger]
      : options.logger as LogTarget;
    this.logValidator = options.logValidator;
  }

  /** Released at the director's death, however it dies. */
  readonly release = (): void => {
    directors.delete(this.pid);
    for (const c of this.children) this.cancelPending(c);
  };

  get label(): string {
    const name = this.proc.name;
    return `director ${name === undefined ? String(this.pid) : `"${name}"`}`;
  }

  debug(what: string): void {
    this.trace!(`*DBG* ${this.label} ${what}`);
  }

  emit(event: DistributiveOmit<DirectorEvent, "director" | "time">): void {
    // Restarts and delays are the library's reports, not the director's
    // own (report() below): for the global logger only, so a director's
    // own logger function still gets LogEntry objects alone.
    if (
      (event.type === "restart_delayed" || event.type === "child_restarted") &&
      this.log !== false && typeof this.log !== "function"
    ) {
      reportChildEvent(this.log, "director", this.pid, this.proc.name, event);
    }
    if (!events.active) return;
    events.emit(
      { ...event, director: this.pid, time: getClock().now() } as DirectorEvent,
    );
  }

  // -- reports --

  report(
    kind: ReportKind,
    child: Child,
    pid: Pid | undefined,
    reason: unknown,
  ): void {
    const target = this.log;
    const level = kind === "progress" ? "info" : "error";
    if (!enabled(target, level)) return;
    const report: DirectorReport = {
      kind,
      level,
      time: Date.now(),
      source: "director",
      supervisor: this.pid,
      director: this.pid,
      name: this.proc.name,
      id: child.spec.id,
      pid,
      reason,
      restartCount: child.restartCount,
      spec: child.spec,
    };
    const validator = child.spec.logValidator ?? this.logValidator;
    let form: unknown = "short";
    if (validator !== undefined) {
      try {
        form = validator(report.level, report);
      } catch (error) {
        reportInternalError("a director log validator threw", error);
      }
    }
    if (form === "none") return;
    const f = form === "long" ? "long" : "short";
    let text: string;
    try {
      text = this.format(report, child, f);
    } catch {
      text = `=SUPERVISOR REPORT= ${this.pid}: ${kind} (unprintable)`;
    }
    const entry: LogEntry = { ...report, form: f, text };
    dispatch(target as LogTarget, entry);
  }

  format(r: DirectorReport, child: Child, form: "short" | "long"): string {
    const who = `child ${formatTerm(r.id)}${
      r.pid === undefined ? "" : ` (${r.pid})`
    }`;
    const what = r.kind === "progress"
      ? `started ${who}`
      : r.kind === "child_terminated"
      ? `${who} exited: ${formatTerm(r.reason)}`
      : r.kind === "start_error"
      ? `could not restart ${who}: ${formatTerm(r.reason)}`
      : `${who} did not stop cleanly: ${formatTerm(r.reason)}`;
    const head = r.kind === "progress"
      ? "PROGRESS REPORT"
      : "SUPERVISOR REPORT";
    if (form === "short") return `=${head}= ${this.label}: ${what}`;
    const s = r.spec;
    return [
      `=${head}====`,
      `    Supervisor: ${this.label} (${this.pid})`,
      `    Context:    ${r.kind}`,
      ...(r.kind === "progress"
        ? []
        : [`    Reason:     ${formatTerm(r.reason)}`]),
      `    Child:      id=${formatTerm(s.id)} pid=${
        r.pid ?? "undefined"
      } type=${s.type}`,
      `                plan=${formatTerm(s.plan)} next=${child.index}`,
      `                count=${s.count} runs=${child.cycles} restartCount=${child.restartCount}`,
      `                terminateTimeout=${s.terminateTimeout} modules=${
        formatTerm(s.modules)
      } append=${s.append}`,
    ].join("\n");
  }

  // -- the child table --

  find(id: unknown): Child | undefined {
    return this.children.find(id);
  }

  add(child: Child): void {
    this.children.add(child);
  }

  remove(child: Child): void {
    this.cancelPending(child);
    this.children.delete(child);
    const pid = child.pid;
    if (pid !== undefined) this.byPid.delete(pid);
    this.emit({ type: "child_deleted", id: child.spec.id });
  }

  running(child: Child, pid: Pid, extra: unknown): void {
    child.to({ tag: "running", pid });
    child.extra = extra;
    child.startedAt = getClock().now();
    this.byPid.set(pid, child);
  }

  /** Not running any more: forgets its pid. */
  notRunning(child: Child, pid: Pid): void {
    this.byPid.delete(pid);
    child.to(STOPPED);
    child.extra = undefined;
  }

  /** Cancels a pending restart or a start under way (the child stops). */
  cancelPending(child: Child): void {
    const s = child.state;
    if (s.tag === "restarting") {
      if (s.pending !== null) cancelPending(s.pending);
      child.to(STOPPED);
    } else if (s.tag === "starting") child.to(STOPPED);
  }

  /** Starts a child's process (not yet a running child: see `started`). */
  start(child: Child): StartOutcome | Promise<StartOutcome> {
    return startChildProcess(this.proc, child.spec.start, child.spec.args);
  }

  /** A child's start succeeded: record it, tell. */
  started(child: Child, pid: Pid, extra: unknown): void {
    this.running(child, pid, extra);
    this.emit({ type: "child_started", id: child.spec.id, pid });
    this.report("progress", child, pid, undefined);
  }

  // -- a child exited: its plan. An empty plan, or a plan already run
  // `count` times, stops the director; else the next element runs, and
  // after the last one the plan starts over, one run more. --

  exited(child: Child, pid: Pid, reason: unknown): Step | Promise<Step> {
    this.notRunning(child, pid);
    child.upFor = getClock().now() - child.startedAt;
    if (this.trace !== null) {
      this.debug(
        `got exit signal for pid ${pid} with reason ${formatTerm(reason)}`,
      );
    }
    this.emit({ type: "child_exited", id: child.spec.id, pid, reason });
    this.report("child_terminated", child, pid, reason);
    return this.runPlan(child, reason);
  }

  runPlan(child: Child, reason: unknown): Step | Promise<Step> {
    const { id, plan, count } = child.spec;
    if (plan.length === 0) {
      return new Stop(["empty_plan_child_terminated", id, reason]);
    }
    if (child.cycles >= count) {
      return new Stop(["reached_max_restart_plan", id, reason]);
    }
    const element = plan[child.index];
    if (++child.index >= plan.length) {
      child.index = 0;
      child.cycles++;
    }
    const n = ++child.restartCount;
    let action: PlanAction;
    if (typeof element === "function") {
      let r: unknown;
      try {
        r = element(reason, n, id);
      } catch (error) {
        return new Stop(["run_plan_element", id, ["fun_crash", error], reason]);
      }
      if (typeof r === "function" || badAction(r) !== undefined) {
        return new Stop([
          "run_plan_element",
          id,
          ["fun_bad_return", r],
          reason,
        ]);
      }
      action = r as PlanAction;
    } else action = element;
    if (this.trace !== null) {
      this.debug(
        `is running plan ${formatTerm(action)} for id ${formatTerm(id)}`,
      );
    }
    this.emit({ type: "plan_element", id, action, restartCount: n, reason });
    switch (action) {
      case "restart":
        return this.restartNow(child);
      case "wait":
        return undefined;
      case "delete":
        this.remove(child);
        return undefined;
      case "stop":
        return new Stop(reason);
    }
    switch (action[0]) {
      case "restart":
        this.delay(child, action[1]);
        return undefined;
      case "backoff":
        this.delay(child, this.backoffDelay(child, action[1]));
        return undefined;
    }
    return new Stop(action[1]);
  }

  restartNow(child: Child): Step | Promise<Step> {
    child.to(STARTING); // shown as restarting while an async start is under way
    const r = this.start(child);
    if (r instanceof Promise) return r.then((o) => this.restarted(child, o));
    return this.restarted(child, r);
  }

  restarted(child: Child, outcome: StartOutcome): Step {
    if (this.proc.dead) {
      if (child.state.tag === "starting") child.to(STOPPED);
      return undefined;
    }
    if (failed(outcome)) {
      this.retry(child, outcome.error);
      return undefined;
    }
    let pid: Pid | undefined = undefined;
    if (outcome === "ignore") child.to(STOPPED);
    else {
      pid = outcome.pid;
      this.running(child, pid, outcome.extra);
      this.report("progress", child, pid, undefined);
    }
    this.emit({ type: "child_restarted", id: child.spec.id, pid });
    return undefined;
  }

  retry(child: Child, reason: unknown): void {
    this.emit({ type: "restart_failed", id: child.spec.id, reason });
    this.report("start_error", child, undefined, reason);
    child.upFor = 0;
    const pending = retrySoon(this.proc, child, reason);
    child.to({ tag: "restarting", oldPid: undefined, pending });
  }

  retried(retry: Retry<Child>): Step | Promise<Step> {
    const child = retry.child;
    if (child.pending !== retry) return undefined; // cancelled
    child.to(STOPPED);
    if (this.trace !== null) {
      this.debug(`got a failed restart of id ${formatTerm(child.spec.id)}`);
    }
    return this.runPlan(child, retry.reason);
  }

  delay(child: Child, ms: number): void {
    const timer = startRestartTimer(this.proc, child, getClock().now(), ms);
    child.to({ tag: "restarting", oldPid: undefined, pending: timer });
    this.emit({
      type: "restart_delayed",
      id: child.spec.id,
      delay: ms,
      restartAt: timer.at,
    });
  }

  due(timer: RestartTimer<Child>): Step | Promise<Step> {
    const child = timer.child;
    if (child.pending !== timer) return undefined; // cancelled
    if (this.trace !== null) {
      this.debug(`got restart event for id ${formatTerm(child.spec.id)}`);
    }
    return this.restartNow(child);
  }

  backoffDelay(child: Child, b: Backoff): number {
    if (child.upFor >= b.max) child.streak = 0;
    const rule = {
      initial: b.initial,
      max: b.max,
      factor: b.factor ?? 2,
      jitter: b.jitter ?? 0,
    };
    return backoffDelay(rule, child.streak++);
  }

  // -- stopping children --

  /** Stops a child if it runs (per its terminateTimeout); cancels restarts. */
  terminate(child: Child): void | Promise<void> {
    this.cancelPending(child);
    const pid = child.pid;
    if (pid === undefined) return;
    const tt = child.spec.terminateTimeout;
    const shutdown: Shutdown = tt === 0
      ? "brutal_kill"
      : tt === Infinity
      ? "infinity"
      : tt;
    // The pid stays visible to readers until the child is dead.
    child.to({ tag: "terminating", pid });
    return then(shutdownChild(this.proc, pid, shutdown), (reason) => {
      const s = child.state;
      if (s.tag === "terminating" && s.pid === pid) this.notRunning(child, pid);
      this.emit({ type: "child_terminated", id: child.spec.id, pid, reason });
      if (!isOkShutdown(reason, tt === 0)) {
        this.report("shutdown_error", child, pid, reason);
      }
    });
  }

  /** Stops every child, newest first. */
  async terminateAll(): Promise<void> {
    for (const c of this.children) this.cancelPending(c);
    for (const c of [...this.children].reverse()) await this.terminate(c);
  }
}
