// The tracker's server loop and caller side (tracker.ts is the public face:
// docs, argument checks, the functions; _tracker_spec.ts checks specs and
// options; _tracker_state.ts holds the state and the children's lives):
// the gen_server behaviour, the requests, findOrOpen's waits.

import { checkOptionsObject } from "./_options.ts";
import {
  addResource,
  currentProc,
  linkProcs,
  type Pid,
  procOf,
  startTimeoutAfterBurst,
  watch,
} from "./_runtime.ts";
import { TimedWait } from "./_timers.ts";
import { pendingOf, restartAt } from "./_restart.ts";
import {
  Failure,
  request as call,
  requestOf,
  unknownRequestWhy,
} from "./_request.ts";
import { getClock } from "./clock.ts";
import { formatTerm } from "./_format.ts";
import { NoProcError, TimeoutError } from "./errors.ts";
import * as genServer from "./gen_server.ts";
import * as ets from "./ets.ts";
import type { Dest } from "./process.ts";
import type {
  Attrs,
  ChildCounts,
  ChildInfo,
  ChildSpec,
  FindOrOpenOptions,
} from "./tracker.ts";
import {
  checkId,
  checkSignal,
  checkTimeout,
  type FullSpec,
  normaliseOptions,
  normaliseSpec,
  type Options,
  TrackerError,
  WAIT_OPTION_KEYS,
} from "./_tracker_spec.ts";
import {
  byTrackerPid,
  Done,
  type Entry,
  Exited,
  moveStatus,
  Open,
  registry,
  resolve,
  setPid,
  type Step,
  STOP,
  Trk,
} from "./_tracker_state.ts";
import { isInstance } from "./_safe.ts";
import { formatStatus, observeTracker } from "./_system_hooks.ts";

// ----------------------------------------------------------- the server --

/** Cast by a findOrOpen that gave up (timeout, abort). */
class Cancel {
  constructor(readonly open: Open) {}
}

/** The reply to a cancelled findOrOpen (ends its call; nobody sees it). */
const CANCELLED = Symbol("cancelled");

type Request =
  | readonly ["terminateChild", unknown]
  | readonly ["deleteChild", unknown]
  | readonly ["restartChild", unknown]
  | readonly ["addExistingChild", unknown, FullSpec, Pid]
  | readonly ["whichChildren"]
  | readonly ["countChildren"]
  | readonly ["wait"]
  | readonly ["startChild", unknown]
  | readonly ["getChildspec", unknown];

type CallReturn = genServer.CallResult<Trk>;

function reply(value: unknown, trk: Trk): CallReturn {
  return ["reply", value, trk];
}

function stepResult(step: Step, trk: Trk): genServer.NoReplyResult<Trk> {
  return step === STOP ? ["stop", "shutdown", trk] : ["noreply", trk];
}

function addWaiter(e: Entry, from: genServer.From, w: Open): void {
  w.from = from;
  if (e.waiters === null) e.waiters = [w];
  else e.waiters.push(w);
}

function openIn(trk: Trk, req: Open, from: genServer.From): CallReturn {
  const spec = req.spec;
  const e = trk.index.get(req.id);
  if (e === undefined) {
    let created: Entry;
    try {
      created = trk.newEntry(req.id, spec);
    } catch (error) {
      // An id too deep to copy (RangeError: stack overflow): the caller's
      // failure, not the tracker's.
      return reply(new Failure(error as Error), trk);
    }
    addWaiter(created, from, req);
    trk.launch(created, spec, "new");
    return ["noreply", trk];
  }
  switch (e.status) {
    case "running":
      if (!procOf(e.pid!).dead) return reply(e.pid, trk);
      // Dead, its exit not taken yet: wait, as for a terminating child
      // (never answer a dead pid; see liveHit).
      e.next ??= spec;
      addWaiter(e, from, req);
      break;
    case "stopped":
      addWaiter(e, from, req);
      trk.launch(e, e.spec, "start");
      break;
    case "terminating":
      // After its afterTerminate: a fresh child, from the first caller's spec.
      e.next ??= spec;
      addWaiter(e, from, req);
      break;
    default: // launching, restarting: the pid comes when it starts
      addWaiter(e, from, req);
  }
  return ["noreply", trk];
}

function cancelIn(trk: Trk, open: Open): void {
  const e = trk.index.get(open.id);
  const waiters = e?.waiters;
  if (waiters == null) return;
  const i = waiters.indexOf(open);
  if (i < 0) return;
  const [w] = waiters.splice(i, 1);
  if (waiters.length === 0) e!.waiters = null;
  genServer.reply(w.from!, CANCELLED);
}

