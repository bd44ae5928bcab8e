/**
 * `deno task build:npm`: builds the npm package into dist/npm.
 *
 * Uses `deno pack` (Deno >= 2.8), which works offline: it type-checks the
 * exports, transpiles every module reachable from deno.json's `exports` to
 * ES-module JavaScript (`./x.ts` imports become `./x.js`), writes `.d.ts`
 * files for the public API (fast-check types; internal modules whose types
 * are not part of the public API get no .d.ts, and pack says "Could not
 * generate types for ...": that is expected), and generates a package.json
 * ("type": "module", an `exports` map mirroring deno.json with types/import/
 * default conditions). No tsc fallback is needed, so `typescript` is not a
 * dependency. Notes:
 * - deno.json's publish.exclude keeps our tooling package.json out: pack
 *   would otherwise ship it instead of the one it generates.
 * - `--no-source-maps`: pack's inline source maps embed absolute
 *   `file:///` paths of the build machine.
 * - `--allow-dirty`: this is a local build, not a publish.
 * - pack writes a .tgz; we unpack it ourselves (no `tar` needed), then
 *   check that the exports map matches deno.json and that this machine's
 *   Node can import every entry point.
 * - pack's package.json has name, version, type, license, main, types and
 *   exports only (Deno 2.9.6): {@linkcode NPM_METADATA} (description,
 *   keywords, engines, sideEffects) is added to it after unpacking, and
 *   checked. The npm packages the cluster entry point imports (deno.json's
 *   `imports`, `npm:` specifiers with exact versions) become the package's
 *   `dependencies` ({@linkcode npmDependencies}): the core modules import
 *   none of them. `sideEffects: false` holds: no module does anything on import
 *   but define things (no bare `import "./x.ts"`, no top-level call that
 *   registers anything elsewhere), so a bundler may drop unused modules.
 *
 * @module
 */
import {
  denoExports,
  header,
  remove,
  ROOT,
  ROOT_URL,
  run,
  toPath,
} from "./_util.ts";

/** Where the package is built, relative to the root. */
export const NPM_DIR = "dist/npm";

/** What the npm package.json carries besides what `deno pack` writes. */
export const NPM_METADATA = {
  description:
    "Erlang/OTP's fault-tolerance toolkit for TypeScript: processes, links, monitors, gen_server, supervisors, ETS tables, on Deno, Bun and Node",
  keywords: [
    "erlang",
    "otp",
    "actor",
    "supervisor",
    "gen_server",
    "ets",
    "fault-tolerance",
    "let-it-crash",
    "process",
    "deno",
    "bun",
    "node",
  ],
  engines: { node: ">=20" },
  sideEffects: false,
} as const;

/**
 * The `dependencies` of the npm package: deno.json's `imports` that are
 * `npm:` specifiers (`"npm:@nats-io/kv@3.4.0"` -> `"@nats-io/kv": "3.4.0"`).
 */
export function npmDependencies(): Record<string, string> {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT_URL)),
  );
  const deps: Record<string, string> = {};
  for (const spec of Object.values(config.imports ?? {})) {
    const m = String(spec).match(/^npm:(@?[^@]+)@(.+)$/);
    if (m) deps[m[1]] = m[2];
  }
  return deps;
}

/** Builds dist/npm; returns false (after saying why) on failure. */
export async function buildNpm(): Promise<boolean> {
  header(`build:npm: deno pack -> ${NPM_DIR}`);
  remove(NPM_DIR);
  Deno.mkdirSync(new URL("dist/", ROOT_URL), { recursive: true });
  const tarball = "dist/npm.tgz";
  remove(tarball);
  const pack = await run(Deno.execPath(), [
    "pack",
    "--allow-dirty",
    "--no-source-maps",
    "--output",
    tarball,
  ]);
  if (pack.code !== 0) {
    console.error(`build:npm: deno pack failed (exit ${pack.code})`);
    return false;
  }
  const files = await untgz(new URL(tarball, ROOT_URL), "package/", NPM_DIR);
  remove(tarball);
  console.log(`build:npm: unpacked ${files} files into ${NPM_DIR}`);
  addMetadata();
  return verify();
}

/**
 * Adds {@linkcode NPM_METADATA} to dist/npm/package.json, after name and
 * version (npm shows the fields in file order).
 */
function addMetadata(): void {
  const url = new URL(`${NPM_DIR}/package.json`, ROOT_URL);
  const { name, version, ...rest } = JSON.parse(Deno.readTextFileSync(url));
  const pkg = {
    name,
    version,
    ...NPM_METADATA,
    ...rest,
    ...NPM_METADATA,
    dependencies: npmDependencies(),
  };
  Deno.writeTextFileSync(url, JSON.stringify(pkg, null, 2) + "\n");
}

