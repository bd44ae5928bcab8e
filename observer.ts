/**
 * The observer: a live page of the running system, and a Prometheus
 * `/metrics` endpoint, as Erlang's `observer` (and Phoenix LiveDashboard)
 * show a node.
 *
 * ```ts ignore
 * import { serve } from "@steward/steward/observer";
 * const observer = await serve({ port: 4000 });
 * console.log(`observer on ${observer.url}#token=${observer.token}`);
 * ```
 *
 * ## What the page shows
 * Built on the introspection API ({@link ./system.ts}), refreshed by
 * Server-Sent Events every `interval` ms:
 * - the supervision trees, collapsible, each child's state coloured
 *   (running, restarting with the time left, launching, terminating,
 *   stopped) with restart counts;
 * - the processes (pid, name, kind, label, status, mailbox length,
 *   messages received and sent, memory estimate), sortable by column: the
 *   page asks for its order, and each snapshot carries the counts of all
 *   processes but only the first {@linkcode TOP_PROCESSES} in that order
 *   (100,000 processes would be megabytes a second); a process's detail is
 *   looked up directly, listed or not;
 * - a process's detail: parent, links, monitors, and for a server
 *   (gen_server, supervisor, director, tracker, table manager) its state
 *   through `sys.getStatus`, after its `formatStatus` hook, so secrets it
 *   hides stay hidden;
 * - the tables (type, owner, heir, access, size, memory);
 * - a timeline of restarts and exits, pushed as they happen;
 * - two charts: restarts per interval, and messages waiting in all
 *   mailboxes.
 *
 * The page is one HTML document with inline CSS and script: no build step,
 * no external asset, no CDN.
 *
 * ## Actions and security
 * The page can kill a process (`exit(pid, "kill")`) and stop a supervisor's
 * child (`terminateChild`), as observer does. They are POST requests that
 * carry the token `serve` returns (printed at start) in the
 * `x-steward-token` header: without it they are refused with 403. The page
 * takes the token from its URL's fragment (`#token=...`, which the browser
 * never sends to a server) or from its token field.
 * - It binds 127.0.0.1 unless `hostname` says otherwise. It refuses
 *   requests whose `Host` header is not a loopback name or address
 *   (`localhost`, 127.0.0.0/8, `::1`, `::ffff:127.x.y.z`), so a web page
 *   rebinding its domain to 127.0.0.1 reads nothing; when it listens
 *   beyond loopback it also takes IP literals, its `hostname` and the
 *   names in `allowedHosts`.
 * - GET never changes anything; request bodies are limited to 4 KiB and
 *   parsed as JSON data with exactly the expected keys; pids are parsed
 *   strictly from their `<0.N.0>` form; no code from the page runs on the
 *   server.
 * - Every name, label, id, reason and state is shown as text (the page
 *   writes with `textContent` only), so a process named
 *   `<img src=x onerror=alert(1)>` shows just that; the
 *   Content-Security-Policy allows only the page's own script and style (by
 *   nonce), and `X-Content-Type-Options: nosniff` is set.
 *
 * ## `GET /metrics`
 * Prometheus' text exposition format, names prefixed `steward_`: live
 * processes by kind (`steward_processes`), restarts per supervisor
 * (`steward_supervisor_restarts_total`), exits by reason class
 * (`steward_exits_total`: normal, shutdown, killed, other), messages waiting
 * (`steward_mailbox_messages`, and the five longest mailboxes in
 * `steward_mailbox_top_messages`), table sizes and memory.
 *
 * ## Other endpoints
 * `GET /api/snapshot` (what the page gets each interval, as JSON; both it
 * and `/events` take `?sort=<column>&dir=<1|-1>`, the column one of pid,
 * name, kind, label, status, messageQueueLength, messagesReceived,
 * messagesSent, memory; 400 for anything else),
 * `GET /api/process?pid=<0.N.0>` (one process, with its state when it is a
 * server), `GET /events` (the event stream).
 *
 * ## Differences from Erlang's observer
 * - The counters (restarts, exits) count from the moment `serve` was
 *   called: Steward keeps no history when nobody looks, so that looking
 *   costs nothing until then.
 * - It observes this program only (there are no remote nodes to connect to
 *   here).
 * - Actions need a token: observer runs inside a trusted Erlang node; this
 *   is a web page any local program could post to.
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import * as system from "./system.ts";
import * as sys from "./sys.ts";
import { exit, type Pid } from "./process.ts";
import * as supervisor from "./supervisor.ts";
import * as director from "./director.ts";
import * as tracker from "./tracker.ts";
import { type Clock, getClock, type TimerHandle } from "./clock.ts";
import { formatTerm } from "./_format.ts";
import { reportInternalError } from "./_report.ts";
import { refuseUnknown } from "./_options.ts";
import { observerPage } from "./_observer_page.ts";
import {
  type ExitClass,
  exitClass,
  firstN,
  formatMetrics,
  METRICS_CONTENT_TYPE,
  pidNumber,
} from "./_metrics.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** The TCP port; 0 picks a free one. @default {0} */
  readonly port?: number;
  /**
   * The address to listen on. Anything but a loopback address makes the
   * page reachable from other machines. @default {"127.0.0.1"}
   */
  readonly hostname?: string;
  /**
   * The token actions must carry (at least 16 characters, letters, digits,
   * `-`, `_` and `.`). @default {32 random bytes, hex}
   */
  readonly token?: string;
  /**
   * Host names (without port) the `Host` header may carry besides loopback
   * names, IP literals and `hostname`, when it listens beyond loopback (say
   * on `0.0.0.0`, reached as `myhost.lan`). Requests naming any other host
   * are refused (403), against DNS rebinding. @default {[]}
   */
  readonly allowedHosts?: readonly string[];
  /** Aborting it closes the observer. */
  readonly signal?: AbortSignal;
  /**
   * How often the page gets a fresh snapshot, in ms (through the injected
   * clock). @default {1000}
   */
  readonly interval?: number;
}

