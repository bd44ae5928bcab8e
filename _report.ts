// Where the runtime reports an error nobody can catch: a resource hook or a
// timeout's expiry that threw, an event listener that threw. One function, so
// the library logger can take these over later.
//
// Reporting must never become a second failure: the error may be any value
// (a Proxy whose traps throw, an object whose `toString` throws, a cycle), so
// it is described with formatTerm (never throws, calls no user code it can
// avoid) and never rethrown; rethrowing on a microtask would end a Node or Bun
// process for a value merely being hostile.
import { formatTerm } from "./_format.ts";

/**
 * Reports `error`, thrown where nobody can catch it, on the console.
 * `context` says where (e.g. "a table's resource hook threw"). Never throws.
 */
export function reportInternalError(context: string, error: unknown): void {
  let text = `Steward: ${context}: ${formatTerm(error)}`;
  const stack = stackOf(error);
  if (stack !== undefined) text += `\n${stack}`;
  try {
    console.error(text);
  } catch {
    // A console that throws: nowhere left to report to.
  }
}

// Some engines (V8 in Deno) keep an error's stack behind a built-in
// accessor: that one may be called, a user-defined getter is not.
const nativeStackGetter = Object.getOwnPropertyDescriptor(new Error(), "stack")
  ?.get;

/** An Error's own stack, as a string, if it is safely readable. */
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
