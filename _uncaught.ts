// Reports what happens outside every process while an application runs: an
// error nobody caught, and the application's own notices (why it stopped).
// Never throws, whatever the value: a getter or toString that throws, a
// Proxy, a cycle. Writes to the console (stderr) for now; the library logger
// (logger.ts) is meant to take over here.

import { formatTerm } from "./_format.ts";
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

/** Writes one report line (or block) to stderr; never throws. */
export function report(text: string): void {
  try {
    console.error(text);
  } catch {
    // nowhere left to say it
  }
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
  report(
    `Steward: ${
      origin === "rejection" ? "unhandled rejection" : "uncaught exception"
    } outside any process: ${describeError(error)}`,
  );
}
