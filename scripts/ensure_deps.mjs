// npm "pretest"/"predemo" hook (plain Node, no dependencies): makes
// `npm test` and `npm run demo` work on a fresh clone by running
// `npm install` when a pinned devDependency (deno, bun, @types/node) is
// missing from node_modules or has another version. When everything is in
// place it does nothing (no network). It also installs nats-server (below).
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

// The cluster's tests run real NATS servers (Debian's `nats-server`, with
// JetStream). Installed when missing and the machine allows it (root with
// apt-get); otherwise those tests fail saying how to install it.
ensureNatsServer();

function ensureNatsServer() {
  const has = (cmd) =>
    spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" })
      .status === 0;
  if (process.platform !== "linux" || has("nats-server")) return;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    console.error(
      "nats-server is missing (the cluster tests need it): install Debian's nats-server package",
    );
    return;
  }
  console.error("Installing nats-server (apt-get)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args) => spawnSync("apt-get", args, { stdio: "inherit", env });
  if (apt(["install", "-y", "-q", "nats-server"]).status !== 0) {
    apt(["update", "-q"]);
    apt(["install", "-y", "-q", "nats-server"]);
  }
}