/** The Failure of a request a tracker does not answer. */
function notSupported(
  trk: Trk,
  op: unknown,
  child: unknown,
  hint: string,
): Failure {
  return new Failure(
    new TrackerError(
      typeof op === "string" ? op : "call",
      trk.name,
      child,
      "not_supported",
      {
        why: `a tracker does not answer ${
          typeof op === "string" ? op : formatTerm(op)
        }${hint === "" ? "" : ` (${hint})`}`,
      },
    ),
  );
}

function notFound(op: string, trk: Trk, id: unknown): Failure {
  return new Failure(new TrackerError(op, trk.name, id, "not_found"));
}

function terminateChildIn(
  trk: Trk,
  id: unknown,
  from: genServer.From,
): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("terminateChild", trk, id), trk);
  switch (e.status) {
    case "running":
      (e.stoppers ??= []).push(from);
      trk.terminateRunning(e);
      return ["noreply", trk];
    case "launching": // stopped once it has started
    case "terminating": // answered once it is done
      (e.stoppers ??= []).push(from);
      return ["noreply", trk];
    case "restarting":
      trk.cancelTimer(e);
      if (e.waiters !== null) trk.launch(e, e.spec, "start");
      else trk.toStopped(e);
      return reply(undefined, trk);
    case "stopped":
      return reply(undefined, trk);
  }
}

function deleteChildIn(trk: Trk, id: unknown): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("deleteChild", trk, id), trk);
  if (e.status !== "stopped" && e.status !== "restarting") {
    return reply(
      trk.failure("deleteChild", e, "running", { status: e.status }),
      trk,
    );
  }
  trk.answer(e, trk.failure("findOrOpen", e, "not_found"));
  trk.remove(e);
  return reply(undefined, trk);
}

function restartChildIn(
  trk: Trk,
  id: unknown,
  from: genServer.From,
): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("restartChild", trk, id), trk);
  switch (e.status) {
    case "stopped":
      addWaiter(e, from, new Open(e.id, e.spec, true));
      trk.launch(e, e.spec, "start");
      return ["noreply", trk];
    case "restarting":
      // Now, not when its timer says.
      trk.cancelTimer(e);
      addWaiter(e, from, new Open(e.id, e.spec, true));
      trk.launch(e, e.spec, "restart");
      return ["noreply", trk];
    default:
      return reply(
        trk.failure("restartChild", e, "running", { status: e.status }),
        trk,
      );
  }
}

function addExistingChildIn(
  trk: Trk,
  id: unknown,
  spec: FullSpec,
  pid: Pid,
): CallReturn {
  const op = "addExistingChild";
  const e = trk.index.get(id);
  if (e !== undefined) {
    return reply(
      e.status === "running"
        ? trk.failure(op, e, "already_started", { pid: e.pid })
        : trk.failure(op, e, "already_present", { status: e.status }),
      trk,
    );
  }
  const proc = procOf(pid);
  if (proc.dead) return reply(new Failure(new NoProcError(op, pid)), trk);
  if (proc === trk.proc) {
    return reply(
      new Failure(new TypeError(`Cannot ${op}: a tracker cannot adopt itself`)),
      trk,
    );
  }
  linkProcs(trk.proc, proc);
  const adopted = trk.newEntry(id, spec);
  moveStatus(adopted, "running");
  setPid(adopted, pid);
  if (trk.options.backoff !== null) adopted.startedAt = getClock().now();
  watch(proc, adopted);
  trk.setRow(adopted, pid);
  trk.emit({ type: "child_adopted", id: adopted.id, pid });
  return reply(pid, trk);
}

function infoOf(e: Entry): ChildInfo {
  const pid = e.status === "running"
    ? e.pid
    : e.status === "stopped"
    ? undefined
    : e.status;
  const info: ChildInfo = {
    id: e.id,
    pid,
    type: e.spec.type,
    modules: e.spec.modules,
  };
  if (e.status === "running" && e.extra !== undefined) {
    return { ...info, extra: e.extra };
  }
  const at = restartAt(e.pending);
  return at !== undefined ? { ...info, restartAt: at } : info;
}

/** whichChildren's rows, newest first (read by the caller, no message). */
export function whichChildrenIn(trk: Trk): ChildInfo[] {
  const out: ChildInfo[] = [];
  for (const e of trk.entries) out.push(infoOf(e));
  return out.reverse(); // newest first, as OTP
}

/** countChildren's counts (read by the caller, no message). */
export function countChildrenIn(trk: Trk): ChildCounts {
  let active = 0, supervisors = 0;
  for (const e of trk.entries) {
    if (e.status === "running") active++;
    if (e.spec.type === "supervisor") supervisors++;
  }
  const specs = trk.entries.size;
  return { specs, active, supervisors, workers: specs - supervisors };
}

