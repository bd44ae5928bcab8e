/**
 * `deno task test` (and so `npm test`): runs the test suite on all three
 * runtimes.
 *
 * 1. Deno, on the TypeScript sources: `deno test --doc --sanitize-ops
 *    --sanitize-resources` over tests/**\/*_test.ts plus the JSDoc examples of
 *    every file in deno.json's exports. A `console.assert` that fails in an
 *    example counts as a failed test. Note: Deno runs node:test tests
 *    without its op/resource sanitizers (its node:test shim registers them
 *    with the sanitizers off, by design), so the flags only bite on
 *    `Deno.test` tests and on the doc examples. scripts/_quiet_reports.ts
 *    is preloaded: it silences the library's crash reports, which the
 *    examples that crash processes on purpose would print.
 * 2. The docs (scripts/_docs.ts): the code blocks of README.md (fences
 *    read, then type-checked with `deno check --doc-only`; not run), and no
 *    published file citing a file left out of the package. Counted as one
 *    passed test per block and one per file scanned.
 * 2b. The names (scripts/_names.ts): OTP words (codes, kinds, event
 *    types, strategies...) are snake_case in the published sources.
 * 2c. The npm hooks (scripts/_npm_hooks.ts): `npm test`'s and `npm run
 *    demo`'s pre-hook leaves package-lock.json as it is.
 * 3. `build:npm` (scripts/build_npm.ts): `deno pack` into dist/npm.
 * 3b. Types (scripts/check_types.ts): a consumer of dist/npm type-checks
 *    with tsc (nodenext and bundler resolution, @types/node, strict,
 *    skipLibCheck false) and with deno check (the npm package, and the
 *    sources as a JSR user gets them).
 * 4. Node (>= 20, which cannot run .ts): the test files are transpiled to
 *    JavaScript with `deno transpile` into dist/node-tests/tests/, and every
 *    relative import of a library module (`../process.ts`) is rewritten to
 *    the built file in dist/npm (`../../npm/process.js`); imports between
 *    test files (`./_helpers.ts`) become `.js`. dist/node-tests/node_modules
 *    links `@steward/steward` to dist/npm, so tests may also import the
 *    package by name. Run with `node --test --test-reporter=tap`.
 *    (`deno transpile` is flagged experimental in Deno 2.9; the pinned
 *    version is what runs, and it only strips types here: no type check,
 *    no bundling, specifiers are left alone and rewritten below.)
 * 5. Bun: `bun test` on the same transpiled files, so Bun too tests the
 *    built package. Bun 1.4's `bun test` runs node:test `test`/`describe`/
 *    `it` registrations (and `t.test` subtests) and fails on failure: checked
 *    when this was set up. Bun's default 5 s per-test timeout is raised.
 *
 * `deno task test tests/x_test.ts ...` runs only the given test files (the
 * doc examples still run).
 *
 * A test file that needs one runtime only (the observer's browser test
 * drives Chromium from Node) says so in a line of its own near its top:
 * `// steward-test-runtimes: node` (any of deno, node, bun, space-separated);
 * the other runtimes do not run it. A runtime left with no test file is
 * not run (and not counted) when files were named on the command line.
 *
 * Every stage runs even if an earlier one failed (stages 4 and 5 need 3).
 * The exit code is non-zero if any stage failed or any runtime ran no test,
 * and the last line printed is the total over the runtimes:
 * `N passed, N failed` (CI reads it).
 *
 * @module
 */
import { buildNpm, NPM_DIR } from "./build_npm.ts";
import { checkDocs } from "./_docs.ts";
import { checkNpmHooks } from "./_npm_hooks.ts";
import { checkNames } from "./_names.ts";
import { checkTypes } from "./check_types.ts";
import {
  bunPath,
  exportFiles,
  header,
  remove,
  ROOT,
  ROOT_URL,
  run,
  testFiles,
  walk,
} from "./_util.ts";

/** Where the transpiled test files go, relative to the root. */
const NODE_TESTS_DIR = "dist/node-tests";

/**
 * The built cluster entry point, preloaded into every Node and Bun test
 * process (Deno preloads scripts/_cluster_loaded.ts): the suite runs with
 * the cluster module loaded and not connected.
 */
const CLUSTER_LOADED_NPM = new URL(`${NPM_DIR}/cluster.js`, ROOT_URL).pathname;

/** Per-test timeout for Node and Bun (Deno has no such flag). */
const TEST_TIMEOUT_MS = 120_000;

interface Tally {
  label: string;
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
}

const tallies: Tally[] = [];

