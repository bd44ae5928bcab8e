// The observer's `GET /metrics` body: Prometheus' text exposition format
// (version 0.0.4), built by one pure function from plain numbers and strings,
// so it can be tested without a running system.
//
// The format, as Prometheus reads it:
// - `# HELP name text` and `# TYPE name counter|gauge` once per metric
//   family, before its samples; in HELP text `\` and a line feed are escaped
//   (`\\`, `\n`);
// - a sample is `name{label="value",...} number`; in a label value `\`,
//   `"` and a line feed are escaped (`\\`, `\"`, `\n`). Nothing else needs
//   escaping: any other character, `<`, `}` and `,` included, is taken as
//   it is inside the quotes;
// - numbers are Go floats: `NaN`, `+Inf`, `-Inf` for the non-finite ones;
// - the body ends with a line feed.
//
// Label values come from names the user (or a hostile program) chose: a
// process name may be any string. Lone surrogates would make the body
// invalid UTF-8, so they are replaced by U+FFFD; strings are cut at
// MAX_LABEL characters so one absurd name cannot make the body huge.

/** The class of an exit reason, as counted by `steward_exits_total`. */
export type ExitClass = "normal" | "shutdown" | "killed" | "other";

/** Every exit class, in the order the metrics list them. */
export const EXIT_CLASSES: readonly ExitClass[] = [
  "normal",
  "shutdown",
  "killed",
  "other",
];

/** One live process, as far as the metrics need it. */
export interface MetricsProcess {
  /** `String(pid)`, like `<0.12.0>`. */
  readonly pid: string;
  readonly name: string | undefined;
  readonly kind: string;
  readonly messageQueueLength: number;
  readonly memory: number;
}

/** Restarts counted for one supervisor-like process. */
export interface MetricsRestarts {
  /** `String(pid)` of the supervisor. */
  readonly supervisor: string;
  readonly name: string | undefined;
  readonly count: number;
}

/** One table. */
export interface MetricsTable {
  /** A number unique to the table (names need not be unique). */
  readonly id: number;
  /** `String(owner)`. */
  readonly owner: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly memory: number;
}

/** Everything `GET /metrics` reports. */
export interface MetricsInput {
  readonly processes: readonly MetricsProcess[];
  /** Restarts per supervisor since the observer started (counters). */
  readonly restarts: readonly MetricsRestarts[];
  /** Exits per reason class since the observer started (counters). */
  readonly exits: Readonly<Record<ExitClass, number>>;
  readonly tables: readonly MetricsTable[];
  /** System events the observer lost because its buffer was full. */
  readonly eventsDropped: number;
}

/** How many processes `steward_mailbox_top_messages` lists. */
export const TOP_MAILBOXES = 5;

/** The longest label value written (longer ones are cut, with `…`). */
export const MAX_LABEL = 200;

/** The content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The class of an exit reason: `"normal"`; `"shutdown"` or
 * `["shutdown", detail]`; `"killed"`; anything else. Never throws (the
 * reason may be a Proxy whose traps throw).
 */
export function exitClass(reason: unknown): ExitClass {
  if (reason === "normal") return "normal";
  if (reason === "killed") return "killed";
  if (reason === "shutdown") return "shutdown";
  try {
    if (
      Array.isArray(reason) && reason.length === 2 && reason[0] === "shutdown"
    ) return "shutdown";
  } catch {
    // A revoked Proxy throws on Array.isArray: it is no shutdown tuple.
  }
  return "other";
}

/** `s` with lone surrogates replaced and cut at MAX_LABEL characters. */
function clean(s: string): string {
  const cut = s.length > MAX_LABEL ? s.slice(0, MAX_LABEL) + "…" : s;
  return cut.toWellFormed();
}

