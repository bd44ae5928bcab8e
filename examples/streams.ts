/**
 * The README's demo: a small media server.
 *
 * - A top supervisor (one_for_one) runs a table manager, the cache server,
 *   the stream tracker and a pool of viewers.
 * - Viewers open streams by name with `tracker.findOrOpen` (a lookup when the
 *   stream runs; otherwise the tracker starts it, once however many viewers
 *   race for it) and count the bytes they receive with `tracker.increment`.
 * - Streams crash at random (a decoder error) or end; the tracker's
 *   afterTerminate books each dead stream's bytes into the archive, so no
 *   byte is lost: at the end, bytes sent = bytes archived.
 * - The cache server owns a table of stream metadata that a table manager
 *   keeps: when the cache crashes (a chaos monkey kills it), the supervisor
 *   restarts it and the manager gives it the same table, rows and all.
 *
 * A live summary is printed twice a second. Run: `npm run demo` (or
 * `deno task demo`); it ends by itself after ~4 s (`DEMO_MS` to change).
 *
 * @module
 */
import * as supervisor from "../supervisor.ts";
import * as tracker from "../tracker.ts";
import * as TableManager from "../table_manager.ts";
import { type GenServer, startLink } from "../gen_server.ts";
import { exit, type Pid, receive, spawnLink, whereis } from "../process.ts";
import * as ets from "../ets.ts";
import { TimeoutError } from "../errors.ts";

const RUN_MS = Number(globalThis.process?.env?.DEMO_MS ?? 4000);
/** How often the status line prints (`DEMO_SUMMARY_MS`). */
const SUMMARY_MS = Number(globalThis.process?.env?.DEMO_SUMMARY_MS ?? 500);
const STREAMS = 40; // stream names the viewers choose from
const VIEWERS = 25;
const started = performance.now();
const clock = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------- tallies --

const tally = {
  opened: 0, // stream processes started by the tracker
  crashed: 0, // streams that crashed
  ended: 0, // streams that ended normally
  bytesSent: 0, // bytes viewers counted into a live stream
  bytesArchived: 0, // bytes booked by afterTerminate
  missed: 0, // chunks for a stream that died between lookup and increment
  cacheRestarts: 0,
};

function sleep(ms: number): Promise<void> {
  return receive(() => false, { timeout: ms }).then(
    () => {},
    (e) => {
      if (!(e instanceof TimeoutError)) throw e;
    },
  );
}

// ---------------------------------------------------------------- streams --

/** A stream: plays until it ends (rarely) or its decoder crashes (less rarely). */
function startStream(name: string): Pid {
  tally.opened++;
  // The cache (kept by the table manager) remembers how often each stream
  // was opened, across cache crashes.
  ets.whereis("stream_meta")?.updateCounter(name, 1, { default: [name, 0] });
  return spawnLink(async () => {
    for (;;) {
      await sleep(20 + Math.random() * 60);
      const r = Math.random();
      if (r < 0.01) throw new Error(`decoder crashed on ${name}`);
      if (r < 0.015) return; // the stream ended
    }
  });
}

function afterTerminate(
  _id: unknown,
  attrs: Record<string, unknown>,
  reason: unknown,
): void {
  tally.bytesArchived += Number(attrs.bytes ?? 0);
  if (reason === "normal") tally.ended++;
  else if (reason !== "shutdown") tally.crashed++;
}

// ---------------------------------------------------------------- viewers --

/** A viewer: watches a random stream for a while, then zaps to another. */
function viewer(): Pid {
  return spawnLink(async () => {
    for (;;) {
      // Popular streams are popular: a skewed choice.
      const n = Math.floor(STREAMS * Math.random() ** 2);
      const id = `stream-${n}`;
      await tracker.findOrOpen("streams", {
        id,
        start: () => startStream(id),
        restart: "temporary",
      });
      for (let chunk = 0; chunk < 10; chunk++) {
        const bytes = 1000 + Math.floor(Math.random() * 500);
        try {
          tracker.increment("streams", id, "bytes", bytes, { default: 0 });
          tally.bytesSent += bytes;
        } catch {
          tally.missed++; // the stream died meanwhile: zap
          break;
        }
        await sleep(5);
      }
    }
  });
}

