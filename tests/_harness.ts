// `describe` and `test` for every runtime. Node and Bun get node:test's. Deno
// gets `Deno.test` with the op and resource sanitizers on: its node:test shim
// registers tests with the sanitizers off, and we want a test that leaves a
// timer behind to fail. `describe` only prefixes names there ("group > test").
import * as nodeTest from "node:test";

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
    nodeTest.test(name, fn);
    return;
  }
  deno.test({
    name: [...prefix, name].join(" > "),
    fn,
    sanitizeOps: true,
    sanitizeResources: true,
  });
}
