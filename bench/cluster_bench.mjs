// Steward's cluster benchmarks (issue 15, "Speed"): nodes as separate OS
// processes on one nats-server that bench/run.ts starts on a free loopback
// port. Each role is one OS process of the runtime under test; the roles
// that measure print ONE JSON object on stdout (their last line).
//
// Usage: <runtime> bench/cluster_bench.mjs <lib-dir-url> [quick] <role> ...
//   <lib-dir-url>: the directory of the library (the sources on Deno and
//   Bun, the built package on Node); the role imports cluster, gen-server,
//   ets and process from it (`.ts` or `.js`, whichever is there).
//
// Roles:
//   serve <url> <node> <cluster>
//       A node with a registered gen_server "echo" (replies with what it
//       gets), and, on a NATS connection of its own, a raw responder on
//       `bench.<cluster>.raw.<node>` that answers each request with its
//       payload bytes. Says "ready" on stdout, serves until killed.
//   call <url> <node> <cluster> <peer>
//       Remote GenServer.call round trip to <peer>'s "echo" against a raw
//       NATS request/reply of the same payload to <peer>'s raw responder,
//       on the same server, one at a time (latency) and 64 in flight
//       (throughput). Interleaved rounds; medians.
//         cluster_call_us, cluster_raw_us, cluster_call_ratio
//         cluster_call_par_per_s, cluster_raw_par_per_s
//   failover <url> <node> <cluster> <self-script> <runtime-cmd-json>
//       Starts a node (role `serve`) as a child OS process, monitors its
//       "echo", SIGKILLs it, and times the DOWN noconnection; N times.
//         cluster_failover_median_ms, cluster_failover_p99_ms,
//         cluster_lease_ms, cluster_heartbeat_ms
//   work <url> <node> <cluster> <ops> <first-id> <ids>
//       The partitionable workload: a node serving ids first-id ..
//       first-id+ids-1, one gen_server per id owning its rows in a public
//       ETS table; it warms up (WARM_UP calls, untimed), says "ready" and
//       keeps calling until "go" (a line on stdin); then it makes <ops>
//       calls to its own ids (each call: two updateCounter and a lookup in
//       ETS) and prints
//       {"start": ms, "end": ms, "cpu_ms": ms, "js_cpu_ms": ms} (wall
//       clock, performance.timeOrigin-based; the CPU time this process
//       used, and that of its JS thread alone, where Linux says).
//   tserve <url> <node> <cluster> <n>
//       A node with a ClusterTracker "bench" that opens ids r0..r<n-1>
//       (children: idle processes). Says "ready", serves until killed.
//   tfind <url> <node> <cluster> <n> <peer>
//       Waits until its tracker's cache has <peer>'s n ids, then times
//       find() of those remote ids, findOrOpen() of new ids (here, one at a
//       time), find() of its own ids, and the local tracker's (tracker.ts)
//       find() of as many ids.
//         cluster_find_remote_ns, cluster_find_own_ns, local_find_ns,
//         cluster_open_ms
//   tfail <url> <node> <cluster> <self-script> <runtime-cmd-json>
//       Failover of tracked ids: a node (role tvictim) opens 5 ids and is
//       SIGKILLed; this node calls findOrOpen() on them until each is
//       reopened here. Time from the kill to each reopen; 10 kills.
//         cluster_tracker_failover_median_ms, ..._p99_ms
//   tvictim <url> <node> <cluster> <prefix> <k>
//       Opens ids <prefix>0..<prefix><k-1> in tracker "fo"; says "ready".

const argv = globalThis.Deno?.args ?? globalThis.process.argv.slice(2);
const [libDir, ...rest0] = argv;
const quick = rest0.includes("quick");
const rest = rest0.filter((a) => a !== "quick");
const [role, url, nodeName, cluster, ...more] = rest;

const ext = libDir.includes("/npm/") ? "js" : "ts";
const lib = (m) => import(new URL(`${m}.${ext}`, libDir).href);
const { connect } = await lib("cluster");
const GenServer = await lib("gen_server");
const Ets = await lib("ets");
const Process = await lib("process");
const { connect: natsConnect } = await import("@nats-io/transport-node");
const { ClusterTracker } = await lib("cluster_tracker");
const Tracker = await lib("tracker");

import { median } from "./_measure.mjs";
import { readFileSync } from "node:fs";

const LEASE_MS = 1000;
/** Calls each workload node makes before it says "ready" (untimed). */
const WARM_UP = quick ? 100_000 : 1_000_000;
const HEARTBEAT_MS = 200;

/** The payload of every call and request: a small, typical record. */
const PAYLOAD = {
  id: ["stream", 4242],
  op: "get",
  attrs: { bitrate: 1500, codec: "h264", live: true },
  note: "x".repeat(64),
};

