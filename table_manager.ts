/**
 * TableManager: keeps a table alive across crashes of the process that uses
 * it, as Elixir's Immortal (`ETSTableManager`), without Immortal's busy loop
 * and without its lost-table races.
 *
 * ## The hand-off
 * A table dies with its owner. To keep one across crashes, a manager owns it
 * first and lends it out: {@linkcode start} creates the table with the
 * manager as its heir, waits for the *consumer* (the process registered
 * under a name) and gives the table to it. The consumer gets
 * `["ETS-TRANSFER", table, manager, gift]` and keeps `table`. When the
 * consumer dies, the table goes back to its heir, the manager, which waits
 * for the consumer's restart (a new process registering the same name) and
 * gives it the same table, with its data.
 *
 * ```
 *   manager ──giveAway──▶ consumer        (consumer registered and alive)
 *      ▲                     │ dies
 *      └──── heir ◀──────────┘            (ETS-TRANSFER back, data intact)
 * ```
 *
 * The wait is event-driven: the manager is told when the name is registered,
 * so it takes no CPU and keeps answering {@linkcode table} and
 * {@linkcode status} meanwhile. A wait longer than `timeout` emits a
 * `"timeout"` event, then keeps waiting (`onTimeout: "wait"`, the default)
 * or stops the manager (`onTimeout: "stop"`, which deletes the table it
 * holds).
 *
 * ## Races
 * The manager stays the heir while the consumer owns the table, so the table
 * always has somewhere to go:
 * - a consumer that dies before the manager acts on its registration is
 *   never given the table (the manager looks the name up again when it
 *   acts, and waits on);
 * - a consumer that dies after the hand-off, even before it read its
 *   `ETS-TRANSFER` (say, a gen_server registered by name whose `init` then
 *   fails), sends the table back to the manager;
 * - a consumer that passes the table on (`giveAway`) leaves the manager as
 *   heir: the new owner's death brings it back too;
 * - a consumer that gives the table back on purpose (`giveAway` to the
 *   manager) is not given it again: the manager holds it until another
 *   process registers the name.
 *
 * ## When the manager itself dies
 * - **The consumer holds the table:** it keeps it (ETS is not involved), but
 *   without a live heir. A manager started again for the same table name
 *   *re-adopts* it: it becomes the heir again (on the owner's behalf: only
 *   an owner may change the heir) and emits `"adopted"`; it creates no
 *   table and sends no second `ETS-TRANSFER`. If the consumer dies while no
 *   manager is alive, the table is gone.
 * - **The manager holds the table** (waiting for the consumer): the table
 *   dies with it; ETS has no one else to give it to.
 * - A manager started for a table whose previous manager *crashed* (any
 *   reason but `"normal"`, `"shutdown"` or `["shutdown", detail]`) and
 *   whose table is gone (the consumer and the manager died together, say)
 *   emits `"lost"`, reports the loss through the library logger (kind
 *   `table_manager_lost_table`, level error, once per loss), then by default
 *   creates an empty table and carries on, as Immortal does
 *   (`onLost: "recreate"`), or fails to start with `StartError` reason
 *   `["table_lost", tableName]` (`onLost: "fail"`: under a supervisor, every
 *   restart then fails until the supervisor gives up). It never creates an
 *   empty table in silence. After a deliberate stop, a table that is gone
 *   is simply created anew. (`onTimeout: "stop"` counts as a crash: the
 *   table was lost.)
 * - One live manager per table name: another start rejects with
 *   `["already_managed", pid]`.
 *
 * The manager is a gen_server that traps exits: started with
 * {@linkcode startLink}, it stops (running its cleanup) when its parent
 * exits. Its pid works with `await using` (disposal stops it). A bare
 * `GenServer.call` of a request it does not know (or a ghost does not know)
 * is refused: the call rejects with a {@linkcode TableManagerError}
 * `"unknown_request"`, and the server lives on.
 *
 * ## Ghosts
 * {@linkcode startGhost} starts Immortal's `Ghost`: a process that holds a
 * value for another process and outlives it by `timeout` ms (so a restarted
 * process can pick the value up), then exits with reason `"normal"`. Unlike
 * Immortal's, its pending expiry can be cancelled ({@linkcode cancelGhost})
 * and an update that throws leaves it alive.
 *
 * ## Differences from Immortal, on purpose
 * - {@linkcode start} returns once the table exists; it does not block (and
 *   exit its caller after 5 s) until the consumer appears, so the consumer
 *   and the manager may start in any order.
 * - A `heir` table option is refused (the manager is the heir).
 * - Events for every transition ({@linkcode subscribe}) and a snapshot
 *   ({@linkcode status}).
 *
 * ```ts
 * import { start, stop, table } from "@steward/steward/table-manager";
 * import { exit, receive, register, self, send, spawn, whereis } from "@steward/steward/process";
 *
 * // The consumer: takes the table (its first message), says so, waits.
 * function startConsumer(): void {
 *   const main = self();
 *   register("sessions", spawn(async () => {
 *     await receive(); // ["ETS-TRANSFER", table, manager, gift]
 *     send(main, "got the table");
 *     await receive((m) => m === "never");
 *   }));
 * }
 * startConsumer();
 * const manager = await start("sessions", { access: "public" });
 * await receive((m) => m === "got the table");
 * (await table(manager)).insert(["alice", 1]);
 *
 * exit(whereis("sessions")!, "kill"); // the table goes back to the manager...
 * startConsumer(); // ...and on to the restarted consumer, data and all
 * await receive((m) => m === "got the table");
 * console.assert((await table(manager)).lookup("alice").length === 1);
 *
 * exit(whereis("sessions")!, "kill");
 * await stop(manager); // it holds the table now: the table goes with it
 * ```
 *
 * @module
 */