/** A running observer (see {@linkcode serve}). */
export interface Observer extends AsyncDisposable {
  /** The page, `http://host:port/`. */
  readonly url: string;
  /** The token actions must carry. */
  readonly token: string;
  /** The port it listens on. */
  readonly port: number;
  /**
   * Stops listening, ends every event stream and stops counting. Resolves
   * once the server is closed; calling it again is a no-op.
   */
  close(): Promise<void>;
}

const DEFAULTS = {
  port: 0,
  hostname: "127.0.0.1",
  interval: 1000,
} as const;

const OPTION_KEYS = [
  "port",
  "hostname",
  "token",
  "signal",
  "interval",
  "allowedHosts",
];

/** The largest request body read, in bytes. */
const MAX_BODY = 4096;
/** Timeline events kept for pages that connect later. */
const TIMELINE_KEPT = 300;
/** System events buffered between two turns of the observer's loop. */
const EVENT_BUFFER = 10_000;
/** An event stream whose unsent data grows past this is dropped. */
const MAX_CLIENT_BACKLOG = 4 * 1024 * 1024;
/** Processes a snapshot lists (the first in the page's order). */
export const TOP_PROCESSES = 500;
/** How long the state request of a process's detail may take. */
const STATUS_TIMEOUT_MS = 1000;

const IPV4 =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `name` (lower case, no brackets) is a loopback name or address. */
function isLoopback(name: string): boolean {
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "::1" || name === "0:0:0:0:0:0:0:1") return true;
  const v4 = name.startsWith("::ffff:") ? name.slice(7) : name;
  return IPV4.test(v4) && v4.startsWith("127.");
}

/** `name` (lower case, no brackets) is an IPv4 or IPv6 literal. */
function isIpLiteral(name: string): boolean {
  return IPV4.test(name) || (name.includes(":") && /^[0-9a-f:.]+$/.test(name));
}

/** A hostname option, lower case, without brackets. */
function bare(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

/** A Host header's name, lower case, without port and brackets. */
function hostName(host: string): string | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*))(?::(\d+))?$/.exec(host);
  if (m === null) return undefined;
  return (m[1] ?? m[2]).toLowerCase();
}
const TOKEN_FORM = /^[A-Za-z0-9._-]{16,256}$/;

