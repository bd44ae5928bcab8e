/**
 * The npm hooks check of `npm test` (scripts/test.ts),
 * {@linkcode checkNpmHooks}: the `pretest`/`predemo` hook
 * (scripts/ensure_deps.mjs) leaves a fresh clone's tree clean (issue 12).
 * It is run with Node in a scratch directory whose package.json pins a
 * package that is missing, with `npm_execpath` pointing at a stand-in npm
 * that records its arguments and, as npm does, rewrites package-lock.json
 * unless it is given `--no-save`. Checked: the hook installs, with
 * `--no-save`; package-lock.json is unchanged; a second run, with everything
 * in place, runs no npm at all.
 *
 * @module
 */
import { header, ROOT_URL, toPath } from "./_util.ts";

const LOCK = '{ "lockfileVersion": 3, "packages": {} }\n';

/** The stand-in npm (run by Node as `node fake_npm.mjs install ...`). */
const FAKE_NPM =
  `import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
const args = process.argv.slice(2);
writeFileSync("npm_args.json", JSON.stringify(args));
if (!args.includes("--no-save")) {
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
  writeFileSync("package-lock.json", JSON.stringify({ ...lock, saved: true }));
}
mkdirSync("node_modules/pinned", { recursive: true });
writeFileSync("node_modules/pinned/package.json", '{ "version": "1.2.3" }');
mkdirSync("node_modules/.bin", { recursive: true });
writeFileSync("node_modules/.bin/deno", "");
writeFileSync("node_modules/.bin/bun", "");
`;

/** Runs the hook in `dir`; its exit code. */
async function hook(dir: string): Promise<number> {
  const script = toPath(new URL("scripts/ensure_deps.mjs", ROOT_URL));
  const out = await new Deno.Command("node", {
    args: [script],
    cwd: dir,
    env: { npm_execpath: `${dir}/fake_npm.mjs` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return out.code;
}

/** Runs the checks; one passed or failed test per check. */
export async function checkNpmHooks(): Promise<
  { ok: boolean; passed: number; failed: number }
> {
  header("npm hooks: the pretest/predemo hook leaves the tree clean");
  const dir = await Deno.makeTempDir({ prefix: "steward_hooks_" });
  let passed = 0;
  let failed = 0;
  const check = (ok: boolean, what: string) => {
    if (ok) passed++;
    else {
      failed++;
      console.error(`npm hooks: ${what}`);
    }
  };
  try {
    Deno.writeTextFileSync(
      `${dir}/package.json`,
      JSON.stringify({ devDependencies: { pinned: "1.2.3" } }),
    );
    Deno.writeTextFileSync(`${dir}/package-lock.json`, LOCK);
    Deno.writeTextFileSync(`${dir}/fake_npm.mjs`, FAKE_NPM);
    const code = await hook(dir);
    let args: unknown = undefined;
    try {
      args = JSON.parse(Deno.readTextFileSync(`${dir}/npm_args.json`));
    } catch {
      // npm did not run: args stays undefined.
    }
    check(
      code === 0 && Array.isArray(args) && args[0] === "install" &&
        args.includes("--no-save"),
      `the hook did not run "npm install --no-save" (exit ${code}, args ${
        JSON.stringify(args)
      })`,
    );
    check(
      Deno.readTextFileSync(`${dir}/package-lock.json`) === LOCK,
      "package-lock.json was rewritten",
    );
    Deno.removeSync(`${dir}/npm_args.json`);
    const again = await hook(dir);
    let ranAgain = true;
    try {
      Deno.statSync(`${dir}/npm_args.json`);
    } catch {
      ranAgain = false;
    }
    check(
      again === 0 && !ranAgain,
      "with everything in place, the hook still ran npm",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  console.log(`npm hooks: ${passed} passed, ${failed} failed`);
  return { ok: failed === 0, passed, failed };
}