import {
  call,
  type CallOptions,
  type From,
  type GenServer,
  start as startServer,
  startLink as startLinkServer,
  type StartOptions,
  stop as stopServer,
  type StopOptions,
} from "./gen_server.ts";
import {
  type Dest,
  isAlive,
  monitor,
  Pid,
  type Ref,
  trapExit,
  whereis,
} from "./process.ts";
import { create, type CreateOptions, type Table } from "./ets.ts";
import {
  addResource,
  currentProc,
  deliver,
  onRegistered,
  type Proc,
  procOf,
} from "./_runtime.ts";
import { callAs } from "./_context.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import { getClock } from "./clock.ts";
import { EventHub } from "./_events.ts";
import { NoProcError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import { formatStatus, observeTableManager } from "./_system_hooks.ts";
import { isCleanExit, partsOf } from "./_safe.ts";
import { refuseUnknown } from "./_options.ts";
import { Failure } from "./_failure.ts";
import { unknownRequestMessage } from "./_request.ts";
import { enabled, log } from "./_logger.ts";

// ---------------------------------------------------------------- types --

/** The table's options: those of `ets.create`, without `heir`. */
export type TableOptions = Omit<CreateOptions, "heir">;

/**
 * What a manager does when the consumer has not appeared within `timeout`:
 * `"wait"` on (the table stays with the manager), or `"stop"` (the manager
 * exits with `["consumer_timeout", name]` and the table goes with it).
 */
export type OnTimeout = "wait" | "stop";

/**
 * What a manager does at start when the previous manager of its table
 * crashed and the table is gone: `"recreate"` (an empty table, the default,
 * as Immortal) or `"fail"` (the start rejects with `StartError` reason
 * `["table_lost", tableName]`). Either way a `"lost"` event is emitted and a
 * `table_manager_lost_table` error report logged first (the report once per
 * loss, however many starts fail on it).
 */
export type OnLost = "fail" | "recreate";

/** Options of {@linkcode start} and {@linkcode startLink}. */
export interface TableManagerOptions {
  /** Register the manager under this name. */
  name?: string;
  /**
   * A label for the process, shown by the introspection of system.ts and
   * the observer (OTP 27's `proc_lib:set_label/1`, given at start).
   */
  label?: string;
  /** The table's name. @default {the consumer's name} */
  tableName?: string;
  /**
   * Milliseconds to wait for the consumer, each time the manager holds the
   * table, before the `"timeout"` event and `onTimeout` (`Infinity`: no
   * timeout). Runs on the current clock.
   * @default {5000}
   */
  timeout?: number;
  /** See {@linkcode OnTimeout}. @default {"wait"} */
  onTimeout?: OnTimeout;
  /** See {@linkcode OnLost}. @default {"recreate"} */
  onLost?: OnLost;
  /** Sent to the consumer with each table: `["ETS-TRANSFER", table, manager, gift]`. */
  gift?: unknown;
  /**
   * Abandons the start when it aborts: the start rejects with the signal's
   * `reason` and the half-started manager is killed (as gen_server's start).
   */
  signal?: AbortSignal;
}

/**
 * Where the table is: `"waiting"`: the manager holds it and waits for the
 * consumer; `"given"`: another process (the consumer) owns it.
 */
export type Phase = "waiting" | "given";

/** What {@linkcode status} reports. */
export interface TableManagerStatus {
  /** Where the table is. */
  phase: Phase;
  /** The table. */
  table: Table;
  /** The consumer's registered name. */
  consumer: string;
  /** The table's owner now (the manager while waiting). */
  owner: Pid;
  /** How many times the manager gave the table away. */
  handOffs: number;
  /** Clock time the current wait began (`undefined` when given). */
  waitingSince: number | undefined;
}

/** A manager's transitions, as {@linkcode subscribe} reports them. */
export type TableManagerEvent =
  | {
    /** The manager created its table. */
    type: "created";
    manager: Pid;
    table: Table;
  }
  | {
    /** A restarted manager found its table alive and became its heir again. */
    type: "adopted";
    manager: Pid;
    table: Table;
    /** Who owns it. */
    owner: Pid;
  }
  | {
    /** The previous manager crashed and the table is gone. */
    type: "lost";
    manager: Pid;
    tableName: string;
  }
  | {
    /** The manager holds the table and waits for the consumer. */
    type: "waiting";
    manager: Pid;
    table: Table;
    consumer: string;
  }
  | {
    /** The manager gave the table to the consumer. */
    type: "given";
    manager: Pid;
    table: Table;
    consumer: Pid;
  }
  | {
    /** The table came back to the manager (its owner died, or gave it back). */
    type: "reclaimed";
    manager: Pid;
    table: Table;
    from: Pid;
  }
  | {
    /** A process the manager gave the table to exited. */
    type: "consumer_down";
    manager: Pid;
    consumer: Pid;
    reason: unknown;
  }
  | {
    /** The consumer did not appear within `timeout` ms. */
    type: "timeout";
    manager: Pid;
    table: Table;
    consumer: string;
    timeout: number;
  };

/** The defaults of {@linkcode TableManagerOptions}. */
const DEFAULTS = {
  timeout: 5000,
  onTimeout: "wait",
  onLost: "recreate",
} as const;

/** The heir data the manager sets: what comes back with a reclaimed table. */
const HEIR_DATA = "table_manager";

// --------------------------------------------------------------- events --

const hub = new EventHub<TableManagerEvent>();

/**
 * Calls `listener` with every event of every table manager, synchronously,
 * as it happens. A listener that throws is reported and disturbs nothing.
 *
 * @param listener called with each event.
 * @returns the function that unsubscribes (idempotent).
 * @throws {TypeError} if `listener` is not a function.
 *
 * @example
 * ```ts
 * import { start, stop, subscribe } from "@steward/steward/table-manager";
 * import type { TableManagerEvent } from "@steward/steward/table-manager";
 * const seen: TableManagerEvent["type"][] = [];
 * const unsubscribe = subscribe((e) => seen.push(e.type));
 * const manager = await start("nobody_yet", {}, { timeout: Infinity });
 * await stop(manager);
 * unsubscribe();
 * console.assert(seen.join() === "created,waiting");
 * ```
 */
export function subscribe(
  listener: (event: TableManagerEvent) => void,
): () => void {
  return hub.subscribe(listener, "subscribe to table manager events");
}

// ------------------------------------------------------------- registry --

/**
 * What survives a manager's death, per table name: the table, its latest
 * manager, and whether that manager crashed (then a table found gone was
 * lost, not dropped on purpose). Entries go when a manager is stopped on
 * purpose while holding its table (the table goes with it).
 */
interface Managed {
  table: Table;
  manager: Proc;
  crashed: boolean;
  /** The crashed manager's exit reason (for the loss report). */
  reason?: unknown;
  /** The loss was reported (once per loss, however many starts fail). */
  reported?: boolean;
}

const managed = new Map<string, Managed>();

/**
 * Logs a lost table (error level, through the library logger): the
 * previous manager crashed with `reason` and its table is gone.
 */
function reportLost(
  manager: Pid,
  tableName: string,
  reason: unknown,
  onLost: OnLost,
): void {
  if (!enabled(undefined, "error")) return;
  log({
    level: "error",
    kind: "table_manager_lost_table",
    time: Date.now(),
    source: "table_manager",
    pid: manager,
    table: tableName,
    reason,
    message: onLost === "recreate"
      ? "created anew, empty"
      : 'start refused (onLost: "fail")',
  });
}

// ---------------------------------------------------------------- state --

/** Tags the message an {@linkcode Alarm} sends: `[ALARM, alarm]`. */
const ALARM = Symbol("alarm");

/**
 * A timeout that arrives as a message `[ALARM, alarm]` to its process (not
 * the Timed itself: gen_server takes Timed messages for its own timeouts).
 */
class Alarm extends Timed {
  constructor(readonly proc: Proc) {
    super();
  }

  expire(): void {
    deliver(this.proc, [ALARM, this]);
  }
}

/** Whether `msg` is the message of `alarm` (a null alarm matches none). */
function rang(msg: unknown, alarm: Alarm | null): boolean {
  if (alarm === null) return false;
  const parts = partsOf(msg, 2); // any process may send anything
  return parts !== undefined && parts[0] === ALARM && parts[1] === alarm;
}

/** The message a registration of the consumer's name sends the manager. */
const REGISTERED = Symbol("registered");
/** Call requests. */
const GET_TABLE = Symbol("table");
const GET_STATUS = Symbol("status");

/** A manager's state (the gen_server state, mutated in place). */
interface State {
  readonly proc: Proc;
  readonly consumer: string;
  readonly tableName: string;
  readonly table: Table;
  readonly timeout: number;
  readonly onTimeout: OnTimeout;
  readonly gift: unknown;
  /** "waiting" iff the manager owns the table. */
  phase: Phase;
  /** Set while waiting: cancels the wait for the consumer's registration. */
  cancelWait: (() => void) | null;
  /** Set while waiting, until it fires: the consumer timeout. */
  timer: Alarm | null;
  /** When the current wait began (undefined when given). */
  waitingSince: number | undefined;
  /** A consumer that gave the table back: not given it again. */
  returnedBy: Pid | null;
  /** Monitors on the processes the table was given to (for consumerDown). */
  readonly monitors: Map<Ref, Pid>;
  handOffs: number;
}

interface InitArg {
  consumer: string;
  tableName: string;
  tableOptions: TableOptions;
  timeout: number;
  onTimeout: OnTimeout;
  onLost: OnLost;
  gift: unknown;
}

// ------------------------------------------------------------ behaviour --

const manager: GenServer<State, InitArg> = {
  formatStatus,
  init(arg) {
    // Trap exits: a startLink parent's exit stops us through terminate.
    trapExit(true);
    const proc = currentProc();
    const pid = proc.pid;
    const previous = managed.get(arg.tableName);
    if (previous !== undefined && !previous.manager.dead) {
      return ["stop", ["already_managed", previous.manager.pid]];
    }
    let table: Table;
    let adopted = false;
    const info = previous?.table.info();
    if (previous !== undefined && info !== undefined) {
      // Re-adopt: the owner (the consumer) kept it when the last manager
      // died. Only an owner may set the heir, so do it on its behalf.
      table = previous.table;
      const owner = procOf(info.owner);
      callAs(owner, () => table.setHeir(pid, HEIR_DATA), undefined);
      adopted = true;
    } else {
      if (previous !== undefined && previous.crashed) {
        hub.emit({ type: "lost", manager: pid, tableName: arg.tableName });
        if (previous.reported !== true) {
          previous.reported = true;
          reportLost(pid, arg.tableName, previous.reason, arg.onLost);
        }
        if (arg.onLost === "fail") {
          return ["stop", ["table_lost", arg.tableName]];
        }
      }
      table = create(arg.tableName, {
        ...arg.tableOptions,
        heir: { pid, data: HEIR_DATA },
      });
    }
    managed.set(arg.tableName, { table, manager: proc, crashed: false });
    const s: State = {
      proc,
      consumer: arg.consumer,
      tableName: arg.tableName,
      table,
      timeout: arg.timeout,
      onTimeout: arg.onTimeout,
      gift: arg.gift,
      phase: adopted ? "given" : "waiting",
      cancelWait: null,
      timer: null,
      waitingSince: undefined,
      returnedBy: null,
      monitors: new Map(),
      handOffs: 0,
    };
    observeTableManager(proc, s);
    // Killed, terminate does not run: release the wait and the timer here,
    // and remember a crash for the next manager of this table.
    addResource(proc, (dead) => {
      stopWaiting(s);
      const entry = managed.get(s.tableName);
      if (entry?.manager === dead) {
        entry.crashed = !isCleanExit(dead.reason);
        entry.reason = dead.reason;
      }
    });
    if (adopted) {
      const owner = table.info()!.owner;
      s.monitors.set(monitor(owner), owner);
      hub.emit({ type: "adopted", manager: pid, table, owner });
      return ["ok", s];
    }
    hub.emit({ type: "created", manager: pid, table });
    return ["ok", s, ["continue", "handOff"]];
  },

  handleContinue(_arg, s) {
    offer(s);
    return ["noreply", s];
  },

  handleCall(request, _from: From, s) {
    if (request === GET_TABLE) return ["reply", s.table, s];
    if (request === GET_STATUS) {
      const status: TableManagerStatus = {
        phase: s.phase,
        table: s.table,
        consumer: s.consumer,
        owner: s.table.info()?.owner ?? s.proc.pid,
        handOffs: s.handOffs,
        waitingSince: s.waitingSince,
      };
      return ["reply", status, s];
    }
    return ["reply", unknownRequest("table manager", s.proc.pid, request), s];
  },

  handleInfo(msg, s) {
    if (msg === REGISTERED) {
      s.cancelWait = null; // one-shot: it fired
      if (s.phase === "waiting") offer(s);
      return ["noreply", s];
    }
    if (rang(msg, s.timer)) {
      s.timer = null;
      hub.emit({
        type: "timeout",
        manager: s.proc.pid,
        table: s.table,
        consumer: s.consumer,
        timeout: s.timeout,
      });
      if (s.onTimeout === "stop") {
        return ["stop", ["consumer_timeout", s.consumer], s];
      }
      return ["noreply", s];
    }
    // Taken apart safely: any process may send anything (a hostile Proxy).
    const m = partsOf(msg, 5);
    if (m === undefined) return ["noreply", s];
    if (m[0] === "ETS-TRANSFER" && m[1] === s.table) {
      // Back from its owner: it died (we are the heir), or gave it back.
      const from = m[2] as Pid;
      s.phase = "waiting";
      s.returnedBy = isAlive(from) ? from : null;
      hub.emit({
        type: "reclaimed",
        manager: s.proc.pid,
        table: s.table,
        from,
      });
      offer(s);
      return ["noreply", s];
    }
    if (m[0] === "DOWN" && s.monitors.has(m[1] as Ref)) {
      const consumer = s.monitors.get(m[1] as Ref)!;
      s.monitors.delete(m[1] as Ref);
      hub.emit({
        type: "consumer_down",
        manager: s.proc.pid,
        consumer,
        reason: m[4],
      });
      return checkTable(s);
    }
    // EXITs of linked processes (we trap) and anything else: ignored.
    return ["noreply", s];
  },

  terminate(reason, s) {
    stopWaiting(s);
    // Stopped on purpose while holding the table: it goes with us, and the
    // next manager of this name starts afresh.
    if (isCleanExit(reason) && s.phase === "waiting") {
      if (managed.get(s.tableName)?.manager === s.proc) {
        managed.delete(s.tableName);
      }
    }
  },
};

/**
 * After a holder's DOWN: the table should be back with us (its ETS-TRANSFER
 * came before the DOWN) or with another live owner. If it is gone, the
 * holder deleted it: nothing left to keep.
 */
function checkTable(s: State) {
  const info = s.table.info();
  if (info === undefined) {
    hub.emit({ type: "lost", manager: s.proc.pid, tableName: s.tableName });
    return ["stop", ["table_lost", s.tableName], s] as const;
  }
  if (s.phase === "given" && info.owner !== s.proc.pid) {
    // The holder had passed it on: follow the new owner.
    let watched = false;
    for (const pid of s.monitors.values()) watched ||= pid === info.owner;
    if (!watched) s.monitors.set(monitor(info.owner), info.owner);
  }
  return ["noreply", s] as const;
}

/**
 * Gives the table to the consumer if it is registered and alive now, else
 * waits for its registration (event-driven) with the consumer timeout.
 * Looking the name up here, when the manager acts, and not when the
 * registration was announced, is what keeps a consumer that died meanwhile
 * from being given the table.
 */
function offer(s: State): void {
  const pid = whereis(s.consumer);
  if (
    pid !== undefined && pid !== s.proc.pid && pid !== s.returnedBy &&
    isAlive(pid)
  ) {
    try {
      s.table.giveAway(pid, s.gift);
    } catch (error) {
      // Cannot happen (alive, checked just now); wait for the next one.
      if (!(error instanceof NoProcError)) throw error;
      return wait(s);
    }
    stopWaiting(s);
    s.phase = "given";
    s.returnedBy = null;
    s.handOffs++;
    // The table comes back by the heir's ETS-TRANSFER; the monitor only
    // tells why the consumer went (and finds a deleted table).
    s.monitors.set(monitor(pid), pid);
    hub.emit({
      type: "given",
      manager: s.proc.pid,
      table: s.table,
      consumer: pid,
    });
    return;
  }
  wait(s);
}

function wait(s: State): void {
  const proc = s.proc;
  if (s.cancelWait === null) {
    s.cancelWait = onRegistered(s.consumer, () => deliver(proc, REGISTERED));
  }
  if (s.waitingSince !== undefined) return; // this wait's timer and event are out
  s.waitingSince = getClock().now();
  if (s.timeout !== Infinity) {
    s.timer = new Alarm(proc);
    startTimeout(s.timer, s.timeout);
  }
  hub.emit({
    type: "waiting",
    manager: proc.pid,
    table: s.table,
    consumer: s.consumer,
  });
}

function stopWaiting(s: State): void {
  s.cancelWait?.();
  s.cancelWait = null;
  if (s.timer !== null) {
    cancelTimeout(s.timer);
    s.timer = null;
  }
  s.waitingSince = undefined;
}

// ------------------------------------------------------------ arguments --

const OPTION_KEYS = [
  "name",
  "tableName",
  "timeout",
  "onTimeout",
  "onLost",
  "gift",
  "signal",
  "label",
];
const TABLE_OPTION_KEYS = ["type", "access", "keyPos", "named"];
const GHOST_OPTION_KEYS = ["init", "name", "signal"];
const TYPES = new Set(["set", "ordered_set", "bag", "duplicate_bag"]);
const ACCESSES = new Set(["public", "protected", "private"]);

function checkName(op: string, what: string, name: unknown): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot ${op}: '${what}' must be a non-empty string, got ${
        formatTerm(name)
      }`,
    );
  }
}

function checkObject(op: string, what: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== "object")) {
    throw new TypeError(
      `Cannot ${op}: '${what}' must be an object, got ${formatTerm(value)}`,
    );
  }
}

function checkTimeout(op: string, timeout: unknown): number {
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `Cannot ${op}: 'timeout' must be a non-negative number or Infinity, got ${
        formatTerm(timeout)
      }`,
    );
  }
  if (timeout < 0) {
    throw new RangeError(
      `Cannot ${op}: 'timeout' must be a non-negative number or Infinity, got ${timeout}`,
    );
  }
  return timeout;
}

function checkOneOf<T extends string>(
  op: string,
  what: string,
  value: unknown,
  allowed: ReadonlySet<string>,
): T {
  if (typeof value !== "string" || !allowed.has(value)) {
    throw new TypeError(
      `Cannot ${op}: '${what}' must be one of ${
        [...allowed].map((a) => JSON.stringify(a)).join(", ")
      }, got ${formatTerm(value)}`,
    );
  }
  return value as T;
}

/** Checks everything at the edge, so bad input is a TypeError here. */
function initArg(
  op: string,
  consumer: unknown,
  tableOptions: unknown,
  options: unknown,
): [InitArg, StartOptions] {
  checkName(op, "consumer", consumer);
  checkObject(op, "tableOptions", tableOptions);
  checkObject(op, "options", options);
  const t = (tableOptions ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (key === "heir") {
      throw new TypeError(
        `Cannot ${op}: 'tableOptions.heir' is not allowed (the manager is the table's heir), got ${
          formatTerm(t.heir)
        }`,
      );
    }
  }
  refuseUnknown(op, t, TABLE_OPTION_KEYS, "table option");
  if (t.type !== undefined) checkOneOf(op, "tableOptions.type", t.type, TYPES);
  if (t.access !== undefined) {
    checkOneOf(op, "tableOptions.access", t.access, ACCESSES);
  }
  if (t.keyPos !== undefined) {
    if (typeof t.keyPos !== "number") {
      throw new TypeError(
        `Cannot ${op}: 'tableOptions.keyPos' must be a number, got ${
          formatTerm(t.keyPos)
        }`,
      );
    }
    if (!Number.isInteger(t.keyPos) || t.keyPos < 0) {
      throw new RangeError(
        `Cannot ${op}: 'tableOptions.keyPos' must be a non-negative integer, got ${t.keyPos}`,
      );
    }
  }
  if (t.named !== undefined && typeof t.named !== "boolean") {
    throw new TypeError(
      `Cannot ${op}: 'tableOptions.named' must be a boolean, got ${
        formatTerm(t.named)
      }`,
    );
  }
  const o = (options ?? {}) as Record<string, unknown>;
  refuseUnknown(op, o, OPTION_KEYS);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${op}: 'signal' must be an AbortSignal, got ${
        formatTerm(o.signal)
      }`,
    );
  }
  if (o.name !== undefined) {
    checkName(op, "name", o.name);
    if (o.name === consumer) {
      throw new TypeError(
        `Cannot ${op}: 'name' must differ from the consumer's name, got ${
          JSON.stringify(o.name)
        } for both`,
      );
    }
  }
  if (o.tableName !== undefined) checkName(op, "tableName", o.tableName);
  if (o.label !== undefined && typeof o.label !== "string") {
    throw new TypeError(
      `Cannot ${op}: 'label' must be a string, got ${formatTerm(o.label)}`,
    );
  }
  return [{
    consumer: consumer as string,
    tableName: (o.tableName ?? consumer) as string,
    tableOptions: { ...t } as TableOptions,
    timeout: o.timeout === undefined
      ? DEFAULTS.timeout
      : checkTimeout(op, o.timeout),
    onTimeout: o.onTimeout === undefined
      ? DEFAULTS.onTimeout
      : checkOneOf(op, "onTimeout", o.onTimeout, new Set(["wait", "stop"])),
    onLost: o.onLost === undefined
      ? DEFAULTS.onLost
      : checkOneOf(op, "onLost", o.onLost, new Set(["fail", "recreate"])),
    gift: o.gift,
  }, {
    ...(o.name !== undefined && { name: o.name as string }),
    ...(o.signal !== undefined && { signal: o.signal as AbortSignal }),
    ...(o.label !== undefined && { label: o.label as string }),
  }];
}

