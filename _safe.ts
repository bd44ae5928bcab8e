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
 * Whether `reason` is a `{ shutdown: detail }` exit reason (OTP's
 * `{shutdown, Detail}`): false for non-objects and for a value whose `in`
 * check throws.
 */
export function isShutdownTuple(reason: unknown): boolean {
  if (reason === null || typeof reason !== "object") return false;
  try {
    return "shutdown" in reason;
  } catch {
    return false;
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