/**
 * Serves the observer page, its event stream, its actions and `/metrics`
 * (see the module docs) until closed. Works on Deno, Node and Bun
 * (`node:http`).
 *
 * @param options where to listen, the token, how often to refresh.
 * @returns the running observer, once it listens. If `signal` aborts
 *   before then, the socket is closed and the promise rejects with the
 *   signal's reason.
 * @throws {TypeError} for an unknown option key or an option of the wrong
 *   type.
 * @throws {RangeError} for a port outside 0..65535, a non-positive interval
 *   or a malformed token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@steward/steward/observer";
 * const observer = await serve();
 * const res = await fetch(new URL("/metrics", observer.url));
 * assert.match(await res.text(), /^steward_processes\{kind="main"\} 1$/m);
 * const refused = await fetch(new URL("/api/kill", observer.url), {
 *   method: "POST",
 *   body: JSON.stringify({ pid: "<0.1.0>" }),
 * });
 * assert.equal(refused.status, 403);
 * await refused.body?.cancel();
 * await observer.close();
 * ```
 */
export async function serve(options?: ServeOptions): Promise<Observer> {
  const o = checkOptions(options);
  const server = new ObserverServer(o);
  await server.listen();
  return server;
}

interface Checked {
  port: number;
  hostname: string;
  token: string;
  signal: AbortSignal | undefined;
  interval: number;
  allowedHosts: string[];
}

function fail(what: string, got: unknown, Err = TypeError): never {
  throw new Err(
    `Cannot serve the observer: ${what}, got ${formatTerm(got)}`,
  );
}

function checkOptions(options: ServeOptions | undefined): Checked {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    fail("'options' must be an object", options);
  }
  refuseUnknown("serve the observer", options, OPTION_KEYS);
  const port = options.port ?? DEFAULTS.port;
  if (typeof port !== "number") fail("'port' must be a number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail("'port' must be an integer from 0 to 65535", port, RangeError);
  }
  const hostname = options.hostname ?? DEFAULTS.hostname;
  if (typeof hostname !== "string" || hostname === "") {
    fail("'hostname' must be a non-empty string", hostname);
  }
  const token = options.token ?? randomToken();
  if (typeof token !== "string") fail("'token' must be a string", token);
  if (!TOKEN_FORM.test(token)) {
    fail(
      "'token' must be 16 to 256 letters, digits, '-', '_' or '.'",
      token,
      RangeError,
    );
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    fail("'signal' must be an AbortSignal", signal);
  }
  const interval = options.interval ?? DEFAULTS.interval;
  if (typeof interval !== "number") {
    fail("'interval' must be a number", interval);
  }
  if (!(interval > 0) || !Number.isFinite(interval)) {
    fail(
      "'interval' must be a positive finite number of ms",
      interval,
      RangeError,
    );
  }
  const hosts: unknown = options.allowedHosts ?? [];
  if (!Array.isArray(hosts)) {
    fail("'allowedHosts' must be an array of host names", hosts);
  }
  const allowedHosts: string[] = [];
  for (const h of hosts as unknown[]) {
    if (typeof h !== "string" || !/^[A-Za-z0-9.-]+$/.test(h)) {
      fail(
        "'allowedHosts' must hold host names (letters, digits, '.', '-')",
        h,
      );
    }
    allowedHosts.push(h.toLowerCase());
  }
  return { port, hostname, token, signal, interval, allowedHosts };
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares in time independent of where the strings differ. */
function sameToken(given: string, token: string): boolean {
  if (given.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) {
    diff |= given.charCodeAt(i) ^ token.charCodeAt(i);
  }
  return diff === 0;
}

// ------------------------------------------------------------ JSON views --

/** A value the page shows as text: strings as they are, the rest formatted. */
function text(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : formatTerm(value);
}

function pids(list: readonly Pid[]): string[] {
  return list.map(String);
}

function processJson(p: system.ProcessSnapshot) {
  return {
    pid: String(p.pid),
    name: text(p.name),
    kind: p.kind,
    label: text(p.label),
    status: p.status,
    messageQueueLength: p.messageQueueLength,
    messagesReceived: p.messagesReceived,
    messagesSent: p.messagesSent,
    links: pids(p.links),
    monitors: pids(p.monitors),
    monitoredBy: pids(p.monitoredBy),
    trapExit: p.trapExit,
    parent: p.parent === undefined ? undefined : String(p.parent),
    startedAt: p.startedAt,
    memory: p.memory,
  };
}

interface TreeJson {
  pid: string;
  name: string | undefined;
  kind: string;
  label: string | undefined;
  strategy: string | undefined;
  restarts: number;
  children: ChildJson[];
}

interface ChildJson {
  id: string;
  pid: string | undefined;
  state: string;
  restartAt: number | undefined;
  type: string;
  restarts: number;
  tree: TreeJson | undefined;
}