// ------------------------------------------------------------------ API --

/**
 * Starts a table manager, not linked to the caller: it creates the table
 * (named `tableName`, by default the consumer's name) with itself as heir,
 * or re-adopts the one its crashed predecessor left with the consumer, and
 * gives it to the process registered as `consumer` as soon as there is one.
 * Resolves once the table exists, without waiting for the consumer.
 *
 * @param consumer the registered name of the process to give the table to.
 * @param tableOptions `type`, `access`, `keyPos`, `named`, as for
 *   `ets.create` (not `heir`).
 * @param options `name`, `tableName`, `timeout`, `onTimeout`, `onLost`,
 *   `gift`.
 * @returns the manager's pid.
 * @throws {StartError} (rejects) with reason `["already_managed", pid]` (a
 *   live manager has this table), `["table_lost", tableName]` (see the module
 *   docs), or the `EtsError` of creating the table (a named table that
 *   exists).
 * @throws {TypeError} (rejects) for a malformed argument or option (and for
 *   a `heir` table option).
 * @throws {RangeError} (rejects) for a negative `timeout` or `keyPos`.
 *
 * @example
 * ```ts
 * import { start, stop } from "@steward/steward/table-manager";
 * import { receive, register, self, unregister } from "@steward/steward/process";
 * import type { Table } from "@steward/steward/ets";
 *
 * register("cache", self()); // this process is the consumer
 * const manager = await start("cache", { access: "public" });
 * const [tag, table, from] = await receive() as [string, Table, unknown];
 * console.assert(tag === "ETS-TRANSFER" && from === manager);
 * console.assert(table.info()!.owner === self() && table.info()!.heir === manager);
 * await stop(manager); // we keep the table, without an heir
 * table.destroy();
 * unregister("cache");
 * ```
 */
