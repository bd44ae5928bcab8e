/**
 * Crash reports, on by default: one logger for the whole library, as OTP's
 * `logger` (DESIGN decision 12). A child that crashes under a supervisor, a
 * supervisor that gives up, a gen_server that terminates abnormally, a
 * process whose body throws: each is a {@linkcode Report}, written to the
 * console (stderr) in a compact form unless you route or silence it.
 *
 * ```text
 * =SUPERVISOR REPORT= supervisor "app" (<0.4.0>): child "db" (<0.9.0>, permanent) exited: "killed"
 * =SUPERVISOR REPORT= supervisor "app" (<0.4.0>): shutting down ("reached_max_restart_intensity"), offender child "db" (permanent)
 * =ERROR REPORT= GenServer <0.7.0> "cache" terminating; last message: ["call", "get"]; reason: Error: boom
 * =CRASH REPORT= process <0.12.0> crashed: TypeError: x is undefined
 * ```
 *
 * ## Levels
 * Syslog's and OTP's, most severe first: `"error"`, `"warning"`, `"notice"`,
 * `"info"`, `"debug"`. The global level ({@linkcode setLevel}) is
 * `"notice"` by default, as OTP's primary level: errors and notices are
 * written, progress reports (`"info"`) are not. `"none"` logs nothing.
 *
 * ## Kinds and their fields
 * Every report has `level`, `kind`, `time` (`Date.now()`) and `source`
 * (which part of the library made it). The other fields depend on the kind:
 *
 * | kind | level | source | fields |
 * |---|---|---|---|
 * | `progress` | info | supervisor, director, tracker | supervisor, name, id, pid |
 * | `child_restarted` | info | supervisor, director, tracker | supervisor, name, id, pid |
 * | `child_terminated` | error | supervisor, director, tracker | supervisor, name, id, pid, reason, restart |
 * | `start_error` | error | supervisor, director, tracker | supervisor, name, id, reason |
 * | `shutdown_error` | error | supervisor, director, tracker | supervisor, name, id, pid, reason |
 * | `restart_delayed` | notice | supervisor, director, tracker | supervisor, name, id, delay, restartAt |
 * | `gave_up` | error (`auto_shutdown`: notice) | supervisor, tracker | supervisor, name, id (the offender), reason |
 * | `after_terminate_failed` | error | tracker | supervisor, name, id, reason |
 * | `server_terminated` | error | gen_server | pid, name, lastMessage, reason |
 * | `unhandled_info` | warning | gen_server | pid, name, lastMessage (dropped: no handleInfo) |
 * | `process_crashed` | error | process | pid, name, reason |
 * | `main_exits_dropped` | warning | process | pid (main), count (dropped so far; at the 1st, 10th, 100th...) |
 * | `table_transferred` | info | ets | table, pid (the dead owner), heir |
 * | `table_lost` | debug | ets | table, pid (the dead owner) |
 * | `table_manager_lost_table` | error | table_manager | table, pid (the new manager), reason (the previous manager's exit), message (what it did: created the table anew, or refused to start): the previous manager crashed and its table is gone; once per loss |
 * | `uncaught_error` | error | application | reason (the error), origin (`"exception"` or `"rejection"`): an error outside every process while an application runs |
 * | `internal_error` | error | runtime | message (where), reason (the error): user code the runtime called where nobody can catch its error threw (an event listener, a table's resource hook, a timeout expiry) |
 * | `application` | error, notice | application | name, message: an application stopped (notice when its exit code is 0), did not start, was killed past its `shutdown`, got a second signal, or its `onStop` threw |
 * | `bad_frame` | warning | cluster | node (this node), message (the subject), reason (a `WireDecodeError`): a frame from the wire was malformed or hostile and was dropped |
 * | `node_down` | notice | cluster | node (this node), name (the node that went down), reason (`"noconnection"`, or `"closed"` when it said goodbye) |
 * | `node_name_lost` | error | cluster | node (this node), name (its incarnation), message (the incarnation that holds the name now): this node was away (paused, cut off) past its lease, another node took its name, so it closed (cluster.ts) |
 * | `fenced` | warning | cluster | node (this node), name (the cluster tracker), count (children killed), message (why): this node's tracker lease lapsed or was revoked, so it killed its children for it (cluster_tracker.ts) |
 *
 * As in OTP: a child's exit is reported unless it is a clean exit
 * (`"normal"`, `"shutdown"`, `["shutdown", x]`) of a
 * transient or temporary child; a shutdown unless the child stopped as asked;
 * a gen_server's termination unless its reason is clean; a process's death
 * only when its body threw (not `exit(reason)`, not an exit signal).
 * Director reports carry its own fields too (`director`, `restartCount`,
 * `spec`, `form`, `text`: see director.ts); a director whose `logger` option
 * is a function gets those reports only (not `child_restarted` and
 * `restart_delayed`, which go to the global logger), as before. A director
 * or supervisor that stops abnormally (a director past its plan's `count`)
 * is a gen_server: its `server_terminated` report says why.
 *
 * ## One option per supervisor
 * Supervisor, director and tracker start options take `logger`: a
 * {@linkcode Logger} (every report that supervisor makes goes to it, whatever
 * the level), a {@linkcode Level} (the global logger, with this level instead
 * of the global one), or `false` (nothing from that supervisor). It covers the
 * supervisor's own reports (its children's crashes, restarts, giving up),
 * not those its children make themselves (a gen_server child's
 * `server_terminated`, a nested supervisor's), which follow the global
 * settings or their own option.
 *
 * ## Routing to pino, winston or OpenTelemetry
 * A logger is a function of a report; {@linkcode formatReport} gives its
 * text. With pino (any object with pino's level methods will do):
 *
 * ```ts
 * import { formatReport, type Report, setLogger } from "@steward/steward/logger";
 *
 * // pino's shape: `pino()` in a real program.
 * type Log = (fields: object, msg: string) => void;
 * const pino: Record<"error" | "warn" | "info" | "debug", Log> = {
 *   error: () => {}, warn: () => {}, info: () => {}, debug: () => {},
 * };
 * const method = { error: "error", warning: "warn", notice: "info", info: "info", debug: "debug" } as const;
 *
 * const restore = setLogger((r: Report) => {
 *   const { level, kind, ...fields } = r;
 *   pino[method[level]]({ kind, ...fields, pid: String(r.pid) }, formatReport(r));
 * });
 * restore(); // back to the console
 * ```
 *
 * winston: `winston.log(r.level === "warning" ? "warn" : r.level,
 * formatReport(r), r)`. OpenTelemetry: `logger.emit({ severityText: r.level,
 * body: formatReport(r), attributes: { kind: r.kind, ... } })`.
 *
 * ## Overload protection
 * The default console logger writes at most 500 reports a second (OTP's
 * burst limit); the rest are dropped and counted, and a line "N reports
 * dropped" precedes the next report written. So a child restarting in a
 * tight loop costs the loop a counter, not a console write. Your own logger
 * receives every report: batch it if it is slow.
 *
 * ## Reports never throw
 * Any value may be a reason (a Proxy, a cycle, a `toString` that throws):
 * the text is made with a guarded formatter and falls back to a fixed
 * string. A logger that throws is caught and reported on the console; it
 * never disturbs the supervisor or process that reported.
 *
 * ## Silencing in tests
 * {@linkcode captureReports} replaces the logger until `restore()` and keeps
 * every report (all levels) for assertions; `setLogger(null)` silences
 * everything; {@linkcode reset} puts back the console logger and the
 * `"notice"` level.
 *
 * ```ts
 * import { captureReports } from "@steward/steward/logger";
 * import { spawn } from "@steward/steward/process";
 *
 * const captured = captureReports();
 * try {
 *   spawn(() => { throw new Error("boom"); });
 *   await new Promise((r) => setTimeout(r, 0));
 *   console.assert(captured.reports[0].kind === "process_crashed");
 * } finally {
 *   captured.restore();
 * }
 * ```
 *
 * ## Differences from OTP, on purpose
 * - one compact line per report rather than OTP's multi-line reports (the
 *   structured report has every field);
 * - restarts (`child_restarted`) and delayed restarts are reports of their
 *   own (OTP only logs the new child's progress report);
 * - a plain process's crash is reported when its body throws, as OTP's
 *   "Error in process ... with exit value"; a gen_server's `init` failure is
 *   its starter's error (and a supervisor's `start_error`), not a crash
 *   report;
 * - ETS table hand-overs and losses are reported (info, debug), which OTP
 *   does not do.
 *
 * @module
 */

