/**
 * Shared helpers for the scripts run by `deno task` (check, test, build:npm).
 * Deno APIs only: no JSR/npm imports, so the tooling runs offline once
 * `npm install` has put the pinned deno and bun binaries in node_modules.
 *
 * Why deno.json's tasks say `node_modules/.bin/deno run ...` and not
 * `deno run ...`: with a package.json beside deno.json, `deno task` resolves
 * a command named like an npm bin in node_modules/.bin by running that bin
 * as JavaScript, and the `deno` npm package's bin is the native executable,
 * so `deno ...` inside a task dies with "SyntaxError: Invalid or unexpected
 * token" (Deno 2.9.6; same family as denoland/deno#27114). Naming the
 * binary by path avoids that; inside the scripts, `Deno.execPath()` is used.
 *
 * @module
 */

/** Repository root (the directory holding deno.json), with a trailing slash. */
export const ROOT_URL: URL = new URL("../", import.meta.url);

/** Converts a `file:` URL to a platform path. */
export function toPath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return Deno.build.os === "windows"
    ? path.replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\")
    : path;
}

/** Repository root as a path. */
export const ROOT: string = toPath(ROOT_URL);

/** The `exports` map of deno.json: subpath -> "./file.ts". */
export function denoExports(): Record<string, string> {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT_URL)),
  );
  const exports = config.exports;
  if (typeof exports === "string") return { ".": exports };
  return exports as Record<string, string>;
}

/** The files named in deno.json's exports, relative to the root ("mod.ts"). */
export function exportFiles(): string[] {
  return [
    ...new Set(
      Object.values(denoExports()).map((f) => f.replace(/^\.\//, "")),
    ),
  ];
}

/** Test files: tests/**\/*_test.ts and tests/**\/*.test.ts, sorted. */
export function testFiles(): string[] {
  return walk("tests").filter((f) => /[_.]test\.ts$/.test(f)).sort();
}

/** Every file under `dir` (relative to the root), as "dir/sub/file". */
export function walk(dir: string): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(new URL(`${dir}/`, ROOT_URL))];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...walk(path));
    else if (entry.isFile) out.push(path);
  }
  return out;
}

/** Removes a file or directory tree if it exists. */
export function remove(path: string): void {
  try {
    Deno.removeSync(new URL(path, ROOT_URL), { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Prints a section header. */
export function header(text: string): void {
  console.log(`\n== ${text}`);
}

/** The result of {@linkcode run}. */
export interface RunResult {
  /** Exit code (1 if the program could not be started). */
  code: number;
  /** stdout and stderr, ANSI colours removed. */
  output: string;
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Capture the output without printing it. */
  quiet?: boolean;
  /** Kill the program after this many milliseconds (default 20 minutes). */
  timeoutMs?: number;
}

/**
 * Runs a program in the repository root, streaming its stdout and stderr
 * through (unless `quiet`), and returns its exit code and (colourless)
 * output: all of stdout, then all of stderr.
 */
export async function run(
  cmd: string,
  args: string[],
  { env = {}, quiet = false, timeoutMs = 20 * 60_000 }: RunOptions = {},
): Promise<RunResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    const message = `Cannot run ${cmd}: ${
      e instanceof Error ? e.message : String(e)
    }`;
    console.error(message);
    return { code: 1, output: message };
  }
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    sink: { writeSync(p: Uint8Array): number },
    into: string[],
  ) => {
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      let written = quiet ? bytes.length : 0;
      while (written < bytes.length) {
        written += sink.writeSync(bytes.subarray(written));
      }
      into.push(decoder.decode(bytes, { stream: true }));
    }
  };
  const out: string[] = [];
  const err: string[] = [];
  const pumped = Promise.all([
    pump(child.stdout, Deno.stdout, out),
    pump(child.stderr, Deno.stderr, err),
  ]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`\n${cmd} still running after ${timeoutMs} ms: killed`);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const status = await child.status;
  clearTimeout(timer);
  // A killed program's own children may hold the pipes open: stop waiting.
  if (timedOut) {
    await Promise.race([pumped, new Promise((r) => setTimeout(r, 2000))]);
  } else {
    await pumped;
  }
  // deno-lint-ignore no-control-regex
  const ansi = /\x1b\[[0-9;]*[A-Za-z]/g;
  const output = `${out.join("")}\n${err.join("")}`.replace(ansi, "");
  return { code: timedOut ? 1 : status.code, output };
}

/**
 * The bun binary: the one npm installed (package.json pins it), else `bun`
 * on PATH.
 */
export function bunPath(): string {
  // The bun npm package's postinstall puts the native binary at bin/bun.exe
  // on every OS; node_modules/.bin/bun links to it.
  for (
    const candidate of ["node_modules/bun/bin/bun.exe", "node_modules/.bin/bun"]
  ) {
    const url = new URL(candidate, ROOT_URL);
    try {
      if (Deno.statSync(url).isFile) return toPath(url);
    } catch {
      // try the next one
    }
  }
  return "bun";
}