const behaviour: genServer.GenServer<Trk, readonly [string, Options]> = {
  formatStatus,
  init([name, options]) {
    const proc = currentProc();
    proc.trapExit = true;
    const made: { trk: Trk | null } = { trk: null };
    // Registered before the tables are created, so it runs before they are
    // destroyed (resource hooks run in order).
    addResource(proc, () => made.trk?.died());
    let children: ets.Table, attrs: ets.Table;
    try {
      children = ets.create(name, { named: true, access: "protected" });
      attrs = ets.create(`${name}_attrs`, { named: true, access: "protected" });
    } catch (error) {
      return ["stop", error];
    }
    const trk = made.trk = new Trk(name, proc, options, children, attrs);
    observeTracker(proc, trk);
    registry.set(name, trk);
    byTrackerPid.set(proc.pid, trk);
    return ["ok", trk];
  },

  handleCall(request, from, trk) {
    if (isInstance(request, Open)) return openIn(trk, request, from);
    // Taken apart safely: a bare call (not this library's envelope) or a
    // hostile request is refused (a Failure: the call rejects), and the tracker
    // lives on (gen_tracker stopped with {unknown_call, C}).
    const parts = requestOf(request, 4);
    if (parts !== undefined) {
      const r = parts as unknown as Request;
      switch (r[0]) {
        case "terminateChild":
          return terminateChildIn(trk, r[1], from);
        case "deleteChild":
          return deleteChildIn(trk, r[1]);
        case "restartChild":
          return restartChildIn(trk, r[1], from);
        case "addExistingChild":
          return addExistingChildIn(trk, r[1], r[2], r[3]);
        case "whichChildren":
          return reply(whichChildrenIn(trk), trk);
        case "countChildren":
          return reply(countChildrenIn(trk), trk);
        case "wait":
          return reply(undefined, trk);
        case "startChild":
          return reply(notSupported(trk, r[0], r[1], "use findOrOpen"), trk);
        case "getChildspec":
          return reply(
            notSupported(trk, r[0], r[1], "read the children table"),
            trk,
          );
      }
      // Any other request in the envelope (none of the library sends one).
      return reply(notSupported(trk, r[0], r[1], ""), trk);
    }
    return reply(
      new Failure(
        new TrackerError("call", trk.name, request, "unknown_request", {
          why: unknownRequestWhy(request),
        }),
      ),
      trk,
    );
  },

  handleCast(message, trk) {
    if (isInstance(message, Cancel)) cancelIn(trk, message.open);
    return ["noreply", trk]; // anything else: dropped, the tracker lives on
  },

  handleInfo(msg, trk) {
    // Any process may send a tracker anything: checks that run no user code.
    if (isInstance(msg, Exited)) {
      const e = msg.entry;
      // Not this child's any more (terminated, restarted): dropped.
      if (e.pid !== msg.pid || !trk.entries.has(e)) return ["noreply", trk];
      trk.emit({
        type: "child_exited",
        id: e.id,
        pid: msg.pid,
        reason: msg.reason,
      }, e.spec);
      return stepResult(trk.ending(e, msg.reason, "exit", true), trk);
    }
    if (isInstance(msg, Done)) {
      const e = msg.entry;
      if (!trk.entries.has(e) || e.status !== "terminating") {
        return ["noreply", trk];
      }
      return stepResult(trk.finished(e, msg.reason, msg.how), trk);
    }
    const pending = pendingOf(msg);
    if (pending !== undefined) {
      // A delayed restart is due, or a failed one is to be tried again.
      const e = pending.child as Entry;
      if (e.pending !== pending) return ["noreply", trk]; // cancelled
      e.pending = null;
      return stepResult(trk.tryAgain(e), trk);
    }
    return ["noreply", trk]; // not ours: dropped
  },

  terminate(reason, trk) {
    return trk.terminateAll().then(() => {
      trk.emit({ type: "tracker_stopped", reason });
    });
  },
};

// -------------------------------------------------------- caller side --

