// The cluster module loaded and not connected (issue 15): importing it
// starts nothing, and local work is as without it. (`deno task test` also
// runs the whole suite with it preloaded on every runtime:
// scripts/_cluster_loaded.ts.)
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect } from "../cluster.ts";
import * as genServer from "../gen_server.ts";
import {
  exit,
  isAlive,
  link,
  monitor,
  receive,
  self,
  spawn,
  trapExit,
} from "../process.ts";

const IS_DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;
const FIXTURE = fileURLToPath(
  new URL(
    `./fixtures/cluster_import.${
      import.meta.url.endsWith(".ts") ? "ts" : "js"
    }`,
    import.meta.url,
  ),
);

/**
 * Runs the fixture; resolves with its stdout and whether it ended on its own
 * within `ms` (else it is killed).
 */
function runFixture(
  extra: string[],
  ms: number,
): Promise<{ out: string; err: string; ended: boolean; code: number | null }> {
  const args = IS_DENO ? ["run", "-A", FIXTURE, ...extra] : [FIXTURE, ...extra];
  const child = spawnOs(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => out += s);
  child.stderr!.on("data", (s: string) => err += s);
  return new Promise((resolve) => {
    let ended = true;
    const timer = setTimeout(() => {
      ended = false;
      child.kill("SIGKILL");
    }, ms);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ out, err, ended, code });
    });
  });
}

describe("cluster module loaded, not connected", () => {
  test("a program that imports it and does local work ends on its own (importing starts no timer and no connection); one that leaves a timer does not", async () => {
    const [plain, leak] = await Promise.all([
      runFixture([], 20_000),
      runFixture(["leak"], 3_000),
    ]);
    assert.ok(plain.ended, `ended on its own:\n${plain.out}\n${plain.err}`);
    assert.equal(plain.code, 0, plain.err);
    assert.equal(plain.out.trim(), "done 1 2 42 boom function");
    // The control: the same program with a timer left behind is still
    // running when killed, so the check above can fail.
    assert.equal(leak.ended, false, "the leaking program was still running");
    assert.match(leak.out, /^done 1 2 42 boom function/);
  });

  test("local processes, gen_server, links and monitors work as without it", async () => {
    assert.equal(typeof connect, "function");
    assert.match(String(self()), /^<0\.\d+\.0>$/);
    const server = await genServer.start<number, undefined>({
      init: () => ["ok", 0],
      handleCall: (req: unknown, _from, n) =>
        req === "crash" ? ["stop", "bye", n] : ["reply", n + 1, n + 1],
    }, undefined);
    assert.match(String(server), /^<0\.\d+\.0>$/);
    assert.equal(await genServer.call(server, "next"), 1);
    const ref = monitor(server);
    await assert.rejects(genServer.call(server, "crash"));
    const down = await receive(
      (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
      { timeout: 1000 },
    ) as unknown[];
    assert.equal(down[4], "bye");
    assert.equal(isAlive(server), false);
    // A link from a trapping process gets the EXIT with the reason.
    const got = await new Promise<unknown>((resolve) => {
      spawn(async () => {
        trapExit(true);
        const doomed = spawn(() => receive(() => false));
        link(doomed);
        exit(doomed, "gone");
        resolve(await receive((m) => Array.isArray(m) && m[0] === "EXIT"));
      });
    });
    assert.equal((got as unknown[])[2], "gone");
  });
});
