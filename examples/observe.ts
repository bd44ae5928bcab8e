/**
 * `npm run observe` (or `deno task observe`): the streams demo
 * (examples/streams.ts: a tracker of streams that crash, viewers, a cache
 * that a chaos monkey kills, a table kept by a table manager) with the
 * observer page on. Prints the page's address, token included, and runs
 * until interrupted (Ctrl-C closes the observer and ends the program).
 *
 * Flags: `--port N` (default 4000; a free one if it is taken, 0 for any),
 * `--host H` (default 127.0.0.1), `--reports` (print the crash and
 * supervisor reports, off here: the page's timeline shows them, and the
 * chaos monkey makes many). Also runs on Node (transpiled) and Bun
 * (`bun examples/observe.ts`).
 *
 * @module
 */
import process from "node:process";
import { type Observer, serve } from "../observer.ts";
import { setLevel } from "../logger.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const hostname = flag("host", "127.0.0.1");
const port = Number(flag("port", "4000"));
if (!process.argv.includes("--reports")) setLevel("none");
let observer: Observer;
try {
  observer = await serve({ hostname, port });
} catch (error) {
  if ((error as { code?: unknown })?.code !== "EADDRINUSE") throw error;
  observer = await serve({ hostname, port: 0 });
}

const address = `${observer.url}#token=${observer.token}`;
console.log(`
  Steward observer:  ${address}
  token for actions: ${observer.token}
  metrics:           ${observer.url}metrics
  (Ctrl-C to stop)
`);
// The demo's status lines would scroll the address away: print it again
// now and then, and the status less often than the demo alone does.
const reprint = setInterval(
  () => console.log(`  observer: ${address}`),
  10_000,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(reprint);
  await observer.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

// The demo runs for DEMO_MS; here, as long as the program runs (the longest
// timer delay JavaScript allows, ~24 days).
process.env.DEMO_MS ??= String(2 ** 31 - 1);
process.env.DEMO_SUMMARY_MS ??= "2000";
await import("./streams.ts");