export function start(
  consumer: string,
  tableOptions?: TableOptions,
  options?: TableManagerOptions,
): Promise<Pid> {
  try {
    const [arg, opts] = initArg("start", consumer, tableOptions, options);
    return startServer(manager, arg, opts);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like {@linkcode start}, but linked to the caller (a supervisor): the
 * manager stops when its parent exits.
 *
 * @param consumer the registered name of the process to give the table to.
 * @param tableOptions as for {@linkcode start}.
 * @param options as for {@linkcode start}.
 * @returns the manager's pid.
 * @throws {StartError} (rejects) as {@linkcode start}.
 * @throws {TypeError} (rejects) as {@linkcode start}.
 * @throws {RangeError} (rejects) as {@linkcode start}.
 *
 * @example
 * ```ts
 * import { startLink, stop } from "@steward/steward/table-manager";
 * import { processInfo, self } from "@steward/steward/process";
 * const manager = await startLink("linked_consumer", { type: "bag" }, {
 *   timeout: Infinity,
 * });
 * console.assert(processInfo(self())!.links.includes(manager));
 * await stop(manager);
 * ```
 */
export function startLink(
  consumer: string,
  tableOptions?: TableOptions,
  options?: TableManagerOptions,
): Promise<Pid> {
  try {
    const [arg, opts] = initArg("startLink", consumer, tableOptions, options);
    return startLinkServer(manager, arg, opts);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The manager's table (the same one across every hand-off). Answered at
 * once, also while the manager waits for its consumer.
 *
 * @param manager the manager's pid or registered name.
 * @param options the call's `timeout` (default 5000 ms).
 * @returns the table.
 * @throws {CallError} (rejects) if the manager is not alive, or times out.
 *
 * @example
 * ```ts
 * import { start, stop, table } from "@steward/steward/table-manager";
 * const manager = await start("absent", { access: "public" }, {
 *   tableName: "prices",
 *   timeout: Infinity,
 * });
 * const prices = await table(manager);
 * prices.insert(["tea", 3]); // public: anyone writes, even while waiting
 * console.assert(prices.info()!.name === "prices");
 * await stop(manager);
 * ```
 */
export function table(manager: Dest, options?: CallOptions): Promise<Table> {
  return call<Table>(manager, GET_TABLE, options);
}

/**
 * A snapshot of a manager: where the table is, who owns it, how many
 * hand-offs, since when it waits.
 *
 * @param manager the manager's pid or registered name.
 * @param options the call's `timeout` (default 5000 ms).
 * @returns the status.
 * @throws {CallError} (rejects) if the manager is not alive, or times out.
 *
 * @example
 * ```ts
 * import { start, status, stop } from "@steward/steward/table-manager";
 * const manager = await start("late", {}, { timeout: Infinity });
 * const s = await status(manager);
 * console.assert(s.phase === "waiting" && s.owner === manager);
 * console.assert(s.handOffs === 0 && s.consumer === "late");
 * await stop(manager);
 * ```
 */
export function status(
  manager: Dest,
  options?: CallOptions,
): Promise<TableManagerStatus> {
  return call<TableManagerStatus>(manager, GET_STATUS, options);
}

/**
 * Stops a manager (reason `"normal"`) and waits until it has exited. The
 * consumer keeps a table it holds (a manager started later re-adopts it); a
 * table the manager holds goes with it. Disposing the pid (`await using`)
 * does the same with reason `"shutdown"`.
 *
 * @param manager the manager's pid or registered name.
 * @param options the `timeout` to wait (default Infinity).
 * @returns when the manager has exited.
 * @throws {CallError} (rejects) as `GenServer.stop` (`"noproc"`...).
 *
 * @example
 * ```ts
 * import { start, stop, table } from "@steward/steward/table-manager";
 * import { isAlive } from "@steward/steward/process";
 * const manager = await start("gone_soon", {}, { timeout: Infinity });
 * const t = await table(manager);
 * await stop(manager);
 * console.assert(!isAlive(manager) && t.info() === undefined);
 * ```
 */
export function stop(manager: Dest, options?: StopOptions): Promise<void> {
  return stopServer(manager, "normal", options);
}

// --------------------------------------------------------------- errors --

/**
 * Why a request to a table manager or a ghost failed: `"unknown_request"`,
 * a bare `GenServer.call` of a request it does not know (the server lives on).
 */
export type TableManagerErrorCode = "unknown_request";

/**
 * A request a table manager or a ghost refused: a bare `GenServer.call` of
 * a request it does not know rejects with this error (`code`
 * `"unknown_request"`; a supervisor, a director and a tracker answer the
 * same, with their own classes), and the server lives on.
 *
 * @example
 * ```ts
 * import * as TableManager from "@steward/steward/table-manager";
 * import { call } from "@steward/steward/gen-server";
 * const m = await TableManager.start("nobody_yet", {}, { timeout: Infinity });
 * const err: unknown = await call(m, "bogus").catch((e) => e);
 * if (!(err instanceof TableManager.TableManagerError)) throw err;
 * console.assert(err.code === "unknown_request" && err.request === "bogus");
 * await TableManager.stop(m);
 * ```
 */
export class TableManagerError extends Error {
  /** `"TableManagerError"`. */
  override name = "TableManagerError";
  /** Why the request failed. */
  readonly code: TableManagerErrorCode;
  /** The request. */
  readonly request: unknown;

  /**
   * Creates the error.
   *
   * @param code why the request failed.
   * @param request the request.
   * @param message the full message, in the one form: `Cannot call table
   *   manager <0.12.0>: unknown request "bogus" (...)`.
   */
  constructor(code: TableManagerErrorCode, request: unknown, message: string) {
    super(message);
    this.code = code;
    this.request = request;
  }
}

/** The reply to a request `kind` at `pid` does not know: a rejection. */
function unknownRequest(kind: string, pid: Pid, request: unknown): Failure {
  return new Failure(
    new TableManagerError(
      "unknown_request",
      request,
      unknownRequestMessage(`${kind} ${formatTerm(pid)}`, request),
    ),
  );
}

// --------------------------------------------------------------- ghosts --

/** Options of {@linkcode startGhost}. */
export interface GhostOptions<T> {
  /** Computes the ghost's first value (in the ghost). @default {() => undefined} */
  init?: () => T;
  /** Register the ghost under this name. */
  name?: string;
  /**
   * Abandons the start when it aborts: the start rejects with the signal's
   * `reason` and the half-started ghost is killed (as gen_server's start).
   */
  signal?: AbortSignal;
}

const UPDATE = Symbol("update");
const CANCEL = Symbol("cancel");

interface GhostState {
  readonly proc: Proc;
  readonly target: Pid;
  readonly ref: Ref;
  readonly timeout: number;
  value: unknown;
  /** The pending expiry, once the target is down. */
  timer: Alarm | null;
}

interface GhostArg {
  target: Pid;
  timeout: number;
  init: (() => unknown) | undefined;
}

const ghost: GenServer<GhostState, GhostArg> = {
  init({ target, timeout, init }) {
    const proc = currentProc();
    const s: GhostState = {
      proc,
      target,
      // A dead target gives a DOWN "noproc" at once: the expiry starts.
      ref: monitor(target),
      timeout,
      value: init === undefined ? undefined : init(),
      timer: null,
    };
    addResource(proc, () => {
      if (s.timer !== null) cancelTimeout(s.timer);
    });
    return ["ok", s];
  },

  handleCall(request, _from, s) {
    const parts = partsOf(request, 2);
    if (parts !== undefined && parts[0] === UPDATE) {
      try {
        s.value = (parts[1] as (v: unknown) => unknown)(s.value);
      } catch (error) {
        return ["reply", { threw: error }, s];
      }
      return ["reply", { value: s.value }, s];
    }
    if (request === CANCEL) {
      const pending = s.timer !== null;
      if (s.timer !== null) cancelTimeout(s.timer);
      s.timer = null;
      return ["reply", pending, s];
    }
    return ["reply", unknownRequest("ghost", s.proc.pid, request), s];
  },

  handleInfo(msg, s) {
    const down = partsOf(msg, 2);
    if (down !== undefined && down[0] === "DOWN" && down[1] === s.ref) {
      if (s.timeout === 0) return ["stop", "normal", s];
      if (s.timeout === Infinity) return ["noreply", s]; // until stopped
      s.timer = new Alarm(s.proc);
      startTimeout(s.timer, s.timeout);
      return ["noreply", s];
    }
    if (rang(msg, s.timer)) {
      s.timer = null;
      return ["stop", "normal", s];
    }
    return ["noreply", s];
  },
};

/**
 * Starts a ghost of `target` (Immortal's `Ghost.start`): a process, not
 * linked to the caller, that holds a value and lives until `timeout` ms after
 * `target` exits, then exits with reason `"normal"`. A dead `target` starts
 * the countdown at once.
 *
 * @param target the process the ghost outlives.
 * @param timeout milliseconds the ghost lives after `target` exits (on the
 *   current clock; `Infinity`: until it is stopped).
 * @param options `init`, computing the first value in the ghost; `name`;
 *   `signal`, abandoning the start.
 * @returns the ghost's pid.
 * @throws {StartError} (rejects) if `init` throws (its reason), or the name
 *   is taken.
 * @throws {TypeError} (rejects) for a malformed argument.
 * @throws {RangeError} (rejects) for a negative `timeout`.
 *
 * @example
 * ```ts
 * import { startGhost, updateGhost } from "@steward/steward/table-manager";
 * import { exit, isAlive, spawn } from "@steward/steward/process";
 * const target = spawn(async () => { await new Promise(() => {}); });
 * const g = await startGhost(target, 5, { init: () => "hello" });
 * console.assert(await updateGhost<string>(g, (v) => v + " world") === "hello world");
 * exit(target, "kill");
 * await new Promise((r) => setTimeout(r, 30));
 * console.assert(!isAlive(g));
 * ```
 */
export function startGhost<T>(
  target: Pid,
  timeout: number,
  options?: GhostOptions<T>,
): Promise<Pid> {
  const op = "startGhost";
  try {
    if (!(target instanceof Pid)) {
      throw new TypeError(
        `Cannot ${op}: 'target' must be a Pid, got ${formatTerm(target)}`,
      );
    }
    checkTimeout(op, timeout);
    checkObject(op, "options", options);
    if (options !== undefined) refuseUnknown(op, options, GHOST_OPTION_KEYS);
    const init = options?.init;
    if (init !== undefined && typeof init !== "function") {
      throw new TypeError(
        `Cannot ${op}: 'init' must be a function, got ${formatTerm(init)}`,
      );
    }
    const name = options?.name;
    if (name !== undefined) checkName(op, "name", name);
    const signal = options?.signal;
    return startServer(
      ghost,
      { target, timeout, init },
      {
        ...(name !== undefined && { name }),
        ...(signal !== undefined && { signal }),
      },
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Replaces a ghost's value with `fn(value)`, computed in the ghost
 * (Immortal's `Ghost.update`). If `fn` throws, the value stays and the
 * update rejects with what it threw; the ghost lives on.
 *
 * @param ghost the ghost's pid or name.
 * @param fn computes the new value from the old one.
 * @param options the call's `timeout` (default 5000 ms).
 * @returns the new value.
 * @throws {CallError} (rejects) if the ghost is not alive.
 * @throws {TypeError} (rejects) if `fn` is not a function.
 *
 * @example
 * ```ts
 * import { cancelGhost, startGhost, updateGhost } from "@steward/steward/table-manager";
 * import { stop } from "@steward/steward/gen-server";
 * import { self } from "@steward/steward/process";
 * const g = await startGhost(self(), 1000, { init: () => 1 });
 * console.assert(await updateGhost<number>(g, (n) => n + 1) === 2);
 * console.assert(await updateGhost<number>(g, (n) => n) === 2); // a read
 * console.assert(await cancelGhost(g) === false); // main is alive: nothing pending
 * await stop(g);
 * ```
 */
export async function updateGhost<T>(
  ghost: Dest,
  fn: (value: T) => T,
  options?: CallOptions,
): Promise<T> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot updateGhost: 'fn' must be a function, got ${formatTerm(fn)}`,
    );
  }
  const r = await call<{ value: T } | { threw: unknown }>(
    ghost,
    [UPDATE, fn],
    options,
  );
  if ("threw" in r) throw r.threw;
  return r.value;
}

/**
 * Cancels a ghost's pending expiry (Immortal cannot): it then lives until it
 * is stopped (`GenServer.stop`, or disposing its pid).
 *
 * @param ghost the ghost's pid or name.
 * @param options the call's `timeout` (default 5000 ms).
 * @returns whether an expiry was pending (its target had exited).
 * @throws {CallError} (rejects) if the ghost is not alive.
 *
 * @example
 * ```ts
 * import { cancelGhost, startGhost } from "@steward/steward/table-manager";
 * import { exit, isAlive, spawn } from "@steward/steward/process";
 * const target = spawn(async () => { await new Promise(() => {}); });
 * await using g = await startGhost(target, 60_000);
 * exit(target, "kill");
 * await new Promise((r) => setTimeout(r, 0));
 * console.assert(await cancelGhost(g) === true);
 * console.assert(isAlive(g)); // until disposed at the end of the scope
 * ```
 */
export function cancelGhost(
  ghost: Dest,
  options?: CallOptions,
): Promise<boolean> {
  return call<boolean>(ghost, CANCEL, options);
}