function treeJson(t: system.TreeSnapshot): TreeJson {
  return {
    pid: String(t.pid),
    name: text(t.name),
    kind: t.kind,
    label: text(t.label),
    strategy: text(t.strategy),
    restarts: t.restarts,
    children: t.children.map((c): ChildJson => ({
      id: text(c.id) ?? "",
      pid: c.pid === undefined ? undefined : String(c.pid),
      state: c.state,
      restartAt: c.restartAt,
      type: c.type,
      restarts: c.restarts,
      tree: c.tree === undefined ? undefined : treeJson(c.tree),
    })),
  };
}

function tableJson(t: system.TableSnapshot) {
  return {
    id: t.id,
    name: text(t.name) ?? "",
    type: t.type,
    owner: String(t.owner),
    heir: t.heir === undefined ? undefined : String(t.heir),
    access: t.access,
    size: t.size,
    memory: t.memory,
  };
}

/** A timeline entry: every value the page shows already text. */
interface EventJson {
  at: number;
  type: string;
  pid?: string;
  supervisor?: string;
  id?: string;
  reason?: string;
  table?: string;
  from?: string;
  to?: string;
  count?: number;
}

/** The timeline entry of `e`, or undefined if the timeline skips it. */
function timelineEntry(e: system.SystemEvent): EventJson | undefined {
  switch (e.type) {
    case "spawn":
    case "child_started":
      return undefined;
    case "exit": {
      const c = exitClass(e.reason);
      if (c === "normal" || c === "shutdown") return undefined;
      return {
        at: e.at,
        type: e.type,
        pid: String(e.pid),
        reason: formatTerm(e.reason),
      };
    }
    case "child_restarted":
      return {
        at: e.at,
        type: e.type,
        supervisor: String(e.supervisor),
        id: text(e.id),
        pid: String(e.pid),
      };
    case "child_exited":
      return {
        at: e.at,
        type: e.type,
        supervisor: String(e.supervisor),
        id: text(e.id),
        pid: String(e.pid),
        reason: formatTerm(e.reason),
      };
    case "restart_failed":
    case "give_up":
      return {
        at: e.at,
        type: e.type,
        supervisor: String(e.supervisor),
        id: text(e.id),
        reason: formatTerm(e.reason),
      };
    case "table_transfer":
      return {
        at: e.at,
        type: e.type,
        table: text(e.table),
        from: String(e.from),
        to: String(e.to),
      };
    case "dropped":
      return { at: e.at, type: e.type, count: e.count };
    default:
      return undefined;
  }
}

// ----------------------------------------------------- process ordering --

/** The columns the page sorts processes by. */
const SORT_KEYS = [
  "pid",
  "name",
  "kind",
  "label",
  "status",
  "messageQueueLength",
  "messagesReceived",
  "messagesSent",
  "memory",
] as const;
type SortKey = typeof SORT_KEYS[number];

/** The order of a snapshot's processes: a column, descending (-1) or not. */
interface Order {
  readonly sort: SortKey;
  readonly dir: 1 | -1;
}

const DEFAULT_ORDER: Order = { sort: "messageQueueLength", dir: -1 };

/** The order asked by `?sort=<key>&dir=<1|-1>`, or an HttpError 400. */
function orderOf(params: URLSearchParams): Order {
  const sort = params.get("sort") ?? DEFAULT_ORDER.sort;
  const dir = params.get("dir") ?? String(DEFAULT_ORDER.dir);
  if (!(SORT_KEYS as readonly string[]).includes(sort)) {
    throw new HttpError(400, "bad_sort");
  }
  if (dir !== "1" && dir !== "-1") throw new HttpError(400, "bad_dir");
  return { sort: sort as SortKey, dir: dir === "1" ? 1 : -1 };
}

/**
 * The first `n` of `figures` (oldest first) in `order` (ties by pid,
 * oldest first), as the
 * page sorts them: numbers as numbers, the rest as strings (missing ones
 * as "").
 */
function topProcesses(
  figures: readonly system.ProcessFigures[],
  order: Order,
  n: number,
): system.ProcessFigures[] {
  const k = order.sort;
  // figures are oldest first: the index orders them as their pids do.
  const rows = figures.map((f, pid) => ({ f, pid }));
  const value = (r: { f: system.ProcessFigures; pid: number }) =>
    k === "pid" ? r.pid : r.f[k] ?? "";
  const top = firstN(rows, (a, b) => {
    const x = value(a);
    const y = value(b);
    const r = typeof x === "number" && typeof y === "number"
      ? x - y
      : String(x) < String(y)
      ? -1
      : String(x) > String(y)
      ? 1
      : 0;
    return r * order.dir || a.pid - b.pid;
  }, n);
  return top.map((r) => r.f);
}

