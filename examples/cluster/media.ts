/**
 * `npm run demo:cluster`: a media-server cluster losing nodes, and a check
 * that no stream ever ran twice and no byte went missing.
 *
 * It starts a nats-server (JetStream) on a free loopback port and three
 * nodes (media_node.ts) as separate OS processes, `a`, `b` and `c`, with a
 * one-second lease. Streams are children of the cluster tracker `media`,
 * opened by id from any node (placed by the id's hash over the live
 * nodes); each serves a 1000-byte chunk every 25 ms and counts it in its
 * `bytes` attribute. The demo drives `findOrOpen` load across the nodes,
 * then:
 *
 * 1. SIGKILLs `b`: its streams reopen on `a` and `c` once its lease lapses;
 * 2. SIGSTOPs `c` for 2.5 leases, then SIGCONTs it: `c` fenced itself (its
 *    streams were killed at its lease deadline), and they reopen elsewhere;
 * 3. reopens every stream, quiets them, reads every `bytes` attribute,
 *    closes the nodes and the server, and checks the history.
 *
 * It ends with the line
 * `cluster: <ids> ids, <n> overlaps, every byte accounted for: yes|no`:
 * - **overlaps**: pairs of children of one id live at the same time (from
 *   the start/stop events with the node's clock and the KV revision; a
 *   SIGKILLed node's children end at the kill; see _history.ts);
 * - **every byte accounted for**: for every id, the bytes its children
 *   served (1000 per write of `bytes` that the store acknowledged) equal
 *   the bytes its `bytes` attribute counts, give or take the writes of
 *   unknown outcome (left unanswered by a node killed or fenced with the
 *   write in flight, or rejected with no answer from the store: the store
 *   may or may not have them): acknowledged <= counted <= acknowledged +
 *   unknown, with no acknowledged write lost and none made after another
 *   node claimed the id. The history is taken after the streams are
 *   quieted and before the attributes are read.
 *
 * It exits 0 when there are 0 overlaps and every byte is accounted for, 1
 * otherwise. It stops by itself in about 15 s and leaves nothing running.
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { NatsServer } from "../../tests/_nats.ts";
import { checkHistory, type HistoryEvent } from "./_history.ts";
import { NodeProgram } from "./_node_program.ts";

const LEASE_MS = 1000;
const IDS = Array.from({ length: 24 }, (_, i) => `stream-${i}`);
const PROGRAM = fileURLToPath(
  new URL(
    `./media_node.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`,
    import.meta.url,
  ),
);
const started = performance.now();
const say = (line: string) =>
  console.log(
    `[${
      ((performance.now() - started) / 1000).toFixed(1).padStart(4)
    }s] ${line}`,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `open` for random ids to random live nodes for `ms`. */
async function load(nodes: NodeProgram[], ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const node = nodes[Math.floor(Math.random() * nodes.length)];
    node.say(`open ${IDS[Math.floor(Math.random() * IDS.length)]}`);
    await sleep(20);
  }
}

/** Opens every id through `via` until none runs on `avoid`. */
async function openAll(
  via: NodeProgram,
  avoid: string[],
): Promise<Map<string, string>> {
  const where = new Map<string, string>();
  const deadline = performance.now() + 15_000;
  while (where.size < IDS.length && performance.now() < deadline) {
    const from = via.stdout.length;
    const todo = IDS.filter((id) => !where.has(id));
    for (const id of todo) via.say(`open ${id}`);
    for (const id of todo) {
      const m = await via.waitFor(
        new RegExp(`^(opened|failed) ${id} (\\S+)`, "m"),
        from,
      );
      if (m[1] === "opened" && !avoid.includes(m[2])) where.set(id, m[2]);
    }
    if (where.size < IDS.length) await sleep(100);
  }
  return where;
}

function spread(where: Map<string, string>): string {
  const count: Record<string, number> = {};
  for (const node of where.values()) count[node] = (count[node] ?? 0) + 1;
  return Object.entries(count).sort().map(([n, c]) => `${n}: ${c}`).join(
    ", ",
  );
}

