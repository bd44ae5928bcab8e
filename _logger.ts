// The library's one logger (DESIGN decision 12): the global logger and level,
// the per-supervisor override, the default console writer with its burst
// limit, and the text form of every report. Public API and guide: logger.ts.
//
// Every function here is called on a death, restart or shutdown path, so
// none of them may throw, whatever the values in a report: formatting is
// guarded field by field, and a logger that throws is caught.
import { formatTerm } from "./_format.ts";
import { isCleanExit } from "./_safe.ts";
import { getClock } from "./clock.ts";
import type { Pid } from "./_runtime.ts";
import type {
  Level,
  Logger,
  Report,
  ReportKind,
  ReportSource,
} from "./logger.ts";

/** Syslog severities: lower is more severe. "none" logs nothing. */
export const SEVERITY: Readonly<Record<Level | "none", number>> = {
  none: -1,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** The levels, most severe first. */
export const LEVELS: readonly Level[] = [
  "error",
  "warning",
  "notice",
  "info",
  "debug",
];

/** OTP's default primary level: progress (info) reports are not shown. */
export const DEFAULT_LEVEL: Level = "notice";

// ------------------------------------------------------- console writer --

// OTP's logger_std_h burst limit: at most BURST_MAX reports per
// BURST_WINDOW_MS are written; the rest are counted and dropped, and the
// count is written before the first report of a later window. A crash loop
// restarting a child a million times a second thus costs a counter
// increment per report, not a console write. No timer: a timer would
// outlive tests and programs; the count waits for the next report. Time is
// the injected clock's, so tests can check the window.
const BURST_MAX = 500;
const BURST_WINDOW_MS = 1000;
let windowStart = -Infinity;
let windowClock: unknown = undefined;
let written = 0;
let dropped = 0;

let sampled = 0;

/**
 * Whether the console writer is saturated and this report may be dropped
 * before it is even built: 63 of 64 reports are, counted, without reading
 * the clock (a clock read costs more than the rest of a restart's
 * bookkeeping); every 64th goes on to writeToConsole, which reads the clock
 * and opens a new window or drops it. A window thus opens at most 63
 * reports late, under a flood only.
 */
function skipSaturated(): boolean {
  if (written < BURST_MAX || (++sampled & 63) === 0) return false;
  if (getClock() !== windowClock) return false; // a new clock, a new window
  dropped++;
  return true;
}

/** Writes one line to stderr (stdout stays the program's). Never throws. */
function write(level: Level, text: string): void {
  try {
    if (level === "error") console.error(text);
    else console.warn(text);
  } catch {
    // A closed stderr: nothing more to do.
  }
}

/** The default logger: compact text on the console, with a burst limit. */
export function writeToConsole(report: Report): void {
  const clock = getClock();
  const now = clock.now();
  // A swapped clock starts a new window: its times do not compare with the
  // old one's (a test's virtual clock, the real one after it).
  if (
    now - windowStart >= BURST_WINDOW_MS || now < windowStart ||
    clock !== windowClock
  ) {
    windowStart = now;
    windowClock = clock;
    written = 0;
    if (dropped > 0) {
      const n = dropped;
      dropped = 0;
      write(
        "warning",
        `Steward logger: ${n} report${
          n === 1 ? "" : "s"
        } dropped (more than ${BURST_MAX} in ${BURST_WINDOW_MS} ms)`,
      );
    }
  }
  if (written >= BURST_MAX) {
    dropped++;
    return;
  }
  written++;
  let level: Level = "error";
  try {
    level = report.level;
  } catch {
    // A hostile report object: written as an error.
  }
  write(level, formatReport(report));
}

// ---------------------------------------------------------------- state --

let current: Logger | null = writeToConsole;
let threshold: number = SEVERITY[DEFAULT_LEVEL];

/** The global logger (null: silenced). */
export function getGlobalLogger(): Logger | null {
  return current;
}

/** Sets the global logger; returns the previous one. */
export function setGlobalLogger(logger: Logger | null): Logger | null {
  const previous = current;
  current = logger;
  return previous;
}

/** The global level's severity. */
export function getThreshold(): number {
  return threshold;
}

/** Sets the global level's severity; returns the previous one. */
export function setThreshold(severity: number): number {
  const previous = threshold;
  threshold = severity;
  return previous;
}

// ------------------------------------------------------------- targets --

/**
 * Where a supervisor's reports go, resolved from its `logger` option:
 * undefined (the global logger at the global level), a number (the global
 * logger at that severity), a function (that logger, every level), false
 * (nowhere).
 */
export type LogTarget = undefined | number | Logger | false;

/** Whether `value` is a level name. */
export function isLevel(value: unknown): value is Level {
  return typeof value === "string" &&
    Object.prototype.hasOwnProperty.call(SEVERITY, value) && value !== "none";
}

/**
 * Resolves a `logger` option, or throws a TypeError naming the option of
 * `op` ("Cannot start supervisor").
 */
export function logTarget(op: string, option: unknown): LogTarget {
  if (option === undefined) return undefined;
  if (option === false || typeof option === "function") {
    return option as Logger | false;
  }
  if (isLevel(option)) return SEVERITY[option];
  throw new TypeError(
    `Cannot ${op}: 'logger' must be a function, a level (${
      LEVELS.map((l) => `"${l}"`).join(", ")
    }) or false, got ${safeFormat(option)}`,
  );
}

/** Whether a report of `level` sent to `target` would be logged. */
export function enabled(target: LogTarget, level: Level): boolean {
  if (typeof target === "function") return true;
  if (target === false || current === null) return false;
  if (SEVERITY[level] > (target ?? threshold)) return false;
  return current !== writeToConsole || !skipSaturated();
}

/**
 * Hands `report` to `target`'s logger. Never throws: a logger that throws
 * is reported on the console (as an event listener that throws is).
 */
export function dispatch(target: LogTarget, report: Report): void {
  const logger = typeof target === "function" ? target : current;
  if (logger === null || target === false) return;
  try {
    logger(report);
  } catch (error) {
    try {
      console.error("Steward: a logger threw:", error);
    } catch {
      // Nothing sane left to do.
    }
  }
}

/**
 * `dispatch` to the global logger. Callers check `enabled(undefined, level)`
 * first (once: a check may count a dropped report), and build the report
 * only if it is.
 */
export function log(report: Report): void {
  dispatch(undefined, report);
}

// ------------------------------------------ supervisor-like event streams --

/** The fields of a supervisor, director or tracker event the logger reads. */
export interface ChildEvent {
  readonly type: string;
  readonly id?: unknown;
  readonly pid?: Pid | undefined;
  readonly reason?: unknown;
  readonly delay?: number;
  readonly restartAt?: number;
}

/**
 * Reports an event of a supervisor-like module (supervisor, tracker),
 * following OTP's supervisor: a child's exit is reported unless it is a
 * clean exit of a non-permanent child; a shutdown is reported unless the
 * child stopped as asked. `restart` is the child's restart type, `brutal`
 * whether its shutdown was a brutal kill (then "killed" is as asked).
 */
export function reportChildEvent(
  target: LogTarget,
  source: ReportSource,
  supervisor: Pid,
  name: string | undefined,
  event: ChildEvent,
  restart?: string,
  brutal?: boolean,
): void {
  if (target === false) return;
  let kind: ReportKind;
  let level: Level;
  switch (event.type) {
    case "child_started":
    case "child_adopted":
      kind = "progress";
      level = "info";
      break;
    case "child_restarted":
      kind = "child_restarted";
      level = "info";
      break;
    case "child_exited":
      if (restart !== "permanent" && isCleanExit(event.reason)) return;
      kind = "child_terminated";
      level = "error";
      break;
    case "start_failed":
    case "restart_failed":
      kind = "start_error";
      level = "error";
      break;
    case "child_terminated":
      if (
        isCleanExit(event.reason) ||
        (brutal === true && event.reason === "killed")
      ) return;
      kind = "shutdown_error";
      level = "error";
      break;
    case "restart_delayed":
      kind = "restart_delayed";
      level = "notice";
      break;
    case "gave_up":
      kind = "gave_up";
      level = event.reason === "auto_shutdown" ? "notice" : "error";
      break;
    case "after_terminate_failed":
      kind = "after_terminate_failed";
      level = "error";
      break;
    default:
      return;
  }
  if (!enabled(target, level)) return;
  const report: {
    -readonly [K in keyof Report]: Report[K];
  } = {
    level,
    kind,
    time: Date.now(),
    source,
    supervisor,
    name,
    id: event.id,
  };
  if (event.pid !== undefined) report.pid = event.pid;
  if ("reason" in event) report.reason = event.reason;
  if (restart !== undefined) report.restart = restart;
  if (event.delay !== undefined) report.delay = event.delay;
  if (event.restartAt !== undefined) report.restartAt = event.restartAt;
  dispatch(target, report);
}

// ------------------------------------------------------------ the text --

/** formatTerm, guarded: a value that cannot be printed has a fixed text. */
export function safeFormat(value: unknown): string {
  try {
    return formatTerm(value);
  } catch {
    return "<unprintable>";
  }
}

/** `String(pid)`, guarded. */
function str(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "<unprintable>";
  }
}

