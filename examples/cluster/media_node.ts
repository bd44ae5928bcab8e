/**
 * One node of the media-server cluster demo (examples/cluster/media.ts),
 * also the node the cluster tracker's fault tests run as an OS process
 * (tests/cluster_tracker_test.ts; on Node and Bun, transpiled, on the built
 * package).
 *
 * It joins the cluster and opens the cluster tracker `media`, whose
 * children are streams: a stream serves a 1000-byte chunk every
 * `CHUNK_MS`, and a chunk counts once the stream's `bytes` attribute
 * (its running total, which moves with the stream from node to node) has
 * been written with it: it writes `bytes + 1000`, and only when the write
 * is acknowledged has it served the chunk.
 *
 * It prints one line per event on stdout, a history for the checker
 * (examples/cluster/_history.ts): `EV {json}` for the tracker's start,
 * stop and attr events and for the stream's write attempts, refusals (the
 * write was not made) and writes of unknown outcome (no answer: it may have
 * been stored),
 * plus `ready <node>`, `opened <id> <node>`, `attr <id> <json>` and
 * `failed <id> <message>` in answer to its commands, `LOST {json}` when a
 * stream opens that a lost node held, and `AFTER {json}` when
 * `afterTerminate` runs. It reads commands on
 * stdin, one per line: `open <id>` (findOrOpen, placed by the hash of the
 * id over the live nodes), `get <id>` (the `bytes` attribute), `quiet`
 * (streams stop writing), `close` (closes the tracker and the node, then
 * exits).
 *
 * Usage: `<runtime> media_node <servers> <node> <cluster> <leaseMs>`
 *
 * @module
 */
import process from "node:process";
import { connect } from "../../cluster.ts";
import { ClusterTracker } from "../../cluster_tracker.ts";
import { receive, self, spawn } from "../../process.ts";
import { sendAfter } from "../../timer.ts";
import {
  ClusterTrackerError,
  type ClusterTrackerErrorCode,
} from "../../errors.ts";

/** setAttr's error codes that mean the write was not made. */
const NOT_MADE: ReadonlySet<ClusterTrackerErrorCode> = new Set([
  "fenced",
  "not_owner",
  "closed",
]);

/** Ms between two chunks of a stream. */
const CHUNK_MS = 25;
const CHUNK = 1000;

const [servers, name, cluster, lease] = process.argv.slice(2).length >= 4
  ? process.argv.slice(2)
  : ((globalThis as { Deno?: { args: string[] } }).Deno?.args ?? []);
const leaseMs = Number(lease ?? 1000);

const emit = (event: Record<string, unknown>) =>
  console.log("EV " + JSON.stringify(event));

const node = await connect({
  servers,
  node: name,
  cluster,
  heartbeatMs: Math.max(20, Math.floor(leaseMs / 10)),
  leaseMs,
});
let quiet = false;

/** The stream `id`: serves chunks, each counted in its `bytes` attribute. */
function stream(id: string, base: number) {
  return spawn(async () => {
    let bytes = base;
    for (;;) {
      // Steward's timer and receive, not setTimeout: past its node's fence
      // deadline, the scheduler runs none of this (cluster_tracker.ts).
      sendAfter(CHUNK_MS, self(), "chunk");
      await receive((m) => m === "chunk");
      if (quiet) continue;
      const value = bytes + CHUNK;
      emit({
        type: "attempt",
        id,
        node: name,
        time: Date.now(),
        key: "bytes",
        value,
      });
      try {
        await tracker.setAttr(id, "bytes", value);
      } catch (error) {
        // "refused" only when the write surely was not made; a write with
        // no answer ("timeout", or an error from elsewhere) may be stored.
        const code = error instanceof ClusterTrackerError
          ? error.code
          : undefined;
        emit({
          type: code !== undefined && NOT_MADE.has(code)
            ? "refused"
            : "unknown",
          id,
          node: name,
          time: Date.now(),
          key: "bytes",
          value,
          code: code ?? String((error as Error)?.name),
        });
        return;
      }
      bytes = value;
    }
  });
}

const tracker = await ClusterTracker.open(node, {
  name: "media",
  start: (id, { attrs, lost }) => {
    if (lost !== null) {
      console.log("LOST " + JSON.stringify({ id, node: name, lost }));
    }
    return stream(id, typeof attrs.bytes === "number" ? attrs.bytes : 0);
  },
  afterTerminate: (id, reason, { fenced }) => {
    console.log(
      "AFTER " +
        JSON.stringify({ id, node: name, reason: String(reason), fenced }),
    );
  },
  place: (id, nodes) => nodes[hash(id) % nodes.length],
  onEvent: (e) => emit({ ...e, reason: String(e.reason ?? "") }),
});
console.log(`ready ${name}`);

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  }
  return h;
}

let buffer = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffer += chunk;
  for (;;) {
    const nl = buffer.indexOf("\n");
    if (nl < 0) break;
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    void command(line);
  }
});

async function command(line: string): Promise<void> {
  const [verb, id] = line.split(" ");
  try {
    if (verb === "open") {
      const pid = await tracker.findOrOpen(id, { timeout: 3 * leaseMs });
      console.log(`opened ${id} ${node.nodeOf(pid)}`);
    } else if (verb === "get") {
      console.log(
        `attr ${id} ${JSON.stringify(await tracker.getAttr(id, "bytes") ?? 0)}`,
      );
    } else if (verb === "quiet") {
      quiet = true;
      console.log("quiet");
    } else if (verb === "close") {
      await tracker.close();
      await node.close();
      console.log("closed");
      process.exit(0);
    }
  } catch (error) {
    console.log(`failed ${id} ${(error as Error).message}`);
  }
}
