/**
 * `deno run -A scripts/check_types.ts` (a stage of `deno task test`): the
 * built package's `.d.ts` files type-check for its users. A small consumer
 * program (below) that imports every entry point by package name is
 * compiled, without emitting, in dist/types-consumer/:
 *
 * - with `tsc` (the pinned `typescript` devDependency) as a Node user would:
 *   `@types/node`, `lib: ["ES2022"]`, `strict`, `skipLibCheck: false`, once
 *   with `moduleResolution: "nodenext"` and once with `"bundler"`, against
 *   dist/npm (copied to node_modules/@steward/steward);
 * - with `deno check` against dist/npm (a Deno user of the npm package),
 *   and against the sources through an import map, as a JSR user gets them.
 *
 * Bun has no type checker of its own (it strips types): a Bun user runs
 * `tsc`, which the Node cases cover.
 *
 * Needs dist/npm (run build_npm.ts first). The consumer uses the typed
 * server helper and the message guards, and holds `@ts-expect-error` lines:
 * a wrong request that compiled would fail the check.
 *
 * @module
 */
import { denoExports, header, remove, ROOT, ROOT_URL, run } from "./_util.ts";
import { NPM_DIR } from "./build_npm.ts";

/** Where the consumer is written, relative to the root. */
const DIR = "dist/types-consumer";

/** The consumer program: every entry point, typed servers, guards. */
function consumer(): string {
  const imports = Object.keys(denoExports()).map((subpath, i) =>
    `import * as m${i} from "${
      subpath === "."
        ? "@steward/steward"
        : `@steward/steward/${subpath.slice(2)}`
    }";`
  );
  const names = Object.keys(denoExports()).map((_, i) => `m${i}`);
  return `${imports.join("\n")}
import process from "node:process";
import {
  call,
  cast,
  defineServer,
  serverName,
  start,
  stop,
} from "@steward/steward/gen-server";
import {
  type DownMessage,
  isDown,
  isExit,
  monitor,
  receive,
} from "@steward/steward/process";
import { isEtsTransfer } from "@steward/steward/ets";
import { isTimeout } from "@steward/steward/timer";

export const modules: object[] = [${names.join(", ")}];

const Counter = defineServer({
  init: (n: number) => ["ok", n],
  handleCall: {
    get: (_: void, n) => ["reply", n, n],
    add: (k: number, n) => ["reply", \`now \${n + k}\`, n + k],
  },
  handleCast: { reset: (_: void, _n) => ["noreply", 0] },
});

export async function main(): Promise<void> {
  const pid = await start(Counter, Number(process.env.START ?? "0"));
  const n: number = await call(pid, "get");
  const text: string = await call(pid, ["add", n]);
  cast(pid, "reset");
  // @ts-expect-error: no such request
  await call(pid, "nope");
  // @ts-expect-error: add takes a number
  await call(pid, ["add", "1"]);
  const name = serverName(Counter, "counter");
  const again: number = await call(name, "get");
  const ref = monitor(pid);
  await stop(pid);
  const down: DownMessage = await receive((m) => isDown(m, ref));
  const exitOrTimer = await receive((m) =>
    isExit(m) || isTimeout(m) || isEtsTransfer(m)
  );
  console.log(text, again, down[4], exitOrTimer[0]);
}
`;
}

/** Copies the directory `from` to `to` (paths relative to the root). */
function copyDir(from: string, to: string): void {
  Deno.mkdirSync(new URL(to, ROOT_URL), { recursive: true });
  for (const entry of Deno.readDirSync(new URL(from, ROOT_URL))) {
    const a = `${from}/${entry.name}`;
    const b = `${to}/${entry.name}`;
    if (entry.isDirectory) copyDir(a, b);
    else Deno.copyFileSync(new URL(a, ROOT_URL), new URL(b, ROOT_URL));
  }
}

/** What each case compiles with. */
const TSCONFIG = {
  target: "ES2022",
  lib: ["ES2022"],
  types: ["node"],
  strict: true,
  skipLibCheck: false,
  noEmit: true,
};

/**
 * Writes the consumer and runs every check; returns how many passed and
 * failed (each check printed its output).
 */
export async function checkTypes(): Promise<
  { passed: number; failed: number }
> {
  header(`types: the .d.ts of ${NPM_DIR} for tsc (nodenext, bundler) and deno`);
  remove(DIR);
  const dir = new URL(`${DIR}/`, ROOT_URL);
  Deno.mkdirSync(new URL("node_modules/@steward/", dir), { recursive: true });
  Deno.mkdirSync(new URL("node_modules/@types/", dir), { recursive: true });
  Deno.mkdirSync(new URL("jsr/", dir), { recursive: true });
  // A copy, not a link: Deno treats a package whose real path is outside
  // node_modules as local files (and would not pair x.js with x.d.ts).
  copyDir(NPM_DIR, `${DIR}/node_modules/@steward/steward`);
  Deno.symlinkSync(
    `${ROOT}/node_modules/@types/node`,
    new URL("node_modules/@types/node", dir),
  );
  const write = (file: string, text: string) =>
    Deno.writeTextFileSync(new URL(file, dir), text);
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  write("consumer.ts", consumer());
  write(
    "package.json",
    json({
      private: true,
      type: "module",
      dependencies: { "@steward/steward": "file:../npm" },
    }),
  );
  write(
    "tsconfig.nodenext.json",
    json({
      compilerOptions: {
        ...TSCONFIG,
        module: "nodenext",
        moduleResolution: "nodenext",
      },
      files: ["consumer.ts"],
    }),
  );
  write(
    "tsconfig.bundler.json",
    json({
      compilerOptions: {
        ...TSCONFIG,
        module: "esnext",
        moduleResolution: "bundler",
      },
      files: ["consumer.ts"],
    }),
  );
  write("deno.json", json({ nodeModulesDir: "manual", lock: false }));
  // A JSR user: package names map to the sources.
  const imports: Record<string, string> = {};
  for (const [subpath, source] of Object.entries(denoExports())) {
    const name = subpath === "."
      ? "@steward/steward"
      : `@steward/steward/${subpath.slice(2)}`;
    imports[name] = new URL(source, ROOT_URL).href;
  }
  write("jsr/deno.json", json({ imports, lock: false }));
  write("jsr/consumer.ts", consumer());

  const tsc = `${ROOT}/node_modules/typescript/bin/tsc`;
  const cases: [string, string, string[]][] = [
    ["tsc nodenext", "node", [tsc, "-p", `${DIR}/tsconfig.nodenext.json`]],
    ["tsc bundler", "node", [tsc, "-p", `${DIR}/tsconfig.bundler.json`]],
    ["deno check (npm package)", Deno.execPath(), [
      "check",
      "--quiet",
      "--config",
      `${DIR}/deno.json`,
      `${DIR}/consumer.ts`,
    ]],
    ["deno check (sources, as from JSR)", Deno.execPath(), [
      "check",
      "--quiet",
      "--config",
      `${DIR}/jsr/deno.json`,
      `${DIR}/jsr/consumer.ts`,
    ]],
  ];
  let passed = 0;
  let failed = 0;
  for (const [label, cmd, args] of cases) {
    const { code } = await run(cmd, args);
    if (code === 0) {
      passed++;
      console.log(`types: ok     ${label}`);
    } else {
      failed++;
      console.error(`types: FAILED ${label} (exit ${code})`);
    }
  }
  return { passed, failed };
}

if (import.meta.main) {
  Deno.chdir(ROOT);
  const { failed } = await checkTypes();
  Deno.exit(failed === 0 ? 0 : 1);
}
