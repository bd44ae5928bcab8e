// Checks on user values that never throw. The machinery inspects values it
// does not own (exit reasons, messages, callback results) on paths that must
// not fail: a death, a restart decision, a server's dispatch. Any of those
// values may be a Proxy whose traps throw (`in`, `instanceof`, property reads
// all run traps) or an object with a throwing getter; these helpers answer
// "no" for such a value instead of throwing.

/**
 * The `then` method of a thenable, read once, or null: for a non-object, a
 * `then` that is not a function, or one that cannot be read.
 */
export function thenOf(
  value: unknown,
): PromiseLike<unknown>["then"] | null {
  if (
    value === null || (typeof value !== "object" && typeof value !== "function")
  ) return null;
  try {
    const then = (value as PromiseLike<unknown>).then;
    return typeof then === "function" ? then : null;
  } catch {
    return null;
  }
}

/** `value instanceof C`, false when the check throws (a Proxy's trap). */
export function isInstance<T>(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  C: abstract new (...args: any[]) => T,
): value is T {
  if (value === null || typeof value !== "object") return false;
  try {
    return value instanceof C;
  } catch {
    return false;
  }
}

/**
 * Whether an exit reason is a clean one, as OTP counts it: `"normal"`,
 * `"shutdown"`, or the tuple `["shutdown", detail]` (OTP's
 * `{shutdown, Detail}`: an array of exactly two elements whose first is
 * `"shutdown"`). Nothing else is: not `["shutdown"]`, not an object with a
 * `shutdown` key. The one definition the library uses wherever it matters:
 * a transient child is not restarted, no crash is reported, a table
 * manager's consumer stopped on purpose, an application exits with code 0.
 * A hostile reason (a Proxy whose traps throw, a revoked Proxy) is not
 * clean, and the check never throws.
 */
export function isCleanExit(reason: unknown): boolean {
  if (reason === "normal" || reason === "shutdown") return true;
  if (reason === null || typeof reason !== "object") return false;
  try {
    return Array.isArray(reason) && reason.length === 2 &&
      reason[0] === "shutdown";
  } catch {
    return false; // a Proxy whose trap throws, a revoked Proxy: not clean
  }
}

/**
 * `{ cause: reason }` if `reason` is an Error, for an error class's options;
 * undefined otherwise, and when the check throws (a Proxy's trap).
 */
export function causeOf(reason: unknown): ErrorOptions | undefined {
  return isInstance(reason, Error) ? { cause: reason } : undefined;
}

/**
 * The first `n` elements of `value` if it is an array, copied into a real
 * array; undefined if it is not an array or reading it throws. For servers
 * that take requests and messages apart (`[op, arg]`, `["EXIT", from,
 * reason]`): a value they cannot read is not theirs.
 */
export function partsOf(value: unknown, n: number): unknown[] | undefined {
  try {
    if (!Array.isArray(value)) return undefined;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = value[i];
    return out;
  } catch {
    return undefined;
  }
}

/**
 * The `[from, reason]` of an `["EXIT", from, reason]` message, or undefined
 * (also when reading the message throws).
 */
export function exitMessage(msg: unknown): [unknown, unknown] | undefined {
  try {
    if (Array.isArray(msg) && msg.length === 3 && msg[0] === "EXIT") {
      return [msg[1], msg[2]];
    }
  } catch {
    // Not a message the runtime sent.
  }
  return undefined;
}
