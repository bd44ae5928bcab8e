// Top-level request handlers that spawnLink, Task.async and startLink per
// request, as a service's HTTP handlers would, `concurrency` at a time; then
// what the main process holds. Issue 11: "after 1,000,000 such requests, main
// holds no backlog". Runs on Node, Deno and Bun:
//
//   node bench/main_backlog.mjs dist/npm/ .js 1000000
//   deno run -A bench/main_backlog.mjs ./ .ts 1000000
//   bun bench/main_backlog.mjs dist/npm/ .js 1000000
//
// Arguments: the library's directory (or file URL), the modules' extension,
// the number of requests. Prints one JSON line.
import process from "node:process";
import { pathToFileURL } from "node:url";

const [dirArg = "./", ext = ".ts", countArg = "100000"] = process.argv.slice(2);
const base = dirArg.startsWith("file:")
  ? dirArg
  : pathToFileURL(dirArg.endsWith("/") ? dirArg : dirArg + "/").href;
const { processInfo, self, spawnLink } = await import(`${base}process${ext}`);
const gs = await import(`${base}gen_server${ext}`);
const task = await import(`${base}task${ext}`);
const supervisor = await import(`${base}supervisor${ext}`);

const requests = Number(countArg);
const concurrency = 100;

function gc() {
  const g = globalThis;
  if (typeof g.gc === "function") g.gc();
  else if (g.Bun) g.Bun.gc(true);
}

function heapMb() {
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
}

const server = {
  init: () => ["ok", 0],
  handleCall: (req, _from, n) => ["reply", req, n + 1],
};

const sup = await task.startSupervisor();

async function handle(i) {
  switch (i % 3) {
    case 0: {
      // Fire and forget: a linked helper that ends normally.
      spawnLink(() => {});
      return;
    }
    case 1: {
      const t = await task.async(sup, () => i);
      if ((await task.join(t)) !== i) throw new Error("wrong task result");
      return;
    }
    case 2: {
      const pid = await gs.startLink(server, undefined);
      if ((await gs.call(pid, i)) !== i) throw new Error("wrong reply");
      await gs.stop(pid);
      return;
    }
  }
}

const start = performance.now();
let heapAfterWarmup = 0;
for (let i = 0; i < requests; i += concurrency) {
  const batch = [];
  for (let j = i; j < Math.min(i + concurrency, requests); j++) {
    batch.push(handle(j));
  }
  await Promise.all(batch);
  if (i === Math.floor(requests / 10 / concurrency) * concurrency) {
    heapAfterWarmup = heapMb();
  }
}
await supervisor.stop(sup);
// Let the last deaths be delivered.
await new Promise((resolve) => setTimeout(resolve, 10));
const info = processInfo(self());
console.log(JSON.stringify({
  requests,
  seconds: Math.round((performance.now() - start) / 10) / 100,
  mainQueue: info.messageQueueLength,
  mainLinks: info.links.length,
  heapMbAfterWarmup: heapAfterWarmup,
  heapMbAtEnd: heapMb(),
}));