const now = () => performance.timeOrigin + performance.now();

function exit(code) {
  if (globalThis.Deno) globalThis.Deno.exit(code);
  else globalThis.process.exit(code);
}

async function serve() {
  await connect({
    servers: url,
    node: nodeName,
    cluster,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  await GenServer.start(
    {
      init: () => ["ok", null],
      handleCall: (req, _from, state) => ["reply", req, state],
    },
    undefined,
    { name: "echo" },
  );
  const raw = await natsConnect({ servers: url, name: `raw ${nodeName}` });
  raw.subscribe(`bench.${cluster}.raw.${nodeName}`, {
    callback: (err, msg) => {
      if (err === null) msg.respond(msg.data);
    },
  });
  console.log("ready");
}

async function callBench() {
  const peer = more[0];
  const node = await connect({
    servers: url,
    node: nodeName,
    cluster,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  const echo = await node.whereis(peer, "echo");
  if (echo === undefined) throw new Error(`no echo on ${peer}`);
  const raw = await natsConnect({ servers: url, name: `raw ${nodeName}` });
  const subject = `bench.${cluster}.raw.${peer}`;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const rawOnce = async () => {
    const m = await raw.request(subject, enc.encode(JSON.stringify(PAYLOAD)), {
      timeout: 5000,
    });
    return JSON.parse(dec.decode(m.data));
  };
  const callOnce = () => GenServer.call(echo, PAYLOAD);

  // Sanity: both answer with the payload.
  const a = await callOnce();
  const b = await rawOnce();
  if (JSON.stringify(a) !== JSON.stringify(PAYLOAD)) throw new Error("call");
  if (JSON.stringify(b) !== JSON.stringify(PAYLOAD)) throw new Error("raw");

  // The machine is shared: the two are measured in short blocks taken in
  // turn (which goes first alternates), and each figure is the median of
  // its blocks, so that a burst of load elsewhere hits both alike.
  const BLOCK = 100;
  const BLOCKS = quick ? 10 : 60;
  const seq = async (once) => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) await once();
    return (performance.now() - t0) * 1000 / BLOCK;
  };
  const PAR = 64;
  const par = async (once) => {
    const total = BLOCK * 20;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: PAR }, async () => {
      while (next++ < total) await once();
    }));
    return total / ((performance.now() - t0) / 1000);
  };
  // warm-up
  for (let i = 0; i < 5; i++) {
    await seq(callOnce);
    await seq(rawOnce);
  }
  const callUs = [], rawUs = [], callPar = [], rawPar = [];
  for (let r = 0; r < BLOCKS; r++) {
    if (r % 2 === 0) {
      callUs.push(await seq(callOnce));
      rawUs.push(await seq(rawOnce));
    } else {
      rawUs.push(await seq(rawOnce));
      callUs.push(await seq(callOnce));
    }
  }
  for (let r = 0; r < BLOCKS / 5; r++) {
    if (r % 2 === 0) {
      callPar.push(await par(callOnce));
      rawPar.push(await par(rawOnce));
    } else {
      rawPar.push(await par(rawOnce));
      callPar.push(await par(callOnce));
    }
  }
  // Per-block ratios too: the median of call/raw over adjacent blocks.
  const ratios = callUs.map((c, i) => c / rawUs[i]);
  await raw.close();
  await node.close();
  console.log(JSON.stringify({
    cluster_call_us: median(callUs),
    cluster_raw_us: median(rawUs),
    cluster_call_ratio: median(ratios),
    cluster_call_par_per_s: median(callPar),
    cluster_raw_par_per_s: median(rawPar),
  }));
}

async function failover() {
  const [script, cmdJson] = more;
  const [cmd, ...cmdArgs] = JSON.parse(cmdJson);
  const { spawn } = await import("node:child_process");
  const node = await connect({
    servers: url,
    node: nodeName,
    cluster,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  const TRIALS = quick ? 4 : 25;
  const times = [];
  for (let i = 0; i < TRIALS; i++) {
    const victim = `victim${i}`;
    const child = spawn(cmd, [
      ...cmdArgs,
      script,
      libDir,
      "serve",
      url,
      victim,
      cluster,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (s) => {
        out += s;
        if (out.includes("ready")) resolve();
      });
      child.once("exit", () => reject(new Error(`${victim} exited`)));
    });
    const echo = await node.whereis(victim, "echo");
    // A process here monitors it and reports the time of its DOWN.
    const took = await new Promise((resolve) => {
      Process.spawn(async () => {
        const ref = Process.monitor(echo);
        // Both sides have heard each other's heartbeats for a while.
        await Process.receive(() => false, { timeout: 2 * HEARTBEAT_MS })
          .catch(() => undefined);
        const t0 = now();
        child.kill("SIGKILL");
        const down = await Process.receive(
          (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
          { timeout: 10 * LEASE_MS },
        );
        if (down[4] !== "noconnection") {
          throw new Error(`DOWN ${String(down[4])}`);
        }
        resolve(now() - t0);
      });
    });
    await exited;
    child.stdout.destroy();
    times.push(took);
  }
  await node.close();
  const s = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({
    cluster_failover_median_ms: median(times),
    cluster_failover_p99_ms:
      s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)],
    cluster_failover_max_ms: s.at(-1),
    cluster_lease_ms: LEASE_MS,
    cluster_heartbeat_ms: HEARTBEAT_MS,
  }));
}