function record(
  label: string,
  code: number,
  counts: { passed: number; failed: number; skipped: number } | undefined,
): void {
  const passed = counts?.passed ?? 0;
  let failed = counts?.failed ?? 0;
  const skipped = counts?.skipped ?? 0;
  let ok = code === 0 && failed === 0;
  if (counts === undefined) {
    console.error(`${label}: no test summary found in the output`);
    ok = false;
  } else if (passed + failed === 0) {
    console.error(`${label}: ran no test`);
    ok = false;
  }
  // A runner that failed without reporting a failed test still counts one.
  if (!ok && failed === 0) failed = 1;
  tallies.push({ label, passed, failed, skipped, ok });
}

function count(output: string, re: RegExp): number | undefined {
  const all = [...output.matchAll(re)];
  return all.length > 0 ? Number(all[all.length - 1][1]) : undefined;
}

/** `ok | 7 passed (3 steps) | 1 failed (1 step) | 2 ignored (90ms)` */
function parseDeno(output: string) {
  const lines = output.split("\n").filter((l) =>
    /^(ok|FAILED) \| \d+ passed/.test(l.trim())
  );
  const line = lines.at(-1);
  if (line === undefined) return undefined;
  const num = (re: RegExp) => Number(line.match(re)?.[1] ?? 0);
  return {
    passed: num(/(\d+) passed/) + num(/passed \((\d+) steps?\)/),
    failed: num(/(\d+) failed/) + num(/failed \((\d+) steps?\)/),
    skipped: num(/(\d+) ignored/) + num(/ignored \((\d+) steps?\)/),
  };
}

/**
 * Deno's summary, plus one failure per `console.assert` that failed: doc
 * examples assert with it, and a failed console.assert only prints
 * "Assertion failed" (the example still passes).
 */
function withAsserts(output: string) {
  const counts = parseDeno(output);
  const asserts = output.match(/^Assertion failed/gm)?.length ?? 0;
  if (asserts > 0) {
    console.error(
      `deno: ${asserts} console.assert call(s) failed (see "Assertion failed" above)`,
    );
  }
  return counts && { ...counts, failed: counts.failed + asserts };
}