// -------------------------------------------------------------- counting --

/** What the observer counts from the event stream while it runs. */
class Counts {
  /** Restarts per supervisor, by `String(pid)`. */
  readonly restarts = new Map<string, { pid: Pid; count: number }>();
  restartsTotal = 0;
  readonly exits: Record<ExitClass, number> = {
    normal: 0,
    shutdown: 0,
    killed: 0,
    other: 0,
  };
  dropped = 0;
  /** The latest timeline entries, oldest first. */
  readonly timeline: EventJson[] = [];

  /** Counts `e`; returns its timeline entry, if any. */
  add(e: system.SystemEvent): EventJson | undefined {
    switch (e.type) {
      case "exit":
        this.exits[exitClass(e.reason)]++;
        break;
      case "child_restarted": {
        const key = String(e.supervisor);
        const entry = this.restarts.get(key);
        if (entry === undefined) {
          this.restarts.set(key, { pid: e.supervisor, count: 1 });
        } else entry.count++;
        this.restartsTotal++;
        break;
      }
      case "dropped":
        this.dropped += e.count;
        break;
    }
    const entry = timelineEntry(e);
    if (entry !== undefined) {
      this.timeline.push(entry);
      if (this.timeline.length > TIMELINE_KEPT) this.timeline.shift();
    }
    return entry;
  }
}

// ---------------------------------------------------------------- server --

type Json = Record<string, unknown>;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string) {
    super(code);
  }
}

/** The running observer. */
class ObserverServer implements Observer {
  readonly #o: Checked;
  readonly #server: Server;
  readonly #counts = new Counts();
  /** The open event streams, each with the order its page asked. */
  readonly #clients = new Map<ServerResponse, Order>();
  readonly #stop = new AbortController();
  #events: Promise<void> = Promise.resolve();
  #timer: { clock: Clock; handle: TimerHandle } | undefined;
  #port = 0;
  #startedAt = 0;
  #closing: Promise<void> | undefined;
  #onAbort = () => void this.close();

  constructor(o: Checked) {
    this.#o = o;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  get url(): string {
    const h = this.#o.hostname.includes(":")
      ? `[${this.#o.hostname}]`
      : this.#o.hostname;
    return `http://${h}:${this.#port}/`;
  }