async function work() {
  const [opsS, firstS, idsS] = more;
  const ops = Number(opsS), first = Number(firstS), ids = Number(idsS);
  await connect({
    servers: url,
    node: nodeName,
    cluster,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
  const table = Ets.create(`work_${nodeName}`, { access: "public" });
  const servers = [];
  for (let i = 0; i < ids; i++) {
    const id = first + i;
    table.insert([["stream", id], 0, 0]);
    servers.push(
      await GenServer.start({
        init: () => ["ok", id],
        handleCall: (req, _from, state) => {
          const key = ["stream", state];
          const n = table.updateCounter(key, [1, 1]);
          table.updateCounter(key, [2, req.bytes]);
          return ["reply", [n, table.lookup(key)[0][2]], state];
        },
      }, undefined),
    );
  }
  // 16 callers, each working through its share of the calls, as a server
  // would serve concurrent requests.
  const CALLERS = 16;
  const drive = async (calls) => {
    let next = 0;
    let check = 0;
    await Promise.all(Array.from({ length: CALLERS }, async () => {
      for (let i; (i = next++) < calls;) {
        const [n] = await GenServer.call(servers[(i * 7919) % ids], {
          bytes: i & 1023,
        });
        check += n > 0 ? 1 : 0;
      }
    }));
    if (check !== calls) {
      throw new Error(`only ${check} of ${calls} calls answered`);
    }
  };
  // Warm-up, untimed, the same on every node: a node serves for hours, and
  // what is measured is its steady state, not the JIT compiling the hot
  // paths and the heap growing to its working size (which runs on helper
  // threads beside the JS thread, and would count a second time on two
  // nodes). Deno takes longest: ~600,000 calls before its CPU per call
  // settles (from ~3 µs to ~1.2 µs). The node then keeps calling until "go"
  // (a line on stdin), so that it does not sit idle while the other node
  // warms up: after a second idle, Deno's next ~400,000 calls were ~1.5x
  // dearer.
  await drive(WARM_UP);
  let go = false;
  const stdin = globalThis.process.stdin;
  stdin.setEncoding("utf8");
  stdin.on("data", (s) => {
    if (s.includes("go")) go = true;
  });
  console.log("ready");
  while (!go) await drive(10_000);
  stdin.pause();
  const cpu0 = globalThis.process.cpuUsage();
  const js0 = jsThreadMs();
  const start = now();
  await drive(ops);
  const end = now();
  const js1 = jsThreadMs();
  const cpu = globalThis.process.cpuUsage(cpu0);
  console.log(JSON.stringify({
    start,
    end,
    cpu_ms: (cpu.user + cpu.system) / 1000,
    js_cpu_ms: js0 === undefined || js1 === undefined ? undefined : js1 - js0,
  }));
  exit(0);
}

/**
 * The CPU time of the thread that runs JS (this one), in ms, from Linux's
 * /proc/thread-self/stat (10 ms ticks); undefined elsewhere. The rest of the
 * process's CPU time is its helper threads' (GC, JIT, I/O).
 */
function jsThreadMs() {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime: fields 14 and 15 of stat(5), in clock ticks (100/s)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The ClusterTracker of the benchmarks: idle children. */
function openTracker(node, name) {
  return ClusterTracker.open(node, {
    name,
    start: () => Process.spawn(() => Process.receive(() => false)),
  });
}

async function nodeOf(name) {
  return await connect({
    servers: url,
    node: name,
    cluster,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
  });
}

async function tserve() {
  const n = Number(more[0]);
  const node = await nodeOf(nodeName);
  const tracker = await openTracker(node, "bench");
  for (let i = 0; i < n; i++) await tracker.findOrOpen(`r${i}`);
  console.log("ready");
}

/** ns per op of `op(i)` over `n` ids in a scattered order: median of runs. */
function timeFind(n, op) {
  const runs = [];
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    const ops = quick ? 200_000 : 1_000_000;
    let hits = 0;
    const t0 = performance.now();
    for (let k = 0; k < ops; k++) {
      if (op((k * 7919) % n) !== undefined) hits++;
    }
    const ns = (performance.now() - t0) * 1e6 / ops;
    if (hits !== ops) throw new Error(`find missed ${ops - hits} of ${ops}`);
    runs.push(ns);
  }
  return median(runs);
}

async function tfind() {
  const [nS, peer] = more;
  const n = Number(nS);
  const node = await nodeOf(nodeName);
  const tracker = await openTracker(node, "bench");
  const remote = Array.from({ length: n }, (_, i) => `r${i}`);
  const deadline = Date.now() + 30_000;
  while (!remote.every((id) => tracker.find(id) !== undefined)) {
    if (Date.now() > deadline) throw new Error(`${peer}'s ids not in cache`);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (node.nodeOf(tracker.find("r0")) !== peer) throw new Error("not remote");
  const findRemote = timeFind(n, (i) => tracker.find(remote[i]));

  // findOrOpen of new ids, here, one at a time
  const OPENS = quick ? 50 : 300;
  const openMs = [];
  for (let i = 0; i < OPENS; i++) {
    const t0 = performance.now();
    await tracker.findOrOpen(`o${i}`);
    openMs.push(performance.now() - t0);
  }
  const own = Array.from({ length: OPENS }, (_, i) => `o${i}`);
  const findOwn = timeFind(OPENS, (i) => tracker.find(own[i]));

  // the local tracker (tracker.ts), as many ids as the remote ones
  await Tracker.start("local_bench");
  const start = () => Process.spawn(() => Process.receive(() => false));
  for (let i = 0; i < n; i++) {
    await Tracker.findOrOpen("local_bench", { id: remote[i], start });
  }
  const findLocal = timeFind(n, (i) => Tracker.find("local_bench", remote[i]));
  await Tracker.stop("local_bench");
  console.log(JSON.stringify({
    cluster_find_remote_ns: findRemote,
    cluster_find_own_ns: findOwn,
    local_find_ns: findLocal,
    cluster_find_ratio: findRemote / findLocal,
    cluster_open_ms: median(openMs),
  }));
}

async function tvictim() {
  const [prefix, kS] = more;
  const node = await nodeOf(nodeName);
  const tracker = await openTracker(node, "fo");
  for (let j = 0; j < Number(kS); j++) await tracker.findOrOpen(prefix + j);
  console.log("ready");
}

async function tfail() {
  const [script, cmdJson] = more;
  const [cmd, ...cmdArgs] = JSON.parse(cmdJson);
  const { spawn } = await import("node:child_process");
  const node = await nodeOf(nodeName);
  const tracker = await openTracker(node, "fo");
  const TRIALS = quick ? 2 : 10;
  const K = 5;
  const times = [];
  for (let t = 0; t < TRIALS; t++) {
    const prefix = `v${t}-`;
    const child = spawn(cmd, [
      ...cmdArgs,
      script,
      libDir,
      "tvictim",
      url,
      `tvictim${t}`,
      cluster,
      prefix,
      String(K),
    ], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (s) => {
        out += s;
        if (out.includes("ready")) resolve();
      });
      child.once("exit", () => reject(new Error("victim exited")));
    });
    const ids = Array.from({ length: K }, (_, j) => prefix + j);
    // this node sees them owned there, and the victim's lease renewed
    const deadline = Date.now() + 30_000;
    while (!ids.every((id) => tracker.find(id) !== undefined)) {
      if (Date.now() > deadline) throw new Error("victim's ids not seen");
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 2 * HEARTBEAT_MS));
    const t0 = now();
    child.kill("SIGKILL");
    await Promise.all(ids.map(async (id) => {
      for (;;) {
        const pid = await tracker.findOrOpen(id);
        if (node.nodeOf(pid) === nodeName) {
          times.push(now() - t0);
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }));
    await exited;
    child.stdout.destroy();
  }
  const s = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({
    cluster_tracker_failover_median_ms: median(times),
    cluster_tracker_failover_p99_ms:
      s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)],
    cluster_lease_ms: LEASE_MS,
  }));
}

try {
  if (role === "serve") await serve();
  else if (role === "tserve") await tserve();
  else if (role === "tvictim") await tvictim();
  else if (role === "tfind") {
    await tfind();
    exit(0);
  } else if (role === "tfail") {
    await tfail();
    exit(0);
  } else if (role === "call") {
    await callBench();
    exit(0);
  } else if (role === "failover") {
    await failover();
    exit(0);
  } else if (role === "work") await work();
  else throw new Error(`unknown role ${role}`);
} catch (error) {
  console.error(error);
  exit(1);
}
