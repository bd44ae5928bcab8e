/**
 * `deno task check`: formatting, lint, type check (all .ts, tests and JSDoc
 * examples included), the docs (scripts/_docs.ts: the README's code blocks
 * type-check, published files cite no file left out of the package), doc
 * lint of every exported module, and a publish dry run (slow types, package
 * contents). Stops at the first failure.
 *
 * @module
 */
import { exportFiles, header, ROOT, run } from "./_util.ts";
import { checkDocs } from "./_docs.ts";

Deno.chdir(ROOT);
const deno = Deno.execPath();
const steps: [string, string[]][] = [
  ["deno fmt --check", ["fmt", "--check"]],
  ["deno lint", ["lint"]],
  ["deno check --doc", ["check", "--doc"]],
  ["deno doc --lint", ["doc", "--lint", ...exportFiles()]],
  ["deno publish --dry-run", ["publish", "--dry-run", "--allow-dirty"]],
];
const started = Date.now();
for (const [name, args] of steps) {
  header(name);
  const { code } = await run(deno, args);
  if (code !== 0) {
    console.error(`check: ${name} failed (exit ${code})`);
    Deno.exit(1);
  }
  if (name === "deno check --doc" && !(await checkDocs()).ok) {
    console.error("check: the docs check failed");
    Deno.exit(1);
  }
}
console.log(
  `\ncheck: all ${steps.length + 1} steps passed in ${
    ((Date.now() - started) / 1000).toFixed(1)
  } s`,
);