/** A label value, escaped for the inside of its double quotes. */
export function escapeLabelValue(value: string): string {
  return clean(value).replace(
    /[\\"\n]/g,
    (c) => c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n",
  );
}

/** HELP text, escaped. */
export function escapeHelp(text: string): string {
  return clean(text).replace(/[\\\n]/g, (c) => c === "\\" ? "\\\\" : "\\n");
}

/** A sample value as Prometheus writes it. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

type Labels = readonly (readonly [string, string | undefined])[];

/** Writes metric families into one body. */
class Exposition {
  #lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string): this {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`);
    this.#lines.push(`# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    const set = labels.filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}="${escapeLabelValue(v as string)}"`);
    this.#lines.push(
      `${name}${set.length > 0 ? `{${set.join(",")}}` : ""} ${
        formatValue(value)
      }`,
    );
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/**
 * The metrics of `input` in the text exposition format. Families (all
 * prefixed `steward_`):
 * - `steward_processes{kind}` gauge: live processes by kind;
 * - `steward_process_memory_bytes` gauge: their estimated memory;
 * - `steward_supervisor_restarts_total{supervisor,name}` counter;
 * - `steward_exits_total{reason}` counter: reason is normal, shutdown,
 *   killed or other;
 * - `steward_mailbox_messages` gauge: messages waiting in all mailboxes;
 * - `steward_mailbox_top_messages{pid,name,kind}` gauge: the TOP_MAILBOXES
 *   longest mailboxes (longest first, then by pid);
 * - `steward_table_size{table,id,owner,type}` and
 *   `steward_table_memory_bytes{table,id,owner}` gauges: `id` tells apart
 *   tables of one name (unnamed tables share theirs, and names longer than
 *   MAX_LABEL are cut), so no series repeats;
 * - `steward_observer_events_dropped_total` counter.
 */
export function formatMetrics(input: MetricsInput): string {
  const out = new Exposition();

  const byKind = new Map<string, number>();
  let memory = 0;
  let queued = 0;
  for (const p of input.processes) {
    byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
    memory += p.memory;
    queued += p.messageQueueLength;
  }
  out.family("steward_processes", "gauge", "Live processes, by kind.");
  for (const kind of [...byKind.keys()].sort()) {
    out.sample("steward_processes", [["kind", kind]], byKind.get(kind)!);
  }
  out.family(
    "steward_process_memory_bytes",
    "gauge",
    "Estimated memory of all live processes, in bytes.",
  ).sample("steward_process_memory_bytes", [], memory);

  out.family(
    "steward_supervisor_restarts_total",
    "counter",
    "Children restarted, per supervisor-like process, since the observer started.",
  );
  for (const r of input.restarts) {
    out.sample("steward_supervisor_restarts_total", [
      ["supervisor", r.supervisor],
      ["name", r.name],
    ], r.count);
  }

  out.family(
    "steward_exits_total",
    "counter",
    "Process exits since the observer started, by reason class (normal, shutdown, killed, other).",
  );
  for (const c of EXIT_CLASSES) {
    out.sample("steward_exits_total", [["reason", c]], input.exits[c]);
  }

  out.family(
    "steward_mailbox_messages",
    "gauge",
    "Messages waiting in the mailboxes of all live processes.",
  ).sample("steward_mailbox_messages", [], queued);
  out.family(
    "steward_mailbox_top_messages",
    "gauge",
    `Messages waiting in the ${TOP_MAILBOXES} longest mailboxes.`,
  );
  const top = firstN(
    input.processes,
    (a, b) =>
      b.messageQueueLength - a.messageQueueLength ||
      comparePids(a.pid, b.pid),
    TOP_MAILBOXES,
  );
  for (const p of top) {
    out.sample("steward_mailbox_top_messages", [
      ["pid", p.pid],
      ["name", p.name],
      ["kind", p.kind],
    ], p.messageQueueLength);
  }

  out.family("steward_table_size", "gauge", "Objects in each table.");
  for (const t of input.tables) {
    out.sample(
      "steward_table_size",
      [["table", t.name], ["id", String(t.id)], ["owner", t.owner], [
        "type",
        t.type,
      ]],
      t.size,
    );
  }
  out.family(
    "steward_table_memory_bytes",
    "gauge",
    "Estimated memory of each table, in bytes.",
  );
  for (const t of input.tables) {
    out.sample("steward_table_memory_bytes", [
      ["table", t.name],
      ["id", String(t.id)],
      ["owner", t.owner],
    ], t.memory);
  }

  out.family(
    "steward_observer_events_dropped_total",
    "counter",
    "System events the observer lost because its buffer was full (counts above are low by as many).",
  ).sample("steward_observer_events_dropped_total", [], input.eventsDropped);
  return out.toString();
}

/**
 * The first `n` of `items` in the order of `compare`, sorted: what
 * `[...items].sort(compare).slice(0, n)` gives, in O(items · log n) time
 * and O(n) space (it keeps at most 2n candidates, cut back to n when full).
 */
export function firstN<T>(
  items: Iterable<T>,
  compare: (a: T, b: T) => number,
  n: number,
): T[] {
  if (n <= 0) return [];
  let kept: T[] = [];
  for (const item of items) {
    // kept[0..n) is sorted once n are kept: an item not before kept[n - 1]
    // cannot be among the first n (a stable sort puts equals in order).
    if (kept.length >= n && compare(item, kept[n - 1]) >= 0) continue;
    kept.push(item);
    if (kept.length === n) kept.sort(compare);
    else if (kept.length >= 2 * n) kept = kept.sort(compare).slice(0, n);
  }
  return kept.sort(compare).slice(0, n);
}

/** Orders `<0.N.0>` strings by N (others after, as strings). */
export function comparePids(a: string, b: string): number {
  const na = pidNumber(a);
  const nb = pidNumber(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  if (na !== undefined) return -1;
  if (nb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const PID_TEXT = /^<0\.(0|[1-9]\d{0,14})\.0>$/;

/**
 * The number N of a pid written `<0.N.0>`, or undefined for any other
 * string (strict: no spaces, no leading zeros, at most 15 digits).
 */
export function pidNumber(text: string): number | undefined {
  const m = PID_TEXT.exec(text);
  return m === null ? undefined : Number(m[1]);
}