// Some engines (V8 in Deno) keep an error's stack behind a built-in
// accessor: that one may be called, a user-defined getter is not.
const nativeStackGetter = Object.getOwnPropertyDescriptor(new Error(), "stack")
  ?.get;

/** An Error's own stack, if safely readable (for crash reports). */
function stackOf(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  try {
    const d = Object.getOwnPropertyDescriptor(error, "stack");
    if (d === undefined) return undefined;
    const stack = "value" in d
      ? d.value
      : d.get !== undefined && d.get === nativeStackGetter
      ? Reflect.apply(d.get, error, [])
      : undefined;
    return typeof stack === "string" ? stack.slice(0, 4000) : undefined;
  } catch {
    return undefined;
  }
}

const SOURCE_LABEL: Record<string, string> = {
  supervisor: "supervisor",
  director: "director",
  tracker: "tracker",
};

/** `supervisor "name" (<0.5.0>)` or `supervisor <0.5.0>`. */
function who(r: Report): string {
  const label = SOURCE_LABEL[r.source as string] ?? "supervisor";
  const pid = str(r.supervisor);
  return r.name === undefined
    ? `${label} ${pid}`
    : `${label} ${safeFormat(r.name)} (${pid})`;
}

function child(r: Report): string {
  const parts: string[] = [];
  if (r.pid !== undefined) parts.push(str(r.pid));
  if (r.restart !== undefined) parts.push(str(r.restart));
  return `child ${safeFormat(r.id)}${
    parts.length > 0 ? ` (${parts.join(", ")})` : ""
  }`;
}

