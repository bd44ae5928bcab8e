// Reports what happens outside every process while an application runs: an
// error nobody caught, and the application's own notices (why it stopped).
// Never throws, whatever the value: a getter or toString that throws, a
// Proxy, a cycle. Reports go through the library logger (logger.ts).

import { formatTerm } from "./_format.ts";
import { log } from "./_logger.ts";
import type { UncaughtOrigin } from "./_platform.ts";

/**
 * A readable rendering of any value that never throws: `formatTerm`, else a
 * placeholder.
 */
export function describe(value: unknown): string {
  try {
    return formatTerm(value);
  } catch {
    return "<value that cannot be printed>";
  }
}

/**
 * An error with its stack when it has a readable one (the stack starts with
 * `Name: message`), else {@linkcode describe}.
 */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) {
      const stack = error.stack;
      if (typeof stack === "string" && stack.length > 0) return stack;
    }
  } catch {
    // a Proxy or a throwing getter: fall through to the safe rendering
  }
  return describe(error);
}

/**
 * Reports what happened to an application through the library logger
 * (kind `"application"`); never throws.
 */
export function report(
  name: string,
  message: string,
  level: "error" | "notice" = "error",
): void {
  log({
    level,
    kind: "application",
    time: Date.now(),
    source: "application",
    name,
    message,
  });
}

/**
 * Reports an error thrown outside every process that nothing caught: an
 * exception (a raw timer callback, top-level code) or an unhandled
 * rejection. The application decides what happens next.
 */
export function reportUncaught(
  error: unknown,
  origin: UncaughtOrigin = "exception",
): void {
  log({
    level: "error",
    kind: "uncaught_error",
    time: Date.now(),
    source: "application",
    reason: error,
    origin,
  });
}