/** Node's TAP summary: `# pass 3`, `# fail 0`, `# cancelled 0`, ... */
function parseNodeTap(output: string) {
  const pass = count(output, /^# pass (\d+)$/gm);
  const fail = count(output, /^# fail (\d+)$/gm);
  if (pass === undefined || fail === undefined) return undefined;
  return {
    passed: pass,
    failed: fail + (count(output, /^# cancelled (\d+)$/gm) ?? 0),
    skipped: (count(output, /^# skipped (\d+)$/gm) ?? 0) +
      (count(output, /^# todo (\d+)$/gm) ?? 0),
  };
}

/** Bun's summary: ` 5 pass`, ` 1 skip`, ` 0 fail`. */
function parseBun(output: string) {
  const pass = count(output, /^\s*(\d+) pass$/gm);
  const fail = count(output, /^\s*(\d+) fail$/gm);
  if (pass === undefined && fail === undefined) return undefined;
  return {
    passed: pass ?? 0,
    failed: fail ?? 0,
    skipped: (count(output, /^\s*(\d+) skip$/gm) ?? 0) +
      (count(output, /^\s*(\d+) todo$/gm) ?? 0),
  };
}

/**
 * Transpiles tests/**\/*.ts and examples/**\/*.ts into
 * NODE_TESTS_DIR/{tests,examples}/**\/*.js, pointing library imports at the
 * built package (tests may import an example, as tests/chat_example_test.ts
 * does). Returns the test files to run, or undefined (after saying why) on
 * failure.
 */
async function buildNodeTests(tests: string[]): Promise<string[] | undefined> {
  header(`transpile tests/ -> ${NODE_TESTS_DIR} (imports -> ${NPM_DIR})`);
  remove(NODE_TESTS_DIR);
  const all = walk("tests");
  const sources = [...all, ...walk("examples")].filter((f) =>
    f.endsWith(".ts")
  );
  if (!await transpileForNode(sources, NODE_TESTS_DIR)) return undefined;
  // Fixtures (anything not .ts) are copied as they are.
  for (const file of all.filter((f) => !f.endsWith(".ts"))) {
    const target = new URL(`${NODE_TESTS_DIR}/${file}`, ROOT_URL);
    Deno.mkdirSync(new URL("./", target), { recursive: true });
    Deno.copyFileSync(new URL(file, ROOT_URL), target);
  }
  // Lets tests import "@steward/steward/..." on Node and Bun too.
  const scope = new URL(`${NODE_TESTS_DIR}/node_modules/@steward/`, ROOT_URL);
  Deno.mkdirSync(scope, { recursive: true });
  const link = new URL("steward", scope);
  if (Deno.build.os === "windows") {
    Deno.symlinkSync(
      `${ROOT}\\${NPM_DIR.replaceAll("/", "\\")}`,
      link,
      { type: "junction" },
    );
  } else {
    Deno.symlinkSync(`../../../npm`, link);
  }
  console.log(`transpiled ${sources.length} files`);
  return tests.map((t) => `${NODE_TESTS_DIR}/${t.replace(/\.ts$/, ".js")}`);
}

/** Directories whose files are transpiled beside each other (not the library). */
const LOCAL_DIRS = ["tests/", "examples/"];

/**
 * Transpiles `sources` (paths like "tests/x_test.ts" or "examples/y.ts")
 * with `deno transpile` into `outDir` (relative to the root), rewriting
 * their relative imports: into tests/ or examples/ -> the transpiled .js
 * beside them; anything else -> the built file in dist/npm, which must
 * exist (run buildNpm first). Writes `outDir/package.json` (type module).
 * Returns whether it worked (after saying why not).
 */
export async function transpileForNode(
  sources: string[],
  outDir: string,
): Promise<boolean> {
  const transpile = await run(Deno.execPath(), [
    "transpile",
    "--quiet",
    "--no-check",
    "--no-config",
    "--source-map",
    "none",
    "--outdir",
    outDir,
    ...sources,
  ]);
  if (transpile.code !== 0) {
    console.error(`deno transpile failed (exit ${transpile.code})`);
    return false;
  }
  const problems: string[] = [];
  for (const source of sources) {
    const js = `${outDir}/${source.replace(/\.ts$/, ".js")}`;
    const url = new URL(js, ROOT_URL);
    let code: string;
    try {
      code = Deno.readTextFileSync(url);
    } catch {
      problems.push(`deno transpile wrote no ${js}`);
      continue;
    }
    Deno.writeTextFileSync(
      url,
      rewriteImports(code, source, outDir, problems),
    );
  }
  Deno.writeTextFileSync(
    new URL(`${outDir}/package.json`, ROOT_URL),
    JSON.stringify({ private: true, type: "module" }, null, 2) + "\n",
  );
  if (problems.length > 0) {
    console.error(`Cannot build for Node:\n  ${problems.join("\n  ")}`);
    return false;
  }
  return true;
}

/** Import/export specifiers in transpiled JavaScript. */
const SPECIFIER =
  /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\r\n]*)\2/g;

/**
 * Rewrites the relative specifiers of the transpiled `source` (a path like
 * "tests/x_test.ts"): into tests/ or examples/ -> same file as .js under
 * `outDir`; elsewhere -> the built file in dist/npm, which must exist.
 */
function rewriteImports(
  code: string,
  source: string,
  outDir: string,
  problems: string[],
): string {
  const from = new URL(source, ROOT_URL);
  const outFile = new URL(`${outDir}/${source}`, ROOT_URL);
  return code.replace(SPECIFIER, (match, lead, quote, spec: string) => {
    const resolved = new URL(spec, from);
    const rel = resolved.href.slice(ROOT_URL.href.length);
    if (!resolved.href.startsWith(ROOT_URL.href)) {
      problems.push(`${source}: import ${spec} leaves the repository`);
      return match;
    }
    const js = rel.replace(/\.(ts|mts)$/, ".js");
    const local = LOCAL_DIRS.some((d) => rel.startsWith(d));
    const target = local
      ? new URL(`${outDir}/${js}`, ROOT_URL)
      : new URL(`${NPM_DIR}/${js}`, ROOT_URL);
    if (!local) {
      try {
        Deno.statSync(target);
      } catch {
        problems.push(
          `${source}: imports ${spec}, but ${NPM_DIR}/${js} is not in the built package (only modules reachable from deno.json's exports are)`,
        );
        return match;
      }
    }
    return `${lead}${quote}${relative(outFile, target)}${quote}`;
  });
}

type Runtime = "deno" | "node" | "bun";

/**
 * Whether the test file `file` runs on `runtime`: yes, unless a line
 * `// steward-test-runtimes: ...` in its first 40 lines leaves it out.
 */
function runsOn(file: string, runtime: Runtime): boolean {
  const head = Deno.readTextFileSync(new URL(file, ROOT_URL))
    .split("\n", 40).join("\n");
  const m = /^\/\/ steward-test-runtimes: ([a-z ]+)$/m.exec(head);
  return m === null || m[1].split(" ").includes(runtime);
}

/** A "./x" or "../y" specifier for `to`, relative to the file `from`. */
function relative(from: URL, to: URL): string {
  const a = from.pathname.split("/").slice(0, -1);
  const b = to.pathname.split("/");
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  const up = a.length - i;
  const rest = b.slice(i).join("/");
  return up === 0 ? `./${rest}` : `${"../".repeat(up)}${rest}`;
}

async function main(): Promise<number> {
  Deno.chdir(ROOT);
  // `deno task test tests/a_test.ts ...` runs just those files.
  const tests = Deno.args.length > 0
    ? Deno.args.map((a) => a.replaceAll("\\", "/").replace(/^\.\//, ""))
    : testFiles();
  const bad = tests.filter((t) => !/^tests\/.*\.ts$/.test(t));
  if (bad.length > 0) {
    console.error(`Not test files under tests/: ${bad.join(", ")}`);
    console.log("0 passed, 1 failed");
    return 1;
  }
  if (tests.length === 0) {
    console.error("No test files (tests/**/*_test.ts)");
    console.log("0 passed, 1 failed");
    return 1;
  }

  const denoTests = tests.filter((t) => runsOn(t, "deno"));
  header(
    `deno ${Deno.version.deno}: ${denoTests.length} test files + doc examples of ${
      exportFiles().join(", ")
    }`,
  );
  const deno = await run(Deno.execPath(), [
    "test",
    "-A",
    "--doc",
    "--sanitize-ops",
    "--sanitize-resources",
    "--preload",
    "scripts/_quiet_reports.ts",
    "--preload",
    "scripts/_cluster_loaded.ts",
    ...denoTests,
    ...exportFiles(),
  ]);
  record(`deno ${Deno.version.deno}`, deno.code, withAsserts(deno.output));

  const docs = await checkDocs();
  record("docs", docs.ok ? 0 : 1, {
    passed: docs.passed,
    failed: docs.failed,
    skipped: 0,
  });

  const names = checkNames();
  record("names", names.ok ? 0 : 1, {
    passed: names.passed,
    failed: names.failed,
    skipped: 0,
  });

  const hooks = await checkNpmHooks();
  record("npm hooks", hooks.ok ? 0 : 1, {
    passed: hooks.passed,
    failed: hooks.failed,
    skipped: 0,
  });

  const built = await buildNpm();
  if (!built) record("build:npm", 1, { passed: 0, failed: 1, skipped: 0 });
  if (built) {
    const types = await checkTypes();
    record("types (tsc, deno check)", types.failed, {
      passed: types.passed,
      failed: types.failed,
      skipped: 0,
    });
  }
  const nodeTests = built ? await buildNodeTests(tests) : undefined;
  if (built && !nodeTests) {
    record("node tests build", 1, { passed: 0, failed: 1, skipped: 0 });
  }

  // Transpiled paths, for the files that run on `runtime`.
  const on = (runtime: Runtime) =>
    (nodeTests ?? []).filter((_, i) => runsOn(tests[i], runtime));
  const skip = (runtime: Runtime) => {
    if (on(runtime).length > 0) return false;
    console.log(`\n(no test file given runs on ${runtime})`);
    return true;
  };
  if (nodeTests && !skip("node")) {
    const version = await run("node", ["--version"], { quiet: true });
    const label = `node ${version.output.trim()}`;
    header(`${label}: node --test on ${NPM_DIR}`);
    const node = await run("node", [
      `--import=${CLUSTER_LOADED_NPM}`,
      "--test",
      "--test-reporter=tap",
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      ...on("node"),
    ]);
    record(label, node.code, parseNodeTap(node.output));
  }
  if (nodeTests && !skip("bun")) {
    const bun = bunPath();
    const bunVersion = await run(bun, ["--version"], { quiet: true });
    const bunLabel = `bun ${bunVersion.output.trim()}`;
    header(`${bunLabel}: bun test on ${NPM_DIR}`);
    const bunRun = await run(bun, [
      "test",
      "--preload",
      CLUSTER_LOADED_NPM,
      "--timeout",
      String(TEST_TIMEOUT_MS),
      ...on("bun").map((f) => `./${f}`),
    ]);
    record(bunLabel, bunRun.code, parseBun(bunRun.output));
  }

  header("summary");
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const t of tallies) {
    console.log(
      `${
        t.ok ? "ok    " : "FAILED"
      } ${t.label}: ${t.passed} passed, ${t.failed} failed${
        t.skipped ? `, ${t.skipped} skipped` : ""
      }`,
    );
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
  }
  const ok = tallies.every((t) => t.ok);
  console.log(
    `${total.passed} passed, ${total.failed} failed${
      total.skipped ? `, ${total.skipped} skipped` : ""
    }`,
  );
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
