import { formatTerm } from "./_format.ts";

// Unknown keys in options objects and specs: one check, one message. A typo
// (`intesity`, `tmeout`, `restart_type`) in an options object or a spec
// would otherwise be silently ignored and the default used instead, so every
// options object and spec the library takes is checked against the keys it
// knows. The caller builds its error (a TypeError, or a ChildSpecError for a
// spec) around the message, so the form is the same everywhere:
// `Cannot OP: unknown option "x" (known: a, b, c)`.

/**
 * The first own enumerable key of `value` that is not in `known`, or
 * undefined. Reading the keys of a hostile value (a Proxy whose `ownKeys`
 * trap throws) throws to the caller: such a value is not a valid options
 * object, and the edge reports it there.
 */
export function unknownKey(
  value: object,
  known: readonly string[],
): string | undefined {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) return key;
  }
  return undefined;
}

/**
 * `unknown option "x" (known: a, b, c)` (`what` replaces "option", e.g.
 * "key" for a spec's keys).
 */
export function unknownKeyMessage(
  key: string,
  known: readonly string[],
  what = "option",
): string {
  return `unknown ${what} ${JSON.stringify(key)} (known: ${known.join(", ")})`;
}

/**
 * Throws `TypeError("Cannot OP: unknown option "x" (known: ...)")` if
 * `options` has a key not in `known` (`what` replaces "option").
 * `options` must already be an object.
 */
export function refuseUnknown(
  op: string,
  options: object,
  known: readonly string[],
  what = "option",
): void {
  const key = unknownKey(options, known);
  if (key !== undefined) {
    throw new TypeError(`Cannot ${op}: ${unknownKeyMessage(key, known, what)}`);
  }
}

/**
 * Checks an options argument: undefined, or an object with only `known`
 * keys; returns it. A TypeError otherwise (`'options' must be an object`,
 * or the unknown key with the known ones).
 */
export function checkOptionsObject<T>(
  op: string,
  options: T,
  known: readonly string[],
): T {
  if (options === undefined) return options;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${op}: 'options' must be an object, got ${formatTerm(options)}`,
    );
  }
  refuseUnknown(op, options, known);
  return options;
}
