// `describe` and `test` for every runtime. Node and Bun get node:test's. Deno
// gets `Deno.test` with the op and resource sanitizers on: its node:test shim
// registers tests with the sanitizers off, and we want a test that leaves a
// timer behind to fail. `describe` only prefixes names there ("group > test").
//
// The library reports crashes on the console by default (logger.ts), and
// many tests crash processes on purpose: the run stays quiet because every
// test's reports are captured (at the default level) and written only if
// the test fails, where they help; between tests the logger is silenced.
import * as nodeTest from "node:test";
import { captureReports, formatReport, setLogger } from "../logger.ts";

type Fn = () => void | Promise<void>;

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno as
  | {
    test(
      def: {
        name: string;
        fn: Fn;
        sanitizeOps: boolean;
        sanitizeResources: boolean;
      },
    ): void;
  }
  | undefined;
const prefix: string[] = [];

setLogger(null);

/** Runs `fn` with its reports captured; prints them if it fails. */
function quiet(fn: Fn): () => Promise<void> {
  return async () => {
    const captured = captureReports("notice");
    try {
      await fn();
    } catch (error) {
      if (captured.reports.length > 0) {
        console.error(
          `Reports during the failed test:\n${
            captured.reports.map(formatReport).join("\n")
          }`,
        );
      }
      throw error;
    } finally {
      captured.restore();
    }
  };
}

/** Groups tests under a name. */
export function describe(name: string, body: () => void): void {
  if (deno === undefined) {
    nodeTest.describe(name, body);
    return;
  }
  prefix.push(name);
  try {
    body();
  } finally {
    prefix.pop();
  }
}

/** One test. */
export function test(name: string, fn: Fn): void {
  if (deno === undefined) {
    nodeTest.test(name, quiet(fn));
    return;
  }
  deno.test({
    name: [...prefix, name].join(" > "),
    fn: quiet(fn),
    sanitizeOps: true,
    sanitizeResources: true,
  });
}