  get token(): string {
    return this.#o.token;
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<void> {
    const { signal } = this.#o;
    if (signal?.aborted) {
      throw new TypeError(
        "Cannot serve the observer: 'signal' is already aborted",
      );
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port, this.#o.hostname, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const address = this.#server.address();
    this.#port = typeof address === "object" && address !== null
      ? address.port
      : this.#o.port;
    if (signal?.aborted) {
      // It aborted while we waited for the socket: nobody will close it.
      await this.close();
      throw signal.reason;
    }
    this.#startedAt = getClock().now();
    this.#events = this.#count();
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    this.#o.signal?.removeEventListener("abort", this.#onAbort);
    this.#stop.abort();
    this.#stopTicking();
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
    const closed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    // Keep-alive connections would hold close() open until they time out.
    this.#server.closeAllConnections?.();
    await closed;
    await this.#events;
  }

  /** Reads the system's event stream until closed. */
  async #count(): Promise<void> {
    try {
      for await (
        const e of system.events({
          bufferSize: EVENT_BUFFER,
          signal: this.#stop.signal,
        })
      ) {
        const entry = this.#counts.add(e);
        if (entry !== undefined) this.#broadcast("system", entry);
      }
    } catch (error) {
      if (!this.#stop.signal.aborted) {
        reportInternalError("the observer's event stream failed", error);
      }
    }
  }

  // ---- snapshots ----

  /**
   * What the page gets each interval: counts of everything, the trees and
   * tables, and the TOP_PROCESSES processes first in `order` (not all of
   * them: 100,000 processes would be megabytes a second).
   */
  #snapshot(order: Order = DEFAULT_ORDER): Json {
    const figures = system.processFigures();
    let mailbox = 0;
    for (const p of figures) mailbox += p.messageQueueLength;
    const processes: Json[] = [];
    for (const f of topProcesses(figures, order, TOP_PROCESSES)) {
      const p = system.processSnapshot(f.pid);
      if (p !== undefined) processes.push(processJson(p));
    }
    return {
      at: getClock().now(),
      order: { sort: order.sort, dir: order.dir },
      processes,
      trees: system.supervisionTrees().map(treeJson),
      tables: system.tables().map(tableJson),
      totals: {
        processes: figures.length,
        restarts: this.#counts.restartsTotal,
        exits: { ...this.#counts.exits },
        dropped: this.#counts.dropped,
        mailbox,
      },
    };
  }

  #metrics(): string {
    const figures = system.processFigures();
    const alive = new Map<string, system.ProcessSnapshot>();
    for (const key of this.#counts.restarts.keys()) {
      const r = this.#counts.restarts.get(key)!;
      const f = system.processSnapshot(r.pid);
      // Counters of supervisors that died are forgotten (their series end).
      if (f === undefined) this.#counts.restarts.delete(key);
      else alive.set(key, f);
    }
    return formatMetrics({
      processes: figures.map((p) => ({
        pid: String(p.pid),
        name: text(p.name),
        kind: p.kind,
        messageQueueLength: p.messageQueueLength,
        memory: p.memory,
      })),
      restarts: [...this.#counts.restarts].map(([key, r]) => ({
        supervisor: key,
        name: text(alive.get(key)?.name),
        count: r.count,
      })),
      exits: this.#counts.exits,
      tables: system.tables().map((t) => ({
        id: t.id,
        owner: String(t.owner),
        name: text(t.name) ?? "",
        type: t.type,
        size: t.size,
        memory: t.memory,
      })),
      eventsDropped: this.#counts.dropped,
    });
  }

  // ---- the event stream ----

  #broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const chunk = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of [...this.#clients.keys()]) this.#write(res, chunk);
  }

  #write(res: ServerResponse, chunk: string): void {
    if (res.writableLength > MAX_CLIENT_BACKLOG) {
      // A page that does not read: drop it rather than buffer without end.
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  #tick = (): void => {
    this.#timer = undefined;
    if (this.#clients.size === 0) return;
    try {
      // One snapshot per order asked, shared by the pages that asked it.
      const chunks = new Map<string, string>();
      for (const [res, order] of [...this.#clients]) {
        const key = `${order.sort} ${order.dir}`;
        let chunk = chunks.get(key);
        if (chunk === undefined) {
          chunk = `event: snapshot\ndata: ${
            JSON.stringify(this.#snapshot(order))
          }\n\n`;
          chunks.set(key, chunk);
        }
        this.#write(res, chunk);
      }
    } catch (error) {
      reportInternalError("the observer's snapshot failed", error);
    }
    this.#startTicking();
  };

  #startTicking(): void {
    if (this.#timer !== undefined || this.#stop.signal.aborted) return;
    const clock = getClock();
    this.#timer = {
      clock,
      handle: clock.setTimeout(this.#tick, this.#o.interval),
    };
  }

  #stopTicking(): void {
    if (this.#timer === undefined) return;
    this.#timer.clock.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #openStream(
    req: IncomingMessage,
    res: ServerResponse,
    order: Order,
  ): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "connection": "keep-alive",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    this.#clients.set(res, order);
    const gone = () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stopTicking();
    };
    req.on("close", gone);
    res.on("close", gone);
    res.on("error", gone);
    this.#write(
      res,
      `retry: 1000\nevent: hello\ndata: ${
        JSON.stringify({
          startedAt: this.#startedAt,
          interval: this.#o.interval,
          timeline: this.#counts.timeline,
        })
      }\n\nevent: snapshot\ndata: ${JSON.stringify(this.#snapshot(order))}\n\n`,
    );
    this.#startTicking();
  }

  // ---- requests ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.#stop.signal.aborted) throw new HttpError(503, "closing");
      if (!this.#hostAllowed(req.headers.host)) {
        throw new HttpError(403, "bad_host");
      }
      const path = new URL(req.url ?? "/", "http://observer.invalid");
      const method = req.method ?? "GET";
      const route = ROUTES[path.pathname];
      if (route === undefined) throw new HttpError(404, "not_found");
      if (route !== method && !(route === "GET" && method === "HEAD")) {
        res.setHeader("allow", route === "GET" ? "GET, HEAD" : "POST");
        throw new HttpError(405, "method_not_allowed");
      }
      switch (path.pathname) {
        case "/":
          return this.#page(res);
        case "/favicon.ico":
          res.writeHead(204, SECURITY_HEADERS);
          return void res.end();
        case "/events":
          return this.#openStream(req, res, orderOf(path.searchParams));
        case "/metrics":
          return send(res, 200, METRICS_CONTENT_TYPE, this.#metrics());
        case "/api/snapshot":
          return sendJson(
            res,
            200,
            this.#snapshot(orderOf(path.searchParams)),
          );
        case "/api/process":
          return sendJson(
            res,
            200,
            await this.#detail(path.searchParams.get("pid")),
          );
        case "/api/kill":
          return sendJson(res, 200, await this.#action(req, killAction));
        case "/api/stop-child":
          return sendJson(res, 200, await this.#action(req, stopChildAction));
      }
    } catch (error) {
      if (error instanceof HttpError) {
        // The rest of a too large body is not read: the connection ends.
        if (error.status === 413) res.setHeader("connection", "close");
        return sendJson(res, error.status, { error: error.code });
      }
      reportInternalError("the observer failed to answer a request", error);
      return sendJson(res, 500, { error: "internal_error" });
    }
  }

  /**
   * The Host header names this server (against DNS rebinding): a loopback
   * name or address; and when it listens beyond loopback, also an IP
   * literal, its `hostname`, or one of `allowedHosts`.
   */
  #hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const name = hostName(host);
    if (name === undefined || name === "") return false;
    if (isLoopback(name)) return true;
    if (isLoopback(bare(this.#o.hostname))) return false;
    return isIpLiteral(name) || name === bare(this.#o.hostname) ||
      this.#o.allowedHosts.includes(name);
  }

  #page(res: ServerResponse): void {
    const nonce = randomToken().slice(0, 32);
    send(res, 200, "text/html; charset=utf-8", observerPage(nonce), {
      "content-security-policy":
        `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    });
  }

  async #detail(pidText: string | null): Promise<Json> {
    const pid = findPid(pidText);
    const p = system.processSnapshot(pid);
    if (p === undefined) throw new HttpError(404, "noproc");
    const out: Json = { process: processJson(p) };
    const status = await serverStatus(p);
    if (status !== undefined) Object.assign(out, status);
    return out;
  }

  /** Checks the token, reads the body, runs `action` on it. */
  async #action(
    req: IncomingMessage,
    action: (body: Record<string, unknown>) => Promise<Json>,
  ): Promise<Json> {
    const given = req.headers["x-steward-token"];
    if (typeof given !== "string" || !sameToken(given, this.#o.token)) {
      throw new HttpError(403, "forbidden");
    }
    const type = req.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new HttpError(415, "json_expected");
    }
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new HttpError(400, "bad_json");
    }
    if (
      parsed === null || typeof parsed !== "object" || Array.isArray(parsed)
    ) throw new HttpError(400, "bad_request");
    return await action(parsed as Record<string, unknown>);
  }
}

const ROUTES: Record<string, "GET" | "POST"> = {
  "/": "GET",
  "/favicon.ico": "GET",
  "/events": "GET",
  "/metrics": "GET",
  "/api/snapshot": "GET",
  "/api/process": "GET",
  "/api/kill": "POST",
  "/api/stop-child": "POST",
};
Object.setPrototypeOf(ROUTES, null);

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};

const encoder = new TextEncoder();

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const bytes = encoder.encode(body);
  res.writeHead(status, {
    "content-length": String(bytes.length),
    ...SECURITY_HEADERS,
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
    ...extra,
    "content-type": type,
  });
  res.end(bytes);
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(data));
}

function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY) {
    return Promise.reject(new HttpError(413, "body_too_large"));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        // Answer 413 and close the connection (see #handle), reading no more.
        req.off("data", onData);
        req.pause();
        reject(new HttpError(413, "body_too_large"));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => {
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      resolve(new TextDecoder().decode(all));
    });
    req.on("error", reject);
  });
}

// --------------------------------------------------------------- actions --

/** The live process written `text` (`<0.N.0>`, strictly), or an HttpError. */
function findPid(text: unknown): Pid {
  if (typeof text !== "string" || pidNumber(text) === undefined) {
    throw new HttpError(400, "bad_pid");
  }
  const pid = system.pidOf(text);
  if (pid === undefined) throw new HttpError(404, "noproc");
  return pid;
}

function checkKeys(body: Record<string, unknown>, keys: string[]): void {
  const got = Object.keys(body);
  if (got.length !== keys.length || !keys.every((k) => got.includes(k))) {
    throw new HttpError(400, "bad_request");
  }
}

/** POST /api/kill `{ pid }`: `exit(pid, "kill")`. */
function killAction(body: Record<string, unknown>): Promise<Json> {
  checkKeys(body, ["pid"]);
  const pid = findPid(body.pid);
  if (system.processSnapshot(pid)?.kind === "main") {
    throw new HttpError(400, "main");
  }
  exit(pid, "kill");
  return Promise.resolve({ ok: true, pid: String(pid) });
}

/** The tree of the supervisor-like process written `text`. */
function findTree(text: string): system.TreeSnapshot | undefined {
  const walk = (t: system.TreeSnapshot): system.TreeSnapshot | undefined => {
    if (String(t.pid) === text) return t;
    for (const c of t.children) {
      const found = c.tree && walk(c.tree);
      if (found) return found;
    }
    return undefined;
  };
  for (const t of system.supervisionTrees()) {
    const found = walk(t);
    if (found) return found;
  }
  return undefined;
}

/** The id whose formatTerm is `shown`, among `ids`. */
function rawId(ids: readonly unknown[], shown: string): unknown {
  for (const id of ids) if (formatTerm(id) === shown) return id;
  throw new HttpError(404, "no_such_child");
}

/** POST /api/stop-child `{ supervisor, id }`: terminateChild. */
async function stopChildAction(body: Record<string, unknown>): Promise<Json> {
  checkKeys(body, ["supervisor", "id"]);
  const sup = findPid(body.supervisor);
  if (typeof body.id !== "string") throw new HttpError(400, "bad_id");
  const shown = body.id;
  const tree = findTree(String(sup));
  if (tree === undefined) throw new HttpError(400, "not_a_supervisor");
  const child = tree.children.find((c) => c.id === shown);
  if (child === undefined) throw new HttpError(404, "no_such_child");
  try {
    switch (tree.kind) {
      case "supervisor": {
        const infos = await supervisor.whichChildren(sup);
        await supervisor.terminateChild(
          sup,
          rawId(infos.map((i) => i.id), shown),
        );
        break;
      }
      case "dynamic_supervisor":
      case "task_supervisor":
        if (child.pid === undefined) throw new HttpError(409, "not_running");
        await supervisor.terminateChild(sup, child.pid);
        break;
      case "director":
        await director.terminateChild(
          sup,
          rawId(director.whichChildren(sup).map((i) => i.id), shown),
        );
        break;
      case "tracker": {
        const infos = await tracker.whichChildren(sup);
        await tracker.terminateChild(
          sup,
          rawId(infos.map((i) => i.id), shown),
        );
        break;
      }
      default:
        throw new HttpError(400, "unsupported");
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The child or the supervisor went away meanwhile, or refused.
    throw new HttpError(409, errorCode(error));
  }
  return { ok: true, supervisor: String(sup), id: shown };
}

function errorCode(error: unknown): string {
  try {
    const code = (error as { code?: unknown })?.code;
    return typeof code === "string" ? code : "failed";
  } catch {
    return "failed";
  }
}

// -------------------------------------------------------- a server's state --

/** Kinds whose processes answer sys requests. */
const SERVER_KINDS = new Set<string>([
  "gen_server",
  "supervisor",
  "dynamic_supervisor",
  "task_supervisor",
  "director",
  "tracker",
  "table_manager",
]);

/**
 * `{ status: { status, state, statistics } }` for a server, its state as
 * `sys.getStatus` gives it (after the server's formatStatus hook) formatted
 * as text; `{ statusError: code }` if it could not be had (it died, it
 * timed out); undefined for other processes.
 */
async function serverStatus(
  p: system.ProcessSnapshot,
): Promise<Json | undefined> {
  if (!SERVER_KINDS.has(p.kind)) return undefined;
  try {
    const s = await sys.getStatus(p.pid, { timeout: STATUS_TIMEOUT_MS });
    return {
      status: {
        status: s.status,
        state: formatTerm(s.state),
        statistics: s.statistics,
      },
    };
  } catch (error) {
    return { statusError: errorCode(error) };
  }
}
