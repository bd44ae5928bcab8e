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
export function isInstance(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  C: abstract new (...args: any[]) => unknown,
): boolean {
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