import type { Pid } from "./_runtime.ts";
import {
  DEFAULT_LEVEL,
  formatReport as format,
  getGlobalLogger,
  getThreshold,
  isLevel,
  LEVELS,
  safeFormat,
  setGlobalLogger,
  setThreshold,
  SEVERITY,
  writeToConsole,
} from "./_logger.ts";

/** A report's severity, as syslog's and OTP's (most severe first). */
export type Level = "error" | "warning" | "notice" | "info" | "debug";

/** What a report is about (see the module docs for each kind's fields). */
export type ReportKind =
  | "progress"
  | "child_restarted"
  | "child_terminated"
  | "start_error"
  | "shutdown_error"
  | "restart_delayed"
  | "gave_up"
  | "after_terminate_failed"
  | "server_terminated"
  | "unhandled_info"
  | "process_crashed"
  | "main_exits_dropped"
  | "table_transferred"
  | "table_lost"
  | "table_manager_lost_table"
  | "uncaught_error"
  | "application"
  | "internal_error"
  | "bad_frame"
  | "node_down"
  | "node_name_lost"
  | "fenced";

/** The part of the library that made a report. */
export type ReportSource =
  | "supervisor"
  | "director"
  | "tracker"
  | "gen_server"
  | "process"
  | "ets"
  | "table_manager"
  | "application"
  | "runtime"
  | "cluster";

