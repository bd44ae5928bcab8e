// Real NATS servers for the cluster tests: Debian's `nats-server` (with
// JetStream) on free loopback ports, a temporary store directory each, ready
// when its monitoring endpoint says so; `stop()` kills it and removes its
// directory. A missing nats-server fails the test that needs it, with how to
// get one (never a silent skip): `npm test` installs it through
// scripts/ensure_deps.mjs where the machine allows.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** How long a server may take to become ready. */
const READY_MS = 15_000;

/** The nats-server binary, or a clear failure. */
export function natsServerPath(): string {
  const found = spawnSync("sh", ["-c", "command -v nats-server"], {
    encoding: "utf8",
  });
  const path = found.stdout?.trim();
  if (found.status !== 0 || !path) {
    throw new Error(
      "nats-server is not installed: the cluster tests need it. Run `node scripts/ensure_deps.mjs` as root (it installs Debian's nats-server with apt-get), or install nats-server (>= 2.9) on the PATH.",
    );
  }
  return path;
}

/** Ports handed out already: the OS may offer a released one again. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (free when asked: the OS picks it), never
 * one handed out before in this process (a cluster's route ports are
 * released before its servers start, and the OS could offer one of them
 * again as a client port).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await osPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null
        ? address.port
        : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One running nats-server. */
export class NatsServer {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<void>;
  #stopped = false;
  /** What it printed (for failure messages). */
  log = "";

  private constructor(
    child: ChildProcess,
    dir: string,
    /** Client port. */
    readonly port: number,
    /** Monitoring (HTTP) port. */
    readonly monitorPort: number,
  ) {
    this.#child = child;
    this.#dir = dir;
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    const keep = (s: string) => {
      this.log = (this.log + s).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.#exited = new Promise((resolve) =>
      child.once("exit", () => resolve())
    );
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The OS process id (for SIGSTOP/SIGKILL in fault tests). */
  get pid(): number {
    return this.#child.pid!;
  }

  /**
   * Starts a server with JetStream on free loopback ports and waits until it
   * is ready. `extra` adds command-line arguments (a cluster's routes).
   */
  static async start(
    options: {
      extra?: string[];
      port?: number;
      dir?: string;
      /** Wait for JetStream to be healthy too (a cluster's meta leader). */
      jetstream?: boolean;
    } = {},
  ): Promise<NatsServer> {
    const bin = natsServerPath();
    // A port found free can be taken before the server binds it (other
    // programs on the machine): then a fresh one, a few times.
    for (let attempt = 1;; attempt++) {
      const port = options.port ?? await freePort();
      const monitorPort = await freePort();
      const dir = options.dir ?? mkdtempSync(join(tmpdir(), "steward-nats-"));
      const child = spawn(bin, [
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-m",
        String(monitorPort),
        "-js",
        "-sd",
        dir,
        ...(options.extra ?? []),
      ], { stdio: ["ignore", "pipe", "pipe"] });
      const server = new NatsServer(child, dir, port, monitorPort);
      try {
        await server.#ready(options.jetstream ?? true);
        return server;
      } catch (error) {
        // A store given to start on (a restart) is kept.
        await server.stop({ keepStore: options.dir !== undefined });
        if (attempt < 3 && server.log.includes("address already in use")) {
          continue;
        }
        throw error;
      }
    }
  }

  async #ready(jetstream: boolean): Promise<void> {
    const deadline = Date.now() + READY_MS;
    const path = jetstream ? "/healthz" : "/healthz?js-enabled-only=true";
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(`nats-server exited at start:\n${this.log}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${this.monitorPort}${path}`);
        const body = await res.text();
        if (res.ok && body.includes("ok")) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server not ready after ${READY_MS} ms:\n${this.log}`);
  }

  /** Sends `signal` to the server (SIGSTOP, SIGCONT...). */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    process.kill(this.#child.pid!, signal);
  }

  /**
   * Kills the server and waits for it to exit; removes its store unless
   * `keepStore` (to restart it on the same port and store). Idempotent.
   */
  async stop(options: { keepStore?: boolean } = {}): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        // A paused server must be able to die. (process.kill: Deno's
        // child.kill() takes any first signal as the one that ends it.)
        process.kill(this.#child.pid!, "SIGCONT");
        this.#child.kill("SIGKILL");
      }
    }
    await this.#exited;
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    if (!options.keepStore) rmSync(this.#dir, { recursive: true, force: true });
  }

  /** The store directory (to restart on it). */
  get dir(): string {
    return this.#dir;
  }
}

/**
 * Three nats-servers in one NATS cluster (routes on loopback), JetStream
 * clustered, ready once JetStream is healthy on each.
 */
export async function startNatsCluster(): Promise<NatsServer[]> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const routes = ports.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const name = `steward-test-${Math.random().toString(36).slice(2, 8)}`;
  const started = ports.map((routePort, i) =>
    NatsServer.start({
      jetstream: false,
      extra: [
        "-n",
        `${name}-${i}`,
        "--cluster_name",
        name,
        "--cluster",
        `nats://127.0.0.1:${routePort}`,
        "--routes",
        routes,
      ],
    })
  );
  const settled = await Promise.allSettled(started);
  const servers = settled.flatMap((s) =>
    s.status === "fulfilled" ? [s.value] : []
  );
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(servers.map((s) => s.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  // JetStream needs a meta leader, elected once the routes are up.
  try {
    const deadline = Date.now() + READY_MS;
    for (const s of servers) {
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${s.monitorPort}/healthz`)
          .catch(() => undefined);
        const body = res === undefined ? "" : await res.text();
        if (res?.ok && body.includes("ok")) break;
        if (Date.now() > deadline) {
          throw new Error(`NATS cluster not ready:\n${s.log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}