async function main(): Promise<number> {
  const server = await NatsServer.start();
  say(`nats-server with JetStream on ${server.url}`);
  const cluster = `media${Math.random().toString(36).slice(2, 6)}`;
  const nodes: NodeProgram[] = [];
  const crashes: HistoryEvent[] = [];
  try {
    for (const name of ["a", "b", "c"]) {
      nodes.push(new NodeProgram(PROGRAM, server.url, name, cluster, LEASE_MS));
    }
    for (const n of nodes) {
      await n.waitFor(new RegExp(`^ready ${n.name}$`, "m"));
    }
    const [a, b, c] = nodes;
    await sleep(300); // the nodes hear of each other
    say("nodes a, b, c are up (separate OS processes, lease 1000 ms)");
    say(`streams: ${spread(await openAll(a, []))}`);
    await load(nodes, 1500);

    say("SIGKILL b");
    crashes.push({ type: "crash", node: "b", time: Date.now() });
    await b.kill();
    await load([a, c], 1500);
    say(`streams: ${spread(await openAll(a, ["b"]))}`);

    say(`SIGSTOP c for ${2.5 * LEASE_MS} ms`);
    c.signal("SIGSTOP");
    const pausedAt = performance.now();
    try {
      await load([a], 1000);
      say(`streams: ${spread(await openAll(a, ["b", "c"]))}`);
      const left = pausedAt + 2.5 * LEASE_MS - performance.now();
      if (left > 0) await sleep(left);
    } finally {
      c.signal("SIGCONT");
    }
    say("SIGCONT c");
    await load([a, c], 1000);
    const fenced = c.events().filter((e) => e.type === "stop" && e.fenced);
    say(`c fenced ${fenced.length} streams when it missed its lease`);
    say(`streams: ${spread(await openAll(a, ["b"]))}`);

    for (const n of [a, c]) {
      const from = n.stdout.length;
      n.say("quiet");
      await n.waitFor(/^quiet$/m, from);
    }
    await sleep(300); // writes in flight are answered
    // The history before the store is read: every write it acknowledges
    // was stored before the read, and every write that may land before the
    // read was attempted in it (quiet nodes attempt no more).
    const events = [...crashes, ...nodes.flatMap((n) => n.events())];
    const final = new Map<string, Record<string, unknown>>();
    const from = a.stdout.length;
    for (const id of IDS) a.say(`get ${id}`);
    for (const id of IDS) {
      const m = await a.waitFor(new RegExp(`^attr ${id} (.*)$`, "m"), from);
      final.set(id, { bytes: JSON.parse(m[1]) });
    }
    await a.close();
    await c.close();

    const report = checkHistory(events, final);
    const accounted = report.lostWrites.length === 0 &&
      report.staleWrites.length === 0 && bytesAccounted(events, final);
    const served = [...final.values()].reduce(
      (sum, attrs) => sum + (attrs.bytes as number),
      0,
    );
    say(
      `${report.intervals.length} stream children in all; ${served} bytes counted`,
    );
    for (const o of report.overlaps) {
      say(`overlap: ${o.id} on ${o.first.node} and ${o.second.node}`);
    }
    console.log(
      `cluster: ${report.ids} ids, ${report.overlaps.length} overlaps, every byte accounted for: ${
        accounted ? "yes" : "no"
      }`,
    );
    return report.overlaps.length === 0 && accounted ? 0 : 1;
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await server.stop();
  }
}

/**
 * For every id: acknowledged <= counted <= acknowledged + unanswered, in
 * bytes (1000 per write).
 */
function bytesAccounted(
  events: HistoryEvent[],
  final: Map<string, Record<string, unknown>>,
): boolean {
  for (const id of IDS) {
    const mine = events.filter((e) => e.id === id && e.key === "bytes");
    const acked = mine.filter((e) => e.type === "attr").length * 1000;
    const answered = new Set(
      mine.filter((e) => e.type === "attr" || e.type === "refused").map((e) =>
        `${e.node} ${e.value}`
      ),
    );
    const unanswered = mine.filter((e) =>
      e.type === "attempt" && !answered.has(`${e.node} ${e.value}`)
    ).length * 1000;
    const counted = final.get(id)?.bytes as number;
    if (!(acked <= counted && counted <= acked + unanswered)) {
      say(
        `${id}: ${acked} bytes acknowledged, ${counted} counted, ${unanswered} unanswered`,
      );
      return false;
    }
  }
  return true;
}

process.exitCode = await main();