/**
 * One report: a plain object, ready for a structured logger. Fields other
 * than `level`, `kind`, `time` and `source` are present only for the kinds
 * that have them (see the module docs).
 */
export interface Report {
  /** Its severity. */
  readonly level: Level;
  /** What happened. */
  readonly kind: ReportKind;
  /** When, in ms since the epoch (`Date.now()`, not the injected clock). */
  readonly time: number;
  /** The part of the library that reported. */
  readonly source: ReportSource;
  /** The process the report is about (a child, a server, a process). */
  readonly pid?: Pid | undefined;
  /** The supervisor, director or tracker. */
  readonly supervisor?: Pid;
  /** The registered name of the supervisor, director, tracker or server. */
  readonly name?: string | undefined;
  /** The child's id (for `gave_up`: the offender's). */
  readonly id?: unknown;
  /** The exit, failure or shutdown reason. */
  readonly reason?: unknown;
  /** The child's restart type. */
  readonly restart?: string;
  /** A delayed restart's delay, in ms. */
  readonly delay?: number;
  /** When a delayed restart is due, on the injected clock (ms). */
  readonly restartAt?: number;
  /**
   * The last message a terminating gen_server took: `["call", request]`,
   * `["cast", message]`, `"timeout"`, or the message itself.
   */
  readonly lastMessage?: unknown;
  /** How many (`main_exits_dropped`: unread EXITs dropped so far). */
  readonly count?: number;
  /** The table's name. */
  readonly table?: string;
  /** The table's new owner. */
  readonly heir?: Pid;
  /** `uncaught_error`: an uncaught `"exception"` or unhandled `"rejection"`. */
  readonly origin?: "exception" | "rejection";
  /**
   * `application`: what happened, in words; `internal_error`: where;
   * `table_manager_lost_table`: what the manager did.
   */
  readonly message?: string;
  /** `bad_frame`, `node_down`: the cluster node that reports. */
  readonly node?: string;
}

/** Receives reports. It should not throw (if it does, it is caught). */
export type Logger = (report: Report) => void;

/**
 * The `logger` option of supervisors, directors and trackers: a logger for
 * every report of that tree, a level for the global logger, or `false`.
 */
export type LoggerOption = Logger | Level | false;

function levelError(op: string, level: unknown): TypeError {
  return new TypeError(
    `Cannot ${op}: 'level' must be one of ${
      [...LEVELS, "none"].map((l) => `"${l}"`).join(", ")
    }, got ${safeFormat(level)}`,
  );
}

/**
 * The default logger: each report's {@linkcode formatReport} text on stderr
 * (`console.error` for errors, `console.warn` for the rest), at most 500
 * reports a second (the rest are counted and dropped).
 *
 * @param report the report to write.
 *
 * @example
 * ```ts
 * import { consoleLogger, getLogger, setLogger } from "@steward/steward/logger";
 * // The default: getLogger() === consoleLogger unless replaced.
 * const restore = setLogger(consoleLogger);
 * console.assert(getLogger() === consoleLogger);
 * restore();
 * ```
 */
export const consoleLogger: Logger = writeToConsole;

/**
 * Makes `logger` the global logger (`null`: silence every report), and
 * returns a function that puts the previous one back.
 *
 * @param logger a function receiving every report at or above the global
 *   level, or `null`.
 * @returns a function restoring the previous logger.
 * @throws {TypeError} if `logger` is neither a function nor `null`.
 *
 * @example
 * ```ts
 * import { getLogger, setLogger, type Report } from "@steward/steward/logger";
 * const seen: Report[] = [];
 * const restore = setLogger((r) => seen.push(r));
 * console.assert(getLogger() !== null);
 * restore();
 * const unsilence = setLogger(null); // quiet
 * console.assert(getLogger() === null);
 * unsilence();
 * ```
 */
export function setLogger(logger: Logger | null): () => void {
  if (logger !== null && typeof logger !== "function") {
    throw new TypeError(
      `Cannot setLogger: 'logger' must be a function or null, got ${
        safeFormat(logger)
      }`,
    );
  }
  const previous = setGlobalLogger(logger);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    setGlobalLogger(previous);
  };
}