export function startTracker(
  op: string,
  name: unknown,
  options: unknown,
  link: boolean,
): Promise<Pid> {
  try {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot ${op} tracker: 'name' must be a non-empty string, got ${
          formatTerm(name)
        }`,
      );
    }
    const opts = normaliseOptions(op, options);
    const startFn = link ? genServer.startLink : genServer.start;
    const { signal, label } = (options ?? {}) as {
      signal?: AbortSignal;
      label?: string;
    };
    return startFn(behaviour, [name, opts] as const, {
      name,
      ...(signal !== undefined && { signal }),
      ...(label !== undefined && { label }),
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A findOrOpen that waits with a timeout or a signal. */
class OpenWait extends TimedWait {
  constructor(
    readonly trk: Trk,
    readonly open: Open,
    readonly timeout: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (pid: Pid) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
    this.listen(signal, (reason) => this.giveUp(reason));
    // Lazily: an open answered in this burst never touches the clock.
    if (timeout !== Infinity) startTimeoutAfterBurst(this, timeout);
  }

  settle(r: unknown): void {
    if (this.end()) this.resolve(r as Pid);
  }

  fail(error: unknown): void {
    if (this.end()) this.reject(error);
  }

  giveUp(error: unknown): void {
    if (!this.end()) return;
    // The tracker forgets the waiter and ends its call.
    genServer.cast(this.trk.pid, new Cancel(this.open));
    this.reject(error);
  }

  expire(): void {
    this.giveUp(
      new TimeoutError(
        `Cannot findOrOpen child ${formatTerm(this.open.id)} of tracker ${
          JSON.stringify(this.trk.name)
        }: it was not running within ${this.timeout} ms`,
        this.timeout,
      ),
    );
  }
}

/**
 * findOrOpen's answer without a message: the promise of `e`'s pid, shared
 * by every hit, if its child runs and is alive; else undefined (ask the
 * tracker). A child killed a moment ago still has its pid here until the
 * tracker takes its exit message: its pid is never the answer. The tracker
 * (openIn) then makes the caller wait for the child's end and a new child,
 * as it does for a terminating one. With or without options, findOrOpen
 * goes through here: one answer.
 */
export function liveHit(e: Entry): Promise<Pid> | undefined {
  const pid = e.pid;
  if (pid === undefined || procOf(pid).dead) return undefined;
  return e.found ??= Promise.resolve(pid);
}

/**
 * findOrOpen past its hot path: `t` and `e` are what it found (t undefined:
 * not found yet; e undefined: not looked up, or no such child).
 */
export function open(
  tracker: Dest,
  t: Trk | undefined,
  e: Entry | undefined,
  spec: ChildSpec,
  options: FindOrOpenOptions | undefined,
): Promise<Pid> {
  const op = "findOrOpen";
  let timeout = Infinity;
  let signal: AbortSignal | undefined;
  try {
    if (t === undefined) {
      t = resolve(op, tracker);
      if (spec !== null && typeof spec === "object") e = t.index.get(spec.id);
    }
    checkOptionsObject(op, options, WAIT_OPTION_KEYS);
    if (options?.timeout !== undefined) {
      timeout = checkTimeout(op, options.timeout);
    }
    signal = checkSignal(op, options?.signal);
  } catch (error) {
    return Promise.reject(error);
  }
  const hit = e === undefined ? undefined : liveHit(e);
  if (hit !== undefined) return hit;
  let full: FullSpec;
  try {
    full = normaliseSpec(spec, false);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const req = new Open((spec as { id: unknown }).id, full);
  // A Failure reply (a tracker's refusal) rejects the call itself.
  const call = genServer.call(t.pid, req, { timeout: Infinity });
  if (timeout === Infinity && signal === undefined) return call as Promise<Pid>;
  const trk = t;
  return new Promise((resolve, reject) => {
    const w = new OpenWait(trk, req, timeout, signal, resolve, reject);
    call.then((r) => w.settle(r), (error) => w.fail(error));
  });
}

/** The entry whose attributes may change, or a TrackerError. */
export function writable(t: Trk, op: string, id: unknown): Entry {
  const e = t.index.get(id);
  if (e === undefined) {
    checkId(op, id);
    throw new TrackerError(op, t.name, id, "not_found");
  }
  if (e.status === "launching") return e;
  if (e.status === "running") {
    if (!procOf(e.pid!).dead) return e;
    throw new TrackerError(op, t.name, id, "not_alive", {
      status: "terminating",
      why: "its process has exited (the child is ending)",
    });
  }
  throw new TrackerError(op, t.name, id, "not_alive", {
    status: e.status,
    why: e.status === "terminating"
      ? "the child is terminating (it has exited; its attributes are read-only until its afterTerminate is done)"
      : `the child is ${e.status} (it has no attributes until it runs again)`,
  });
}

export function pick(
  attrs: Map<string, unknown> | null,
  keys: readonly string[],
) {
  const out: Attrs = {};
  if (attrs === null) return out;
  for (const k of keys) {
    const v = attrs.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export async function request<T>(
  op: string,
  tracker: Dest,
  req: Request,
  options?: { readonly signal?: AbortSignal },
): Promise<T> {
  return await call<T>(resolve(op, tracker).pid, req, options, op);
}
