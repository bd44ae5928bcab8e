/**
 * `deno task check`: formatting, lint, type check (all .ts, tests and JSDoc
 * examples included), the README's code blocks (scripts/_markdown.ts), doc lint of every exported module, and a publish dry
 * run (slow types, package contents). Stops at the first failure.
 *
 * @module
 */
import { exportFiles, header, ROOT, run } from "./_util.ts";
import { checkMarkdown } from "./_markdown.ts";

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
  if (name === "deno check --doc" && !(await checkMarkdown()).ok) {
    console.error("check: the Markdown code blocks failed");
    Deno.exit(1);
  }
}
console.log(
  `\ncheck: all ${steps.length + 1} steps passed in ${
    ((Date.now() - started) / 1000).toFixed(1)
  } s`,
);
