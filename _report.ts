// Where the runtime reports an error nobody can catch: a resource hook or a
// timeout's expiry that threw, an event listener that threw. One function, so
// they all go through the library logger (kind internal_error).
//
// Reporting must never become a second failure: the error may be any value
// (a Proxy whose traps throw, an object whose `toString` throws, a cycle), so
// it is described with formatTerm (never throws, calls no user code it can
// avoid) and never rethrown; rethrowing on a microtask would end a Node or Bun
// process for a value merely being hostile.
import { log } from "./_logger.ts";

/**
 * Reports `error`, thrown where nobody can catch it, through the library
 * logger (kind `internal_error`). `context` says where (e.g. "a table's
 * resource hook threw"). Never throws.
 */
export function reportInternalError(context: string, error: unknown): void {
  log({
    level: "error",
    kind: "internal_error",
    time: Date.now(),
    source: "runtime",
    message: context,
    reason: error,
  });
}