/**
 * The global logger.
 *
 * @returns the logger in use, or `null` if silenced.
 *
 * @example
 * ```ts
 * import { getLogger, setLogger } from "@steward/steward/logger";
 * const mine = () => {};
 * const restore = setLogger(mine);
 * console.assert(getLogger() === mine);
 * restore();
 * ```
 */
export function getLogger(): Logger | null {
  return getGlobalLogger();
}

/**
 * Sets the global level: reports at it or more severe reach the global
 * logger (`"none"`: none). Returns a function that puts the previous level
 * back. Supervisors started with a level or a logger of their own ignore it.
 *
 * @param level `"error"`, `"warning"`, `"notice"`, `"info"`, `"debug"` or
 *   `"none"`.
 * @returns a function restoring the previous level.
 * @throws {TypeError} for any other value.
 *
 * @example
 * ```ts
 * import { getLevel, setLevel } from "@steward/steward/logger";
 * const restore = setLevel("info"); // progress reports too
 * console.assert(getLevel() === "info");
 * restore();
 * console.assert(getLevel() === "notice");
 * ```
 */
export function setLevel(level: Level | "none"): () => void {
  if (level !== "none" && !isLevel(level)) throw levelError("setLevel", level);
  const previous = setThreshold(SEVERITY[level]);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    setThreshold(previous);
  };
}

/**
 * The global level.
 *
 * @returns the level set with {@linkcode setLevel} (`"notice"` by default).
 *
 * @example
 * ```ts
 * import { getLevel } from "@steward/steward/logger";
 * console.assert(getLevel() === "notice");
 * ```
 */
export function getLevel(): Level | "none" {
  const t = getThreshold();
  return LEVELS.find((l) => SEVERITY[l] === t) ?? "none";
}

/**
 * Puts back the defaults: {@linkcode consoleLogger} at level `"notice"`.
 *
 * @example
 * ```ts
 * import { consoleLogger, getLevel, getLogger, reset, setLevel, setLogger } from "@steward/steward/logger";
 * const restore = setLogger(null);
 * setLevel("debug");
 * reset();
 * console.assert(getLogger() === consoleLogger && getLevel() === "notice");
 * restore(); // (what was there before reset: silent)
 * ```
 */
export function reset(): void {
  setGlobalLogger(writeToConsole);
  setThreshold(SEVERITY[DEFAULT_LEVEL]);
}

/** What {@linkcode captureReports} returns. */
export interface CapturedReports {
  /** The reports so far, oldest first. */
  readonly reports: Report[];
  /** Puts back the logger and level in use before (idempotent). */
  restore(): void;
  /** The same as `restore`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Replaces the global logger with one that keeps every report, and the
 * global level with `level`, until `restore()`: for tests, which thus stay
 * quiet and can assert on what was reported.
 *
 * @param level the lowest severity kept. @default {"debug"}
 * @returns the kept reports and `restore`.
 * @throws {TypeError} for an unknown level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { captureReports } from "@steward/steward/logger";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { exit, spawnLink } from "@steward/steward/process";
 *
 * const captured = captureReports("notice");
 * try {
 *   const sup = await supervisor.start({
 *     children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 *   });
 *   exit((await supervisor.whichChildren(sup))[0].pid as never, "kill");
 *   await new Promise((r) => setTimeout(r, 0));
 *   await supervisor.stop(sup);
 *   assert.deepEqual(captured.reports.map((r) => [r.kind, r.id, r.reason]), [
 *     ["child_terminated", "w", "killed"],
 *   ]);
 * } finally {
 *   captured.restore();
 * }
 * ```
 */
export function captureReports(level: Level = "debug"): CapturedReports {
  if (!isLevel(level)) throw levelError("captureReports", level);
  const reports: Report[] = [];
  const restoreLogger = setLogger((r) => {
    reports.push(r);
  });
  const restoreLevel = setLevel(level);
  const restore = () => {
    restoreLevel();
    restoreLogger();
  };
  return { reports, restore, [Symbol.dispose]: restore };
}

/**
 * A report's text, as the console logger writes it: one line (a crash's
 * stack frames follow on the next lines). Never throws, whatever the values
 * in the report.
 *
 * @param report a report.
 * @returns its text.
 *
 * @example
 * ```ts
 * import { formatReport } from "@steward/steward/logger";
 * const hostile = { toString() { throw new Error("no"); } };
 * const text = formatReport({
 *   level: "error", kind: "process_crashed", time: 0, source: "process",
 *   reason: hostile,
 * });
 * console.assert(text.startsWith("=CRASH REPORT= process"));
 * ```
 */
export function formatReport(report: Report): string {
  return format(report);
}