/** Checks dist/npm/package.json against deno.json and imports it on Node. */
async function verify(): Promise<boolean> {
  const pkg = JSON.parse(
    Deno.readTextFileSync(new URL(`${NPM_DIR}/package.json`, ROOT_URL)),
  );
  const problems: string[] = [];
  if (pkg.type !== "module") problems.push(`"type" is not "module"`);
  const license = JSON.parse(
    Deno.readTextFileSync(new URL("deno.json", ROOT_URL)),
  ).license;
  if (typeof license !== "string" || pkg.license !== license) {
    problems.push(
      `"license" is ${pkg.license}, expected deno.json's ${license}`,
    );
  }
  // What a user of npm sees (issue 12): checked by value, not only against
  // NPM_METADATA, so dropping a field from it fails the build too.
  if (typeof pkg.description !== "string" || pkg.description.length < 20) {
    problems.push(`"description" is missing`);
  }
  if (!Array.isArray(pkg.keywords) || !pkg.keywords.includes("erlang")) {
    problems.push(`"keywords" is missing (or lacks "erlang")`);
  }
  if (pkg.engines?.node !== ">=20") {
    problems.push(`"engines.node" is ${pkg.engines?.node}, expected ">=20"`);
  }
  if (pkg.sideEffects !== false) problems.push(`"sideEffects" is not false`);
  const expected = { ...NPM_METADATA, dependencies: npmDependencies() };
  for (const [key, value] of Object.entries(expected)) {
    if (JSON.stringify(pkg[key]) !== JSON.stringify(value)) {
      problems.push(`"${key}" is ${JSON.stringify(pkg[key])}`);
    }
  }
  const wanted = denoExports();
  const entries: string[] = [];
  for (const [subpath, source] of Object.entries(wanted)) {
    const target = pkg.exports?.[subpath];
    const js = target?.import ?? target?.default;
    const expected = source.replace(/\.ts$/, ".js");
    if (js !== expected) {
      problems.push(`exports["${subpath}"] is ${js}, expected ${expected}`);
      continue;
    }
    for (const file of [js, target.types]) {
      if (!file) {
        problems.push(`exports["${subpath}"] has no types`);
      } else if (!exists(`${NPM_DIR}/${file}`)) {
        problems.push(`exports["${subpath}"]: ${file} missing`);
      }
    }
    entries.push(js);
  }
  for (const extra of Object.keys(pkg.exports ?? {})) {
    if (!(extra in wanted)) problems.push(`unexpected exports["${extra}"]`);
  }
  if (problems.length > 0) {
    console.error(`build:npm: bad package:\n  ${problems.join("\n  ")}`);
    return false;
  }
  // Every entry point must load on this machine's Node (>= 20).
  const urls = entries.map((js) =>
    new URL(`${NPM_DIR}/${js.replace(/^\.\//, "")}`, ROOT_URL).href
  );
  const script = `for (const u of ${
    JSON.stringify(urls)
  }) await import(u); console.log("build:npm: node " + process.version + " imports all ${urls.length} entry points");`;
  const node = await run("node", ["--input-type=module", "-e", script]);
  if (node.code !== 0) {
    console.error("build:npm: Node cannot import the built package");
    return false;
  }
  return true;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, ROOT_URL));
    return true;
  } catch {
    return false;
  }
}

/**
 * Unpacks the regular files of a .tgz whose paths start with `strip` into
 * `dest` (relative to the root). Handles ustar, GNU long names and pax paths,
 * which covers what `deno pack` (and npm) write. Returns the file count.
 */
async function untgz(file: URL, strip: string, dest: string): Promise<number> {
  const gz = await Deno.readFile(file);
  const stream = new Blob([gz]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  const tar = new Uint8Array(await new Response(stream).arrayBuffer());
  const text = (b: Uint8Array) =>
    new TextDecoder().decode(b).replace(/\0.*$/s, "");
  let offset = 0;
  let longName: string | undefined;
  let count = 0;
  while (offset + 512 <= tar.length) {
    const block = tar.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    const size = parseInt(text(block.subarray(124, 136)).trim() || "0", 8);
    const type = String.fromCharCode(block[156] || 48);
    const prefix = text(block.subarray(345, 500));
    let name = longName ??
      (prefix ? `${prefix}/${text(block.subarray(0, 100))}` : text(
        block.subarray(0, 100),
      ));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = text(body);
      continue;
    }
    if (type === "x") {
      const path = new TextDecoder().decode(body).match(/^\d+ path=(.*)$/m);
      if (path) longName = path[1];
      continue;
    }
    longName = undefined;
    if (type !== "0" && type !== "7") continue; // only regular files
    if (!name.startsWith(strip)) continue;
    name = name.slice(strip.length);
    if (name.split("/").some((part) => part === ".." || part === "")) {
      throw new Error(`Refusing to unpack suspicious path ${name}`);
    }
    const target = new URL(`${dest}/${name}`, ROOT_URL);
    Deno.mkdirSync(new URL("./", target), { recursive: true });
    Deno.writeFileSync(target, body);
    count++;
  }
  return count;
}

if (import.meta.main) {
  Deno.chdir(ROOT);
  const ok = await buildNpm();
  if (ok) console.log(`build:npm: done: ${toPath(new URL(NPM_DIR, ROOT_URL))}`);
  Deno.exit(ok ? 0 : 1);
}
