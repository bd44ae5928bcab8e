// npm "pretest"/"predemo" hook (plain Node, no dependencies): makes
// `npm test` and `npm run demo` work on a fresh clone by running
// `npm install` when a pinned devDependency (deno, bun, @types/node) is
// missing from node_modules or has another version. When everything is in
// place it does nothing (no network). Before `npm test` it also installs the
// system programs some tests need (chromium, nats-server: below), and
// nats-server before `npm run demo:cluster`.
//
// `--no-save`: install what package-lock.json locks without writing it back,
// so the tree stays clean. Without it npm rewrites the lock file whenever its
// version formats it differently: npm 10 (Node 20's) drops the `libc` fields
// npm 11 wrote for the optional native packages of deno and bun.
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import process from "node:process";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const stale = Object.entries(pkg.devDependencies ?? {}).filter(
  ([name, wanted]) => {
    try {
      const { version } = JSON.parse(
        readFileSync(`node_modules/${name}/package.json`, "utf8"),
      );
      // Only exact pins are compared; a range just has to be installed.
      return /^\d+\.\d+\.\d+$/.test(wanted) && version !== wanted;
    } catch {
      return true;
    }
  },
);
// The deno and bun packages fetch nothing, but their postinstall scripts put
// the native binaries in place.
const binaries = ["node_modules/.bin/deno", "node_modules/.bin/bun"];
const missingBinaries = process.platform === "win32"
  ? []
  : binaries.filter((b) => !existsSync(b));

if (stale.length > 0 || missingBinaries.length > 0) {
  const what = [...stale.map(([n, v]) => `${n}@${v}`), ...missingBinaries];
  console.error(`Installing the pinned tooling (${what.join(", ")})...`);
  const npm = process.env.npm_execpath;
  const args = ["install", "--no-save", "--no-audit", "--no-fund"];
  const result = npm && /\.(c|m)?js$/.test(npm)
    ? spawnSync(process.execPath, [npm, ...args], { stdio: "inherit" })
    : spawnSync("npm", args, {
      stdio: "inherit",
      shell: process.platform === "win32",
    });
  if (result.status !== 0) {
    console.error("npm install failed");
    process.exit(result.status ?? 1);
  }
}

// System programs some tests need, from Debian's packages: installed when
// missing and the machine allows it (root, with apt-get), so `npm test` (and
// .ci/run) on a fresh machine has them. Elsewhere this only says what is
// missing; the tests that need the program then fail with a clear message.
// Only before `npm test`: the demos need none of them. To add one, call
// ensureDebianPackage once more.
function hasCommand(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], {
    stdio: "ignore",
  }).status === 0;
}

function ensureDebianPackage(command, pkg, neededBy) {
  if (process.platform !== "linux" || hasCommand(command)) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !hasCommand("apt-get")) {
    console.error(
      `${command} is missing (${neededBy} needs it): install Debian's ${pkg} package (apt-get install ${pkg}).`,
    );
    return;
  }
  console.error(`Installing Debian's ${pkg} (${neededBy} needs ${command})...`);
  const apt = (...args) =>
    spawnSync("apt-get", args, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status === 0;
  // The package lists may be missing or stale on a fresh machine: update
  // once and retry.
  if (
    !apt("install", "-y", pkg) && !(apt("update") && apt("install", "-y", pkg))
  ) {
    console.error(`apt-get install ${pkg} failed: ${neededBy} will fail.`);
  }
}

if (process.env.npm_lifecycle_event === "pretest") {
  ensureDebianPackage("chromium", "chromium", "tests/observer_e2e_test.ts");
  ensureDebianPackage("nats-server", "nats-server", "tests/cluster_test.ts");
}
if (process.env.npm_lifecycle_event === "predemo:cluster") {
  ensureDebianPackage("nats-server", "nats-server", "npm run demo:cluster");
}
