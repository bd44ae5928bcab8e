/**
 * A node of the media demo (media_node.ts) as a child OS process of this
 * runtime: commands on its stdin, its output kept, waits bounded. Used by
 * the demo (media.ts) and the fault tests (tests/cluster_tracker_test.ts).
 *
 * @module
 */
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import type { HistoryEvent } from "./_history.ts";

const IS_DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;
/** The bound on every wait for a node. */
const WAIT_MS = 20_000;

/** A node of the media demo as a child OS process of this runtime. */
export class NodeProgram {
  stdout = "";
  readonly #child;
  readonly #exited: Promise<void>;
  #waiters = new Set<() => void>();

  /**
   * Starts `program` (the path of media_node, .ts for Deno, .js for Node
   * and Bun) on this very runtime.
   */
  constructor(
    program: string,
    servers: string,
    readonly name: string,
    cluster: string,
    leaseMs: number,
  ) {
    const args = IS_DENO
      ? ["run", "-A", program, servers, name, cluster, String(leaseMs)]
      : [program, servers, name, cluster, String(leaseMs)];
    this.#child = spawnOs(process.execPath, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stderr!.setEncoding("utf8");
    this.#child.stdout!.on("data", (s: string) => {
      this.stdout += s;
      for (const w of this.#waiters) w();
    });
    this.#child.stderr!.on("data", () => {});
    this.#exited = new Promise((resolve) =>
      this.#child.once("exit", () => {
        resolve();
        for (const w of this.#waiters) w();
      })
    );
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Sends a command line. */
  say(line: string): void {
    this.#child.stdin!.write(line + "\n");
  }

  /** Waits until the output has a line matching `pattern`; returns it. */
  async waitFor(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const m = this.stdout.slice(from).match(pattern);
      if (m !== null) return m;
      if (!this.running) {
        throw new Error(
          `node ${this.name} exited:\n${this.stdout.slice(-2000)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `node ${this.name} did not print ${pattern}:\n${
            this.stdout.slice(-2000)
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 200);
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  /** Its history events. */
  events(): HistoryEvent[] {
    return this.stdout.split("\n").filter((l) => l.startsWith("EV "))
      .map((l) => JSON.parse(l.slice(3)));
  }

  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    process.kill(this.#child.pid!, signal);
  }

  /** Kills it (SIGKILL) and waits for it to exit. Idempotent. */
  async kill(): Promise<void> {
    if (this.running) {
      process.kill(this.#child.pid!, "SIGCONT");
      this.#child.kill("SIGKILL");
    }
    await this.#exited;
    this.#child.stdin!.destroy();
    this.#child.stdout!.destroy();
    this.#child.stderr!.destroy();
  }

  /** Asks it to close (tracker, node) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.running) {
      const from = this.stdout.length;
      this.say("close");
      await this.waitFor(/^closed$/m, from).catch(() => {});
    }
    await this.kill();
  }
}
