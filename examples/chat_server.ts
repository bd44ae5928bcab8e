/**
 * The chat service (see examples/chat/server.ts): `deno task chat`, or
 * `bun examples/chat_server.ts`, or on Node the transpiled copy that
 * `deno task chat:load --server node` builds.
 *
 * Flags: `--port N` (default 8080; 0 picks a free one), `--host H`
 * (default 127.0.0.1), `--chaos-ms N` (kill a random connection, room or
 * store process every N ms; default 0, or the CHAT_CHAOS_MS environment
 * variable). Prints `listening on http://host:port` once it serves, and
 * stops on SIGINT/SIGTERM or when its standard input closes (so a parent
 * that dies takes it along).
 *
 * @module
 */
import process from "node:process";
import { startChatServer } from "./chat/server.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const server = await startChatServer({
  port: Number(flag("port", "8080")),
  host: flag("host", "127.0.0.1"),
  chaosMs: Number(flag("chaos-ms", process.env.CHAT_CHAOS_MS ?? "0")),
});
console.log(`listening on ${server.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (process.argv.includes("--stdin-lifeline")) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}