// ------------------------------------------------------------------ cache --

/** The cache server: holds the metadata table the manager gives it. */
const cache: GenServer<ets.Table | null, undefined> = {
  init: () => {
    tally.cacheRestarts++;
    return ["ok", null];
  },
  handleInfo: (msg, table) => {
    if (Array.isArray(msg) && msg[0] === "ETS-TRANSFER") {
      return ["noreply", msg[1] as ets.Table];
    }
    return ["noreply", table];
  },
};

// ------------------------------------------------------------------- main --

const events: Record<string, number> = {};
const off = tracker.subscribe((e) => {
  events[e.type] = (events[e.type] ?? 0) + 1;
});

const top = await supervisor.start({
  strategy: "one_for_one",
  intensity: 100,
  period: 1,
  children: [
    {
      id: "cache_keeper",
      start: () =>
        TableManager.startLink(
          "cache",
          { access: "public", named: true },
          { tableName: "stream_meta" },
        ),
    },
    {
      id: "cache",
      start: () => startLink(cache, undefined, { name: "cache" }),
    },
    {
      id: "streams",
      type: "supervisor",
      start: () => tracker.startLink("streams", { afterTerminate }),
    },
    {
      id: "viewers",
      type: "supervisor",
      start: () =>
        supervisor.startLink({
          strategy: "one_for_one",
          intensity: 10,
          children: Array.from({ length: VIEWERS }, (_, i) => ({
            id: `viewer-${i}`,
            start: viewer,
          })),
        }),
    },
  ],
});

function summary(): void {
  const live = tracker.list("streams", ["bytes"]);
  const liveBytes = live.reduce((s, c) => s + Number(c.attrs.bytes ?? 0), 0);
  const meta = ets.whereis("stream_meta");
  console.log(
    `[${clock()}] streams live ${
      String(live.length).padStart(2)
    } | opened ${tally.opened} crashed ${tally.crashed} ended ${tally.ended} | ` +
      `MB sent ${(tally.bytesSent / 1e6).toFixed(2)} = live ${
        (liveBytes / 1e6).toFixed(2)
      } + archived ${(tally.bytesArchived / 1e6).toFixed(2)} | ` +
      `cache rows ${meta?.info()?.size ?? "-"} (cache restarts ${
        tally.cacheRestarts - 1
      })`,
  );
}

// The chaos monkey: kills the cache now and then, and a stream or two.
const monkey = spawnLink(async () => {
  for (;;) {
    await sleep(400);
    const pid = whereis("cache");
    if (pid !== undefined) exit(pid, "kill");
    const victims = tracker.list("streams").filter((c) => c.pid !== undefined);
    const victim = victims[Math.floor(Math.random() * victims.length)];
    if (victim?.pid !== undefined) exit(victim.pid, "kill");
  }
});

const ticker = setInterval(summary, SUMMARY_MS);
await new Promise((resolve) => setTimeout(resolve, RUN_MS));
clearInterval(ticker);
exit(monkey, "kill");
summary();
// Stopping the top supervisor stops the viewers, then the tracker: its
// afterTerminate books the bytes of every stream still live.
await supervisor.stop(top, "shutdown");
off();
const ok = tally.bytesSent === tally.bytesArchived;
console.log(
  `done: ${tally.opened} streams opened, ${tally.crashed} crashed, ${tally.ended} ended; ` +
    `every byte accounted for: ${ok ? "yes" : "NO"} ` +
    `(${tally.bytesSent} sent, ${tally.bytesArchived} archived); ` +
    `${tally.missed} chunks found their stream gone; tracker events: ${
      JSON.stringify(events)
    }`,
);
if (!ok) globalThis.process?.exit?.(1);