function text(r: Report): string {
  switch (r.kind) {
    case "progress":
      return `=PROGRESS REPORT= ${who(r)}: started ${child(r)}`;
    case "child_restarted":
      return `=PROGRESS REPORT= ${who(r)}: restarted ${child(r)}`;
    case "child_terminated":
      return `=SUPERVISOR REPORT= ${who(r)}: ${child(r)} exited: ${
        safeFormat(r.reason)
      }`;
    case "start_error":
      return `=SUPERVISOR REPORT= ${who(r)}: could not start ${child(r)}: ${
        safeFormat(r.reason)
      }`;
    case "shutdown_error":
      return `=SUPERVISOR REPORT= ${who(r)}: ${
        child(r)
      } did not stop cleanly: ${safeFormat(r.reason)}`;
    case "restart_delayed":
      return `=SUPERVISOR REPORT= ${who(r)}: ${child(r)} restarts in ${
        str(r.delay)
      } ms`;
    case "gave_up":
      return `=SUPERVISOR REPORT= ${who(r)}: shutting down (${
        safeFormat(r.reason)
      }), offender ${child(r)}`;
    case "after_terminate_failed":
      return `=SUPERVISOR REPORT= ${who(r)}: afterTerminate of ${
        child(r)
      } failed: ${safeFormat(r.reason)}`;
    case "server_terminated": {
      const name = r.name === undefined ? "" : ` ${safeFormat(r.name)}`;
      return `=ERROR REPORT= GenServer ${
        str(r.pid)
      }${name} terminating; last message: ${
        safeFormat(r.lastMessage)
      }; reason: ${safeFormat(r.reason)}${withStack(r.reason)}`;
    }
    case "unhandled_info":
      return `=WARNING REPORT= GenServer ${
        str(r.pid)
      } has no handleInfo; dropped message ${safeFormat(r.lastMessage)}`;
    case "main_exits_dropped": // 1000: _runtime.ts's MAIN_EXIT_LIMIT
      return `=WARNING REPORT= the main process dropped ${
        str(r.count)
      } unread EXIT message(s); it keeps the last 1000. Read them with receive(), or run request handlers as their own processes with inProcess().`;
    case "process_crashed":
      return `=CRASH REPORT= process ${str(r.pid)} crashed: ${
        safeFormat(r.reason)
      }${withStack(r.reason)}`;
    case "table_transferred":
      return `=INFO REPORT= table ${safeFormat(r.table)}: owner ${
        str(r.pid)
      } died, handed to its heir ${str(r.heir)}`;
    case "table_lost":
      return `=INFO REPORT= table ${safeFormat(r.table)}: owner ${
        str(r.pid)
      } died without an heir, table deleted`;
    case "table_manager_lost_table":
      return `=ERROR REPORT= table manager ${str(r.pid)}: table ${
        safeFormat(r.table)
      } was lost (its previous manager exited: ${safeFormat(r.reason)}); ${
        str(r.message)
      }`;
    case "uncaught_error":
      return `=ERROR REPORT= ${
        r.origin === "rejection" ? "unhandled rejection" : "uncaught exception"
      } outside any process: ${errorText(r.reason)}`;
    case "application":
      return `=APPLICATION REPORT= ${str(r.message)}`;
    case "internal_error":
      return `=ERROR REPORT= ${str(r.message)}: ${errorText(r.reason)}`;
    case "bad_frame":
      return `=WARNING REPORT= node ${str(r.node)} dropped a frame on ${
        str(r.message)
      }: ${errorText(r.reason)}`;
    case "node_down":
      return `=NOTICE REPORT= node ${str(r.node)}: node ${
        str(r.name)
      } is down (${safeFormat(r.reason)})`;
    case "node_name_lost":
      return `=ERROR REPORT= node ${str(r.node)} (incarnation ${
        str(r.name)
      }) closed: another node (incarnation ${
        str(r.message)
      }) took its name while it was away past its lease`;
    case "fenced":
      return `=WARNING REPORT= node ${str(r.node)}: cluster tracker ${
        str(r.name)
      } killed ${str(r.count)} children: ${str(r.message)}`;
    default:
      return `=REPORT= ${safeFormat(r)}`;
  }
}

/** An error's stack when it has one (it starts with its message), else its
 * formatted value. */
function errorText(reason: unknown): string {
  return stackOf(reason) ?? safeFormat(reason);
}

function withStack(reason: unknown): string {
  const stack = stackOf(reason);
  if (stack === undefined) return "";
  // The first line repeats the message: keep the frames.
  const frames = stack.split("\n").filter((l) => /^\s+at /.test(l));
  return frames.length > 0 ? `\n${frames.join("\n")}` : "";
}

/** The text of a report: one line (plus stack frames for a crash). */
export function formatReport(report: Report): string {
  try {
    return text(report);
  } catch {
    return "=REPORT= <a report that cannot be printed>";
  }
}
