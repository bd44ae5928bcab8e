// A/B of two (or more) builds of the library on a busy machine: each build's
// built npm package is loaded into ONE process and the builds take turns,
// round-robin, REPS rounds (default 15), each timed in CPU time
// (process.cpuUsage: user + system); the minimum per build is printed, in ns
// per operation. Wall-clock rates (bench/run.ts) swing by 2x when other jobs
// share the cores; builds measured side by side in one process suffer alike.
//
// Usage (any runtime; each argument is a directory holding a built package,
// as `deno task build:npm` leaves in dist/npm):
//   node bench/ab_cpu.mjs spawn_down /tmp/base/dist/npm dist/npm
//   deno run -A bench/ab_cpu.mjs call /tmp/base/dist/npm dist/npm
//   bun bench/ab_cpu.mjs handler /tmp/base/dist/npm dist/npm
// Workloads: spawn_down (spawn, exit, DOWN, one at a time), spawn_many
// (20,000 spawned, then their DOWNs), spawn_idle (20,000 blocked in receive,
// then killed), call (gen_server call), handler (message-driven ping-pong).
// Run it twice with the builds in both orders: the first loaded may gain.
import process from "node:process";
import { pathToFileURL } from "node:url";
const args = globalThis.Deno?.args ?? process.argv.slice(2);
const which = args[0];
const names = args.slice(1);
const libs = {};
for (const n of names) {
  libs[n] = await import(pathToFileURL(`${n}/mod.js`).href);
}
function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
function W(lib) {
  const { Process, GenServer } = lib;
  const { spawnMonitor, spawn, receive, send, self } = Process;
  return {
    async spawn_down(n) {
      for (let i = 0; i < n; i++) {
        const [, ref] = spawnMonitor(() => {});
        await receive((m) => m[1] === ref);
      }
    },
    async spawn_many(n) {
      const refs = new Set();
      for (let i = 0; i < n; i++) refs.add(spawnMonitor(() => {})[1]);
      while (refs.size > 0) refs.delete((await receive())[1]);
    },
    async spawn_idle(n) {
      // spawn n processes that wait, then kill them all
      const pids = [];
      for (let i = 0; i < n; i++) pids.push(spawn(() => receive()));
      await new Promise((r) => setTimeout(r, 0));
      for (const p of pids) Process.exit(p, "kill");
    },
    async call(n) {
      const pid = await GenServer.start({
        init: () => ["ok", null],
        handleCall: (_r, _f, s) => ["reply", "pong", s],
      }, undefined);
      for (let i = 0; i < n; i++) await GenServer.call(pid, "ping");
      await GenServer.stop(pid);
    },
    async handler(n) {
      const behaviour = {
        init: (main) => ["ok", { main, left: 0 }],
        handleInfo(m, s) {
          if (m[0] === "go") {
            s.left = m[2];
            send(m[1], [self(), "ping"]);
          } else if (m[1] === "ping") send(m[0], [self(), "pong"]);
          else if (--s.left > 0) send(m[0], [self(), "ping"]);
          else send(s.main, "done");
          return ["noreply", s];
        },
      };
      const a = await GenServer.start(behaviour, self());
      const b = await GenServer.start(behaviour, self());
      send(a, ["go", b, n]);
      await receive((m) => m === "done");
      await GenServer.stop(a);
      await GenServer.stop(b);
    },
  };
}
const N = {
  spawn_down: 30000,
  spawn_many: 20000,
  spawn_idle: 20000,
  call: 50000,
  handler: 100000,
};
const n = N[which];
const fns = Object.fromEntries(names.map((k) => [k, W(libs[k])[which]]));
for (const k of names) {
  await fns[k](n);
  await fns[k](n);
}
const xs = Object.fromEntries(names.map((k) => [k, []]));
const reps = +(process.env.REPS ?? 15);
for (let r = 0; r < reps; r++) {
  const order = r % 2 ? names : [...names].reverse();
  for (const k of order) {
    const t = cpu();
    await fns[k](n);
    xs[k].push((cpu() - t) / n);
  }
}
const out = { which, unit: "cpu ns/op" };
for (const k of names) out[k] = Math.round(Math.min(...xs[k]));
console.log(JSON.stringify(out));
