// The main process (top-level code): what it keeps of the EXIT messages its
// links send, so a service whose handlers spawnLink, Task.async and startLink
// from top-level code keeps flat memory (process.ts, "Top-level code").
//
// The default behaviour is checked in a child OS process of the same
// runtime (the test suite's main traps every exit: tests/_helpers.ts), by
// bench/main_backlog.mjs.
import { describe, test } from "./_harness.ts";
import { consoleLogger, setLogger } from "../logger.ts";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { exit, isAlive, processInfo, self, spawnLink } from "../process.ts";
import { flush, settle } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const fromBuild = import.meta.url.includes("/dist/node-tests/");
const root = fileURLToPath(
  new URL(fromBuild ? "../../../" : "../", import.meta.url),
);

function runChild(args: string[]): Promise<string> {
  const script = "bench/main_backlog.mjs";
  const [cmd, argv] = g.Deno !== undefined
    ? [g.Deno.execPath(), [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      script,
      "./",
      ".ts",
      ...args,
    ]]
    : g.Bun !== undefined
    ? [process.execPath, [script, "dist/npm/", ".js", ...args]]
    : [process.execPath, ["--expose-gc", script, "dist/npm/", ".js", ...args]];
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      argv,
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

describe("main process", () => {
  test("30,000 top-level requests that spawnLink, Task.async and startLink leave main nothing, heap flat", async () => {
    const out = await runChild(["30000"]);
    const result = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.equal(result.requests, 30000);
    assert.equal(result.mainQueue, 0, "main holds no EXIT backlog");
    assert.equal(result.mainLinks, 0);
    assert.ok(
      result.heapMbAtEnd - result.heapMbAfterWarmup < 8,
      `heap grew from ${result.heapMbAfterWarmup} to ${result.heapMbAtEnd} MB`,
    );
  });

  test("main keeps at most 1,000 unread abnormal EXITs: the oldest are dropped, and that is reported", async () => {
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (text: string) => warnings.push(String(text));
    // The harness captures reports: this one goes to the console logger (the
    // crash reports of the 1,200 processes would fill its burst limit).
    const restoreLogger = setLogger((r) => {
      if (r.kind === "main_exits_dropped") consoleLogger(r);
    });
    try {
      const pids = [];
      for (let i = 0; i < 1200; i++) {
        pids.push(spawnLink(() => {
          throw "crashed";
        }));
      }
      // All dead (a loaded scheduler may need more than one timer turn:
      // it yields to timers every 20 ms).
      while (pids.some((p) => isAlive(p))) await settle();
      const exits = (await flush()).filter((m) =>
        Array.isArray(m) && m[0] === "EXIT" && m[2] === "crashed"
      ) as unknown[][];
      assert.equal(exits.length, 1000);
      // The newest 1,000, in order.
      assert.deepEqual(exits.map((m) => m[1]), pids.slice(200));
      assert.ok(warnings.some((w) => /dropped \d+ unread EXIT/.test(w)));
      assert.equal(processInfo(self())!.messageQueueLength, 0);
    } finally {
      restoreLogger();
      console.warn = warn;
    }
  });

  test("a trapping main (trapExit(true) called by top-level code) gets normal EXITs too", async () => {
    // The suite's main has called trapExit(true) (tests/_helpers.ts).
    const pid = spawnLink(() => {});
    while (isAlive(pid)) await settle();
    assert.deepEqual(await flush(), [["EXIT", pid, "normal"]]);
    exit(pid, "kill"); // dead already: nothing
  });
});
