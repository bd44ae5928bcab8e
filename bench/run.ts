/**
 * `deno task bench`: the same workloads on Steward (Deno, Node, Bun) and on
 * Erlang/OTP, in one run, with ratios against OTP and the goals of the
 * foundation, ETS, supervisor, director and tracker issues. Six sections,
 * six tables: foundation (processes, gen_server), ETS (tables), supervisor
 * (starting, shutting down and restarting children), director (restart
 * latency, lock-free reads), tracker (find, findOrOpen; OTP:
 * bench/otp/steward_tracker_bench.erl, gen_tracker's find_or_open) and
 * cluster (issue 15: nodes as OS processes on a nats-server the bench
 * starts; bench/cluster_bench.mjs; no OTP side).
 *
 *   deno task bench                # all sections, median of 5 runs per figure
 *   deno task bench quick          # 1 short run per figure (smoke test)
 *   deno task bench ets            # only the ETS section (also: foundation,
 *                                  # supervisor, director, tracker, cluster;
 *                                  # several may be given)
 *   deno task bench --million      # also 1,000,000 idle gen_servers on Node
 *   deno task bench --write        # also put the table(s) into BENCHMARKS.md
 *
 * Each workload runs in a fresh runtime process, so one workload's leftovers
 * (heap, JIT state, Node's async hooks once AsyncLocalStorage is used) do not
 * colour the next. Node runs the built npm package (dist/npm, built first if
 * missing or older than a library source), since Node 20 cannot run
 * TypeScript. OTP runs bench/otp/steward_bench.erl (erlang-base is installed
 * from Debian if missing). Foundation workloads are bench/steward_bench.mjs,
 * ETS workloads bench/ets_bench.mjs, supervisor workloads
 * bench/supervisor_bench.mjs. Prints a Markdown table per section for
 * BENCHMARKS.md.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const args = Deno.args;
const quick = args.includes("quick");
const million = args.includes("--million");
const write = args.includes("--write");
const SECTIONS = [
  "foundation",
  "ets",
  "supervisor",
  "director",
  "tracker",
  "cluster",
];
for (const a of args) {
  if (!["quick", "--million", "--write", ...SECTIONS].includes(a)) {
    console.error(
      `bench: unknown argument ${a} (known: quick, --million, --write, ${
        SECTIONS.join(", ")
      })`,
    );
    Deno.exit(2);
  }
}
const chosen = SECTIONS.filter((s) => args.includes(s));
const sections = chosen.length > 0 ? chosen : SECTIONS;

type Rates = Record<string, unknown>;

interface Row {
  key: string;
  label: string;
  unit: string;
  /** "rate": higher is better; "bytes": lower is better. */
  kind: "rate" | "bytes";
  goal: string;
  /** Whether a Steward figure meets the goal, given OTP's. */
  meets: (steward: number, otp: number | undefined) => boolean;
}

const ROWS: Row[] = [
  {
    key: "spawn_down_per_s",
    label: "spawn + normal exit + DOWN",
    unit: "per s",
    kind: "rate",
    goal: ">= 3x OTP",
    meets: (s, o) => o !== undefined && s >= 3 * o,
  },
  {
    key: "pingpong_rt_per_s",
    label: "ping-pong, async bodies + receive",
    unit: "round trips/s",
    kind: "rate",
    goal: ">= 3x OTP",
    meets: (s, o) => o !== undefined && s >= 3 * o,
  },
  {
    key: "pingpong_handler_rt_per_s",
    label: "ping-pong, message-driven (handleInfo)",
    unit: "round trips/s",
    kind: "rate",
    goal: ">= 3x OTP",
    meets: (s, o) => o !== undefined && s >= 3 * o,
  },
  {
    key: "gen_server_call_per_s",
    label: "gen_server call",
    unit: "calls/s",
    kind: "rate",
    goal: ">= 4x OTP",
    meets: (s, o) => o !== undefined && s >= 4 * o,
  },
  {
    key: "idle_process_bytes",
    label: "idle process blocked in receive",
    unit: "bytes",
    kind: "bytes",
    goal: "report",
    meets: () => true,
  },
  {
    key: "idle_gen_server_bytes",
    label: "idle gen_server",
    unit: "bytes",
    kind: "bytes",
    goal: "<= 500 B",
    meets: (s) => s <= 500,
  },
];

/** OTP's workload for each row (message-driven ping-pong is OTP's ping-pong). */
const OTP_KEY: Record<string, string> = {
  pingpong_handler_rt_per_s: "pingpong_rt_per_s",
};

async function sh(
  cmd: string,
  cmdArgs: string[],
  cwd = ROOT,
): Promise<{ ok: boolean; out: string; err: string }> {
  const p = new Deno.Command(cmd, {
    args: cmdArgs,
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
  const r = await p.output();
  return {
    ok: r.success,
    out: new TextDecoder().decode(r.stdout),
    err: new TextDecoder().decode(r.stderr),
  };
}

function lastJson(out: string): Rates | undefined {
  const line = out.trim().split("\n").at(-1);
  try {
    return line ? JSON.parse(line) : undefined;
  } catch {
    return undefined;
  }
}

async function version(cmd: string, flag = "--version"): Promise<string> {
  const r = await sh(cmd, [flag]).catch(() => undefined);
  return r?.ok ? r.out.trim().split("\n")[0] : "n/a";
}

// ------------------------------------------------------------- runtimes --

// The runtimes run a snapshot of the library taken when the bench starts
// (the sources for Deno and Bun, dist/npm for Node, in a temporary
// directory), so that all of them measure the same code even if the
// sources or dist/npm change meanwhile (a rebuild empties dist/npm).
const snapshot = await Deno.makeTempDir({ prefix: "steward_bench_" });
const SRC = `file://${snapshot}/src/`;
const NPM = `file://${snapshot}/npm/`;

const deno = Deno.execPath();
const bun = `${ROOT}node_modules/.bin/bun`;
const runtimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    "bench/steward_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "--expose-gc",
    "bench/steward_bench.mjs",
    `${NPM}mod.js`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/steward_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

/** Whether dist/npm is missing or older than a library source (*.ts). */
async function distStale(): Promise<boolean> {
  let built: number;
  try {
    built = (await Deno.stat(`${ROOT}dist/npm/mod.js`)).mtime?.getTime() ?? 0;
  } catch {
    return true;
  }
  for await (const e of Deno.readDir(ROOT)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const m = (await Deno.stat(`${ROOT}${e.name}`)).mtime?.getTime() ?? 0;
    if (m > built) return true;
  }
  return false;
}

if (await distStale()) {
  console.error("bench: building the npm package first (deno task build:npm)");
  const b = await sh(deno, ["run", "-A", "scripts/build_npm.ts"]);
  if (!b.ok) throw new Error(`build:npm failed:\n${b.out}\n${b.err}`);
}

/** Copies the files (not subdirectories) of `from` whose names pass `keep`. */
async function copyFiles(
  from: string,
  to: string,
  keep: (name: string) => boolean,
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile && keep(e.name)) {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}
await copyFiles(ROOT, `${snapshot}/src`, (n) => n.endsWith(".ts"));
// package.json too: it makes Node load the .js files as ES modules.
await copyFiles(`${ROOT}dist/npm`, `${snapshot}/npm`, () => true);

/** The OTP half: bench/otp/run.sh with the given workloads or groups. */
async function runOtp(what: string[]): Promise<Rates | undefined> {
  console.error(`bench: Erlang/OTP (bash bench/otp/run.sh ${what.join(" ")})`);
  const otpRun = await sh("bash", [
    "bench/otp/run.sh",
    ...(quick ? ["quick"] : []),
    ...what,
  ]);
  const otp = otpRun.ok ? lastJson(otpRun.out) : undefined;
  if (otp === undefined) {
    console.error(
      `bench: OTP run failed; OTP column left empty\n${otpRun.err}`,
    );
  }
  return otp;
}

/** Runs each workload on each runtime, each in a fresh process. */
async function runSteward(
  keys: string[],
  command: Record<string, (w: string) => [string, string[]]>,
): Promise<Record<string, Rates>> {
  const results: Record<string, Rates> = { deno: {}, node: {}, bun: {} };
  for (const key of keys) {
    for (const [name, cmdOf] of Object.entries(command)) {
      const [cmd, cmdArgs] = cmdOf(key);
      console.error(`bench: ${name} ${key}`);
      const r = await sh(cmd, cmdArgs);
      const json = r.ok ? lastJson(r.out) : undefined;
      if (json === undefined) console.error(`bench: ${name} failed:\n${r.err}`);
      // every figure the workload reported (the supervisor ones report
      // several; the others exactly `key`)
      else Object.assign(results[name], json);
    }
  }
  return results;
}

const header = async (
  section: string,
  method = quick ? "quick (1 run each)" : "median of 5 runs of ~1.2 s",
) => [
  `Steward vs Erlang/OTP, ${section}, ${
    new Date().toISOString().slice(0, 10)
  }, ${method}: \`deno task bench${args.length ? " " + args.join(" ") : ""}\`.`,
  `OTP ${otpVersion?.otp ?? "n/a"} (erts ${
    otpVersion?.erts ?? "?"
  }), node ${await version(
    "node",
  )}, deno ${Deno.version.deno}, bun ${await version(bun)}.`,
];
let otpVersion: Rates | undefined;

/** Replaces the text between `<!-- bench:NAME -->` markers in BENCHMARKS.md. */
async function writeSection(name: string, report: string): Promise<void> {
  const file = `${ROOT}BENCHMARKS.md`;
  const text = await Deno.readTextFile(file);
  const re = new RegExp(
    `<!-- bench:${name} -->[\\s\\S]*?<!-- \\/bench:${name} -->`,
  );
  if (!re.test(text)) {
    throw new Error(`BENCHMARKS.md has no bench:${name} markers`);
  }
  await Deno.writeTextFile(
    file,
    text.replace(
      re,
      () => `<!-- bench:${name} -->\n\n${report}\n\n<!-- /bench:${name} -->`,
    ),
  );
  // deno task check runs deno fmt --check, which covers Markdown tables.
  await sh(deno, ["fmt", "BENCHMARKS.md"]);
  console.error(`bench: BENCHMARKS.md updated (${name})`);
}

// ============================================================ foundation ==

async function foundation(): Promise<void> {
  const t0 = performance.now();
  const otp = await runOtp(["foundation"]);
  otpVersion ??= otp;
  const results = await runSteward(ROWS.map((r) => r.key), runtimes);

  let millionLine = "";
  if (million) {
    console.error("bench: node million_gen_servers");
    const [cmd, cmdArgs] = runtimes.node("million_gen_servers");
    cmdArgs.unshift("--max-old-space-size=4096");
    const r = await sh(cmd, cmdArgs);
    const m = r.ok ? lastJson(r.out)?.million_gen_servers : undefined;
    millionLine = m === undefined
      ? `1,000,000 idle gen_servers on Node: failed\n${r.err}`
      : `1,000,000 idle gen_servers on Node: ${JSON.stringify(m)}`;
  }

  // ----------------------------------------------------------------- table --

  const fmt = (n: unknown) =>
    typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "n/a";
  const ratio = (row: Row, s: unknown, o: unknown) => {
    if (typeof s !== "number" || typeof o !== "number" || s <= 0) return "";
    const r = row.kind === "rate" ? s / o : o / s;
    return ` (${r.toFixed(2)}x)`;
  };

  const lines = [
    `| work | unit | Erlang/OTP | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const row of ROWS) {
    const o = otp?.[OTP_KEY[row.key] ?? row.key] as number | undefined;
    const cells = ["deno", "node", "bun"].map((rt) =>
      `${fmt(results[rt][row.key])}${ratio(row, results[rt][row.key], o)}`
    );
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, o);
    });
    lines.push(
      `| ${row.label} | ${row.unit} | ${fmt(o)} | ${
        cells.join(" | ")
      } | ${row.goal} | ${met.length ? met.join(", ") : "none"} |`,
    );
  }

  const report = [
    ...await header("foundation"),
    "Ratios in parentheses: times OTP's rate, or times leaner than OTP for bytes.",
    "",
    ...lines,
    ...(millionLine ? ["", millionLine] : []),
  ].join("\n");
  console.log(report);
  console.error(
    `bench: foundation section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("foundation", report);
}

// =================================================================== ETS ==

const etsRuntimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "--v8-flags=--expose-gc,--max-old-space-size=4096",
    "bench/ets_bench.mjs",
    `${SRC}ets.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "--expose-gc",
    "--max-old-space-size=4096",
    "bench/ets_bench.mjs",
    `${NPM}ets.js`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/ets_bench.mjs",
    `${SRC}ets.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

interface EtsRow {
  key: string;
  label: string;
  unit: string;
  /** "time": lower is better, compared with OTP; "raw": plain JS, for reference. */
  kind: "time" | "bytes" | "raw";
  goal: string;
  /** Whether a Steward figure meets the goal, given OTP's and the runtime's results. */
  meets: (steward: number, otp: number | undefined, mine: Rates) => boolean;
}

const atMost = (f: number) => (s: number, o: number | undefined) =>
  o !== undefined && s <= o * f;
const always = () => true;

const ETS_ROWS: EtsRow[] = [
  {
    key: "set_int_insert_1m",
    label: "set, int key, insert 1M (in order)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "raw_map_insert_copy_1m",
    label: "... plain JS Map.set of a copy, frozen as stored (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "set_int_lookup_hit_1m",
    label: "set, int key, lookup hit (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3 and <= 2x Map.get",
    meets: (s, o, mine) =>
      atMost(1 / 3)(s, o) && typeof mine.raw_map_get_1m === "number" &&
      s <= 2 * mine.raw_map_get_1m,
  },
  {
    key: "raw_map_get_1m",
    label: "... plain JS Map.get, same keys (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "set_int_lookup_hit_10k",
    label: "set, int key, lookup hit (10k)",
    unit: "ns/op",
    kind: "time",
    goal: "report",
    meets: always,
  },
  {
    key: "set_int_lookup_miss_1m",
    label: "set, int key, lookup miss (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "report",
    meets: always,
  },
  {
    key: "set_int_update_counter_1m",
    label: "set, int key, updateCounter (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "raw_map_update_copy_1m",
    label: "... plain JS Map.get, Map.set of a copy + 1 (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "raw_map_update_in_place_1m",
    label: "... plain JS Map.get, field + 1 in place (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "set_int_delete_1m",
    label: "set, int key, delete (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "raw_map_delete_1m",
    label: "... plain JS Map.delete (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "set_tuple_lookup_hit_1m",
    label: "set, tuple key, lookup hit (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "raw_map_of_maps_get_1m",
    label: "... plain JS Map of Maps get (reference)",
    unit: "ns/op",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
  {
    key: "set_tuple_insert_1m",
    label: "set, tuple key, insert 1M",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "oset_insert_1m",
    label: "ordered_set insert 1M, scattered",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP",
    meets: atMost(1),
  },
  {
    key: "oset_lookup_hit_1m",
    label: "ordered_set lookup hit (1M)",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP",
    meets: atMost(1),
  },
  {
    key: "oset_walk_step",
    label: "ordered_set first/next walk",
    unit: "ns/step",
    kind: "time",
    goal: "<= OTP",
    meets: atMost(1),
  },
  {
    key: "oset_select_range_guard_ms",
    label: "select 1,000 of 1M by a range in guards",
    unit: "ms/call",
    kind: "time",
    goal: "report",
    meets: always,
  },
  {
    key: "oset_select_prefix_us",
    label: "select 1,000 of 1M by a bound key prefix",
    unit: "µs/call",
    kind: "time",
    goal: "<= OTP",
    meets: atMost(1),
  },
  {
    key: "set_int_memory_bytes",
    label: "memory per [int, int] row, set of 1M",
    unit: "bytes",
    kind: "bytes",
    goal: "report",
    meets: always,
  },
  {
    key: "raw_map_memory_bytes",
    label: "... plain JS Map of [int, int] (reference)",
    unit: "bytes",
    kind: "raw",
    goal: "reference",
    meets: always,
  },
];

/** A time or size: 2 significant decimals for small figures. */
function fmtSmall(n: unknown): string {
  if (typeof n !== "number") return "n/a";
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  if (n < 10) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return Math.round(n).toLocaleString("en-US");
}

async function etsSection(): Promise<void> {
  const t0 = performance.now();
  const otp = await runOtp(["ets"]);
  otpVersion ??= otp;
  const results = await runSteward(ETS_ROWS.map((r) => r.key), etsRuntimes);

  const lines = [
    `| work | unit | Erlang/OTP | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const row of ETS_ROWS) {
    const o = row.kind === "raw"
      ? undefined
      : otp?.[row.key] as number | undefined;
    const cells = ["deno", "node", "bun"].map((rt) => {
      const s = results[rt][row.key];
      let note = "";
      if (typeof s === "number" && s > 0) {
        if (row.kind === "time" && o !== undefined) {
          note = ` (${(o / s).toFixed(2)}x)`;
        } else if (row.kind === "bytes" && o !== undefined) {
          note = ` (${(o / s).toFixed(2)}x)`;
        }
      }
      return `${fmtSmall(s)}${note}`;
    });
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, o, results[rt]);
    });
    let otpCell = row.kind === "raw" ? "" : fmtSmall(o);
    if (row.key === "set_int_memory_bytes" && otp !== undefined) {
      otpCell = `${fmtSmall(o)} (memory(ets): ${
        fmtSmall(otp.set_int_memory_ets_bytes)
      })`;
    }
    const metCell = row.kind === "raw"
      ? ""
      : row.goal === "report"
      ? "—"
      : met.length
      ? met.join(", ")
      : "none";
    lines.push(
      `| ${row.label} | ${row.unit} | ${otpCell} | ${
        cells.join(" | ")
      } | ${row.goal} | ${metCell} |`,
    );
  }

  const report = [
    ...await header("ETS tables"),
    "Lower is better. Ratios in parentheses: OTP's time / Steward's time",
    "(above 1: faster than OTP; for memory, times leaner). Tables hold",
    "[K, I] records in a public table; keys visited in the scattered order of",
    "OTP_FIGURES.md. OTP's memory is ets:info(T, memory) words, with the",
    "growth of erlang:memory(ets) in parentheses; Steward's the growth of the",
    "JS heap after a full GC. The `...` rows are plain JS on the same",
    "runtime, for reference.",
    "",
    ...lines,
  ].join("\n");
  console.log(report);
  console.error(
    `bench: ETS section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("ets", report);
}

// ============================================================ supervisor ==

const supRuntimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "bench/supervisor_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "bench/supervisor_bench.mjs",
    `${NPM}mod.js`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/supervisor_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

/** The workloads of bench/supervisor_bench.mjs (each reports several keys). */
const SUP_WORKLOADS = ["sup_sofo", "sup_ofo", "sup_restart"];

interface SupRow {
  key: string;
  label: string;
  unit: string;
  /** "rate": higher is better; "time": lower is better. */
  kind: "rate" | "time";
  goal: string;
  /** Whether a Steward figure meets the goal, given OTP's. */
  meets: (steward: number, otp: number | undefined) => boolean;
}

const atLeast = (f: number) => (s: number, o: number | undefined) =>
  o !== undefined && s >= o * f;

const SUP_ROWS: SupRow[] = [
  {
    key: "sup_sofo_start_per_s",
    label: "simple_one_for_one startChild x100k",
    unit: "children/s",
    kind: "rate",
    goal: ">= 3x OTP",
    meets: atLeast(3),
  },
  {
    key: "sup_sofo_shutdown_ms",
    label: "... stop the supervisor with 100k children",
    unit: "ms",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "sup_ofo_start_per_s",
    label: "one_for_one startChild x100k",
    unit: "children/s",
    kind: "rate",
    goal: ">= 3x OTP",
    meets: atLeast(3),
  },
  {
    key: "sup_ofo_shutdown_ms",
    label: "... stop the supervisor with 100k children",
    unit: "ms",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "sup_restart_latency_us",
    label: "restart latency after kill, median of 10k",
    unit: "µs",
    kind: "time",
    goal: "<= OTP/5",
    meets: atMost(1 / 5),
  },
  {
    key: "sup_restart_mean_us",
    label: "... mean of the same 10k kills",
    unit: "µs",
    kind: "time",
    goal: "report",
    meets: always,
  },
];

async function supervisorSection(): Promise<void> {
  const t0 = performance.now();
  const otp = await runOtp(["supervisor"]);
  otpVersion ??= otp;
  const results = await runSteward(SUP_WORKLOADS, supRuntimes);

  const lines = [
    `| work | unit | Erlang/OTP | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const row of SUP_ROWS) {
    const o = otp?.[row.key] as number | undefined;
    const cells = ["deno", "node", "bun"].map((rt) => {
      const s = results[rt][row.key];
      let note = "";
      if (typeof s === "number" && s > 0 && o !== undefined) {
        note = ` (${(row.kind === "rate" ? s / o : o / s).toFixed(2)}x)`;
      }
      return `${fmtSmall(s)}${note}`;
    });
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, o);
    });
    const metCell = row.goal === "report"
      ? "—"
      : met.length
      ? met.join(", ")
      : "none";
    lines.push(
      `| ${row.label} | ${row.unit} | ${fmtSmall(o)} | ${
        cells.join(" | ")
      } | ${row.goal} | ${metCell} |`,
    );
  }

  const report = [
    ...await header(
      "supervisors",
      quick ? "quick (1 run each)" : "median of 5 runs",
    ),
    "Ratios in parentheses: times OTP's rate, or OTP's time / Steward's",
    "time (above 1: faster than OTP). Children are trivial gen_servers",
    "(permanent, shutdown 5000) started one after another with startChild",
    "(each awaited); intensity 1,000,000 per 1 s. Restart latency: from just",
    "before exit(pid, kill) to the new child's init, 10,000 kills back to",
    "back; each run's median, then the median of the runs.",
    "",
    ...lines,
  ].join("\n");
  console.log(report);
  console.error(
    `bench: supervisor section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("supervisor", report);
}

// ============================================================= director ==

const directorRuntimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "bench/director_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "bench/director_bench.mjs",
    `${NPM}mod.js`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/director_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

const DIRECTOR_ROWS: EtsRow[] = [
  {
    key: "restart_latency_us",
    label:
      'restart latency after a kill, plan ["restart"] (OTP: one_for_one supervisor), median of 10k',
    unit: "µs",
    kind: "time",
    goal: "<= OTP/5",
    meets: atMost(1 / 5),
  },
  {
    key: "get_pid_ns",
    label:
      "getPid, lock-free (OTP: ets:lookup of the child's row, as director 18)",
    unit: "ns/op",
    kind: "time",
    goal: "<= 50 ns",
    meets: (s) => s <= 50,
  },
];

async function directorSection(): Promise<void> {
  const t0 = performance.now();
  const otp = await runOtp(["director"]);
  otpVersion ??= otp;
  const results = await runSteward(
    DIRECTOR_ROWS.map((r) => r.key),
    directorRuntimes,
  );
  const lines = [
    `| work | unit | Erlang/OTP | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const row of DIRECTOR_ROWS) {
    const o = otp?.[row.key] as number | undefined;
    const cells = ["deno", "node", "bun"].map((rt) => {
      const s = results[rt][row.key];
      const note = typeof s === "number" && s > 0 && o !== undefined
        ? ` (${(o / s).toFixed(2)}x)`
        : "";
      return `${fmtSmall(s)}${note}`;
    });
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, o, results[rt]);
    });
    lines.push(
      `| ${row.label} | ${row.unit} | ${fmtSmall(o)} | ${
        cells.join(" | ")
      } | ${row.goal} | ${met.length ? met.join(", ") : "none"} |`,
    );
  }
  const report = [
    ...await header("director"),
    "Lower is better. Ratios in parentheses: OTP's time / Steward's time.",
    "Restart latency: one gen_server child killed 10,000 times back to back;",
    "the time from exit(pid, kill) to the new child's init; the median of each",
    "run, then of the runs. getPid: a director with 100 children.",
    "",
    ...lines,
  ].join("\n");
  console.log(report);
  console.error(
    `bench: director section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("director", report);
}

// =============================================================== tracker ==

const trackerRuntimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "bench/tracker_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "bench/tracker_bench.mjs",
    `${NPM}mod.js`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/tracker_bench.mjs",
    `${SRC}mod.ts`,
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

const TRACKER_ROWS: EtsRow[] = [
  {
    key: "tracker_find_hit_ns",
    label: "find, hit",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/4",
    meets: atMost(1 / 4),
  },
  {
    key: "tracker_find_or_open_hit_ns",
    label: "findOrOpen, hit only",
    unit: "ns/op",
    kind: "time",
    goal: "report",
    meets: always,
  },
  {
    key: "tracker_find_or_open_mixed_ns",
    label: "findOrOpen, 90% hit / 10% open",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
  {
    key: "tracker_open_ns",
    label: "findOrOpen, open only",
    unit: "ns/op",
    kind: "time",
    goal: "<= OTP/3",
    meets: atMost(1 / 3),
  },
];

async function trackerSection(): Promise<void> {
  const t0 = performance.now();
  const otp = await runOtp(["tracker"]);
  otpVersion ??= otp;
  const results = await runSteward(
    TRACKER_ROWS.map((r) => r.key),
    trackerRuntimes,
  );
  const lines = [
    `| work | unit | Erlang/OTP | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|---|`,
  ];
  for (const row of TRACKER_ROWS) {
    const o = otp?.[row.key] as number | undefined;
    const cells = ["deno", "node", "bun"].map((rt) => {
      const s = results[rt][row.key];
      const note = typeof s === "number" && s > 0 && o !== undefined
        ? ` (${(o / s).toFixed(2)}x)`
        : "";
      return `${fmtSmall(s)}${note}`;
    });
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, o, results[rt]);
    });
    const metCell = row.goal === "report"
      ? "—"
      : met.length
      ? met.join(", ")
      : "none";
    lines.push(
      `| ${row.label} | ${row.unit} | ${fmtSmall(o)} | ${
        cells.join(" | ")
      } | ${row.goal} | ${metCell} |`,
    );
  }
  const report = [
    ...await header("tracker"),
    "Lower is better. Ratios in parentheses: OTP's time / Steward's time",
    "(above 1: faster than OTP). OTP runs gen_tracker's find_or_open (an ETS",
    "lookup of its #entry record; on a miss a call to the tracker, which",
    "starts a temporary gen_server child under a simple_one_for_one,",
    "monitors it and records it); Steward runs tracker.ts with gen_server",
    "children. 10,000 children opened before each run; ids",
    '`["stream", n]` (`{<<"stream">>, N}`) built per operation.',
    "",
    ...lines,
  ].join("\n");
  console.log(report);
  console.error(
    `bench: tracker section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("tracker", report);
}

// =============================================================== cluster ==

// Nodes as OS processes on one nats-server started here on a free loopback
// port (tests/_nats.ts). No OTP side: the references are raw NATS and one
// node. The library snapshot gets a node_modules link to the project's, so
// that the cluster entry point finds the NATS client from the temporary
// directory (Node and Bun resolve it from the importing file).

const clusterLib: Record<string, [string, string[], string]> = {
  deno: [deno, ["run", "-A"], `${SRC}`],
  node: ["node", [], `${NPM}`],
  bun: [bun, [], `${SRC}`],
};

/** A child OS process whose stdout lines we wait on. */
class Child {
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  out = "";
  err = "";
  readonly done: Promise<Deno.CommandStatus>;
  #wake: (() => void) | null = null;

  constructor(cmd: string, cmdArgs: string[]) {
    this.#proc = new Deno.Command(cmd, {
      args: cmdArgs,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    const pump = async (
      stream: ReadableStream<Uint8Array>,
      into: "out" | "err",
    ) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this[into] += chunk;
        this.#wake?.();
      }
    };
    const pumped = Promise.all([
      pump(this.#proc.stdout, "out"),
      pump(this.#proc.stderr, "err"),
    ]);
    this.done = this.#proc.status.then(async (st) => {
      await pumped;
      this.#wake?.();
      return st;
    });
  }

  /** Waits for `text` on stdout (or the exit, or 60 s). */
  async waitFor(text: string): Promise<void> {
    let exited = false;
    this.done.then(() => exited = true);
    const deadline = Date.now() + 60_000;
    while (!this.out.includes(text)) {
      if (exited || Date.now() > deadline) {
        throw new Error(`bench: no "${text}" from a node:\n${this.err}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = null;
    }
  }

  async write(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  async kill(): Promise<void> {
    try {
      this.#proc.kill("SIGKILL");
    } catch {
      // exited already
    }
    await this.#writer.close().catch(() => {});
    await this.done;
  }

  /** The last JSON line on stdout. */
  json(): Rates | undefined {
    return lastJson(this.out);
  }
}

/**
 * The machine's CPU time so far, busy and in all, in clock ticks, summed
 * over its cores (the first line of /proc/stat); undefined where there is
 * none (not Linux).
 */
async function cpuStat(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
    // user nice system idle iowait irq softirq steal (guest: inside user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = user + nice + system + irq + softirq + (steal || 0);
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** Other processes' cores under which a workload round counts as quiet. */
const QUIET = 0.15;

/** One runtime's cluster figures. */
async function clusterRuntime(
  url: string,
  rt: string,
  round: number,
): Promise<Rates> {
  const [cmd, pre, lib] = clusterLib[rt];
  const script = "bench/cluster_bench.mjs";
  const q = quick ? ["quick"] : [];
  const role = (...r: string[]) => [...pre, script, lib, ...q, ...r];
  const c = `b${round}${rt}`; // a cluster per runtime and round
  const out: Rates = {};

  // (a) remote call vs raw request/reply
  console.error(`bench: cluster ${rt} call`);
  const server = new Child(cmd, role("serve", url, "b", c));
  try {
    await server.waitFor("ready");
    const client = new Child(cmd, role("call", url, "a", c, "b"));
    const st = await client.done;
    if (!st.success) throw new Error(`call failed:\n${client.err}`);
    Object.assign(out, client.json());
  } finally {
    await server.kill();
  }

  // (c) SIGKILL of a node to DOWN noconnection
  console.error(`bench: cluster ${rt} failover`);
  const obs = new Child(
    cmd,
    role("failover", url, "obs", c, script, JSON.stringify([cmd, ...pre])),
  );
  const st = await obs.done;
  if (!st.success) throw new Error(`failover failed:\n${obs.err}`);
  Object.assign(out, obs.json());

  // (b) the cluster tracker's find (a remote id, from the cache) against
  // the local tracker's; findOrOpen of new ids
  console.error(`bench: cluster ${rt} tracker find`);
  const owner = new Child(cmd, role("tserve", url, "tb", c, "1000"));
  try {
    await owner.waitFor("ready");
    const finder = new Child(cmd, role("tfind", url, "ta", c, "1000", "tb"));
    const st = await finder.done;
    if (!st.success) throw new Error(`tfind failed:\n${finder.err}`);
    Object.assign(out, finder.json());
  } finally {
    await owner.kill();
  }

  // (c) SIGKILL of a node to its tracked ids reopened elsewhere
  console.error(`bench: cluster ${rt} tracker failover`);
  const tfail = new Child(
    cmd,
    role("tfail", url, "tobs", c, script, JSON.stringify([cmd, ...pre])),
  );
  const tst = await tfail.done;
  if (!tst.success) throw new Error(`tfail failed:\n${tfail.err}`);
  Object.assign(out, tfail.json());

  // (d) the partitionable workload: one node, then two, in turns. Each node
  // warms up first (untimed, see cluster_bench.mjs); the span is from the
  // first node's start to the last one's end. The machine is shared: while
  // each round runs, /proc/stat says how busy all its cores were, so what
  // other processes took meanwhile is reported beside the figures.
  const OPS = quick ? 200_000 : 1_000_000;
  const IDS = 200;
  const ROUNDS = quick ? 1 : 7;
  const one: number[] = [], two: number[] = [];
  const oneCpu: number[] = [], twoCpu: number[] = [];
  const oneOthers: number[] = [], twoOthers: number[] = [];
  const overlap: number[] = [];
  const jsShare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    console.error(`bench: cluster ${rt} workload, round ${r + 1}`);
    for (const n of [1, 2]) {
      const workers = Array.from(
        { length: n },
        (_, i) =>
          new Child(
            cmd,
            role(
              "work",
              url,
              `w${r}${n}${i}`,
              c,
              String(OPS / n),
              String(i * IDS / n),
              String(IDS / n),
            ),
          ),
      );
      try {
        await Promise.all(workers.map((w) => w.waitFor("ready")));
        const stat0 = await cpuStat();
        await Promise.all(workers.map((w) => w.write("go")));
        const stats = await Promise.all(workers.map((w) => w.done));
        const stat1 = await cpuStat();
        if (!stats.every((s) => s.success)) {
          throw new Error(`workload failed:\n${workers.map((w) => w.err)}`);
        }
        const spans = workers.map((w) => w.json() as Record<string, number>);
        const ms = Math.max(...spans.map((s) => s.end)) -
          Math.min(...spans.map((s) => s.start));
        (n === 1 ? one : two).push(OPS / (ms / 1000));
        // the cores these processes had: their CPU time over the span
        const ours = spans.reduce((a, s) => a + s.cpu_ms, 0) / ms;
        (n === 1 ? oneCpu : twoCpu).push(ours);
        if (stat0 !== undefined && stat1 !== undefined) {
          const busy = (stat1.busy - stat0.busy) /
            (stat1.total - stat0.total) * navigator.hardwareConcurrency;
          (n === 1 ? oneOthers : twoOthers).push(Math.max(0, busy - ours));
        }
        if (n === 1 && typeof spans[0].js_cpu_ms === "number") {
          jsShare.push(spans[0].js_cpu_ms / spans[0].cpu_ms);
        }
        if (n === 2) {
          // the share of the span in which both nodes were working
          const both = Math.min(...spans.map((s) => s.end)) -
            Math.max(...spans.map((s) => s.start));
          overlap.push(Math.max(0, both) / ms);
        }
      } finally {
        await Promise.all(workers.map((w) => w.kill()));
      }
    }
  }
  const med = (xs: number[]) =>
    xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const speedups = two.map((t, i) => t / one[i]);
  out.cluster_work_one_per_s = med(one);
  out.cluster_work_two_per_s = med(two);
  out.cluster_work_speedup = med(speedups);
  out.cluster_work_speedup_min = Math.min(...speedups);
  out.cluster_work_speedup_max = Math.max(...speedups);
  out.cluster_work_rounds = speedups.length;
  // Rounds in which neither run shared the machine much: other processes
  // took under QUIET cores meanwhile (the figure of a quiet machine, when
  // the shared one gives any).
  const quiet = speedups.filter((_, i) =>
    oneOthers[i] !== undefined && twoOthers[i] !== undefined &&
    oneOthers[i] < QUIET && twoOthers[i] < QUIET
  );
  out.cluster_work_quiet_rounds = quiet.length;
  out.cluster_work_speedup_quiet = med(quiet);
  out.cluster_work_one_cores = med(oneCpu);
  out.cluster_work_js_share = med(jsShare);
  const share = med(jsShare);
  if (share !== undefined) out.cluster_work_ceiling = 2 * Math.min(1, share);
  out.cluster_work_two_cores = med(twoCpu);
  out.cluster_work_both_share = med(overlap);
  out.cluster_work_one_others = med(oneOthers);
  out.cluster_work_two_others = med(twoOthers);
  return out;
}

interface ClusterRow {
  key: string;
  label: string;
  unit: string;
  goal: string;
  meets: (s: number, all: Rates) => boolean;
}

const CLUSTER_ROWS: ClusterRow[] = [
  {
    key: "cluster_call_us",
    label: "remote GenServer.call round trip, one at a time",
    unit: "µs",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_raw_us",
    label: "... raw NATS request/reply, same payload, same server",
    unit: "µs",
    goal: "reference",
    meets: always,
  },
  {
    key: "cluster_call_ratio",
    label: "... remote call / raw request (median of adjacent blocks)",
    unit: "x",
    goal: "<= 1.2x",
    meets: (s) => s <= 1.2,
  },
  {
    key: "cluster_call_par_per_s",
    label: "remote GenServer.call, 64 in flight",
    unit: "calls/s",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_raw_par_per_s",
    label: "... raw NATS request/reply, 64 in flight",
    unit: "requests/s",
    goal: "reference",
    meets: always,
  },
  {
    key: "cluster_failover_median_ms",
    label: "SIGKILL of a node to DOWN noconnection here, median",
    unit: "ms",
    goal: "<= lease + heartbeat",
    meets: (s, all) =>
      s <= (all.cluster_lease_ms as number) +
          (all.cluster_heartbeat_ms as number),
  },
  {
    key: "cluster_failover_p99_ms",
    label: "... p99",
    unit: "ms",
    goal: "<= lease + heartbeat",
    meets: (s, all) =>
      s <= (all.cluster_lease_ms as number) +
          (all.cluster_heartbeat_ms as number),
  },
  {
    key: "cluster_find_remote_ns",
    label: "ClusterTracker find of a remote id (from the node's cache)",
    unit: "ns/op",
    goal: "report",
    meets: always,
  },
  {
    key: "local_find_ns",
    label: "... local tracker (tracker.ts) find",
    unit: "ns/op",
    goal: "reference",
    meets: always,
  },
  {
    key: "cluster_find_ratio",
    label: "... remote find / local find",
    unit: "x",
    goal: "<= 2x",
    meets: (s) => s <= 2,
  },
  {
    key: "cluster_find_own_ns",
    label: "ClusterTracker find of an id this node owns",
    unit: "ns/op",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_open_ms",
    label:
      "ClusterTracker findOrOpen of a new id, here (2 KV round trips: get, create)",
    unit: "ms",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_tracker_failover_median_ms",
    label: "SIGKILL of a node to its ids reopened on another, median",
    unit: "ms",
    goal: "report (lease + renew)",
    meets: always,
  },
  {
    key: "cluster_tracker_failover_p99_ms",
    label: "... p99",
    unit: "ms",
    goal: "report (lease + renew)",
    meets: always,
  },
  {
    key: "cluster_work_one_per_s",
    label: "partitionable workload, one node (all 200 ids)",
    unit: "calls/s",
    goal: "reference",
    meets: always,
  },
  {
    key: "cluster_work_two_per_s",
    label: "... two nodes (100 ids each), together",
    unit: "calls/s",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_speedup",
    label: "... two nodes / one node (median of the rounds' ratios)",
    unit: "x",
    goal: ">= 1.7x",
    meets: (s) => s >= 1.7,
  },
  {
    key: "cluster_work_speedup_quiet",
    label:
      `... two nodes / one node, median of the quiet rounds (others < ${QUIET} cores)`,
    unit: "x",
    goal: ">= 1.7x",
    meets: (s) => s >= 1.7,
  },
  {
    key: "cluster_work_quiet_rounds",
    label: "... quiet rounds",
    unit: "rounds",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_speedup_min",
    label: "... lowest round",
    unit: "x",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_speedup_max",
    label: "... highest round",
    unit: "x",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_one_cores",
    label: "... cores the one node got (its CPU time / the span)",
    unit: "cores",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_js_share",
    label:
      "... the one node's CPU time on its JS thread / all its threads' (GC, JIT, I/O)",
    unit: "x",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_ceiling",
    label:
      "... so two nodes / one node at most, on 2 idle cores (2 x that share)",
    unit: "x",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_two_cores",
    label: "... cores the two nodes got together",
    unit: "cores",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_both_share",
    label: "... share of the two nodes' span in which both worked",
    unit: "x",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_one_others",
    label: "... cores other processes took meanwhile, one node's rounds",
    unit: "cores",
    goal: "report",
    meets: always,
  },
  {
    key: "cluster_work_two_others",
    label: "... cores other processes took meanwhile, two nodes' rounds",
    unit: "cores",
    goal: "report",
    meets: always,
  },
];

async function clusterSection(): Promise<void> {
  const t0 = performance.now();
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
  // The snapshot's library must find the NATS client (see above).
  await Deno.symlink(`${ROOT}node_modules`, `${snapshot}/node_modules`)
    .catch(() => {});
  const { NatsServer } = await import("../tests/_nats.ts");
  const server = await NatsServer.start();
  const results: Record<string, Rates> = { deno: {}, node: {}, bun: {} };
  try {
    let round = 0;
    for (const rt of ["deno", "node", "bun"]) {
      try {
        results[rt] = await clusterRuntime(server.url, rt, round++);
      } catch (error) {
        console.error(`bench: cluster on ${rt} failed: ${error}`);
      }
    }
  } finally {
    await server.stop();
  }
  const lines = [
    `| work | unit | Steward on Deno | Steward on Node | Steward on Bun | goal | met on |`,
    `|---|---|---|---|---|---|---|`,
  ];
  for (const row of CLUSTER_ROWS) {
    const cells = ["deno", "node", "bun"].map((rt) =>
      fmtSmall(results[rt][row.key])
    );
    const met = ["deno", "node", "bun"].filter((rt) => {
      const s = results[rt][row.key];
      return typeof s === "number" && row.meets(s, results[rt]);
    });
    const metCell = row.goal.startsWith("report") || row.goal === "reference"
      ? "—"
      : met.length
      ? met.join(", ")
      : "none";
    lines.push(
      `| ${row.label} | ${row.unit} | ${
        cells.join(" | ")
      } | ${row.goal} | ${metCell} |`,
    );
  }
  const rounds = results.deno.cluster_work_rounds ??
    results.node.cluster_work_rounds ?? "n/a";
  const lease = results.deno.cluster_lease_ms ?? results.node.cluster_lease_ms;
  const hb = results.deno.cluster_heartbeat_ms ??
    results.node.cluster_heartbeat_ms;
  const report = [
    ...await header(
      "cluster",
      quick ? "quick (1 round)" : "medians of interleaved rounds",
    ),
    "Nodes are separate OS processes of the same runtime on one nats-server",
    "(loopback, started by the bench); no OTP side. Call: a registered",
    "echo gen_server on node b called from node a with a ~150-byte record,",
    "against a raw NATS request/reply of the same JSON payload to a",
    "responder in node b's process (its own NATS connection), in blocks of",
    "100 taken in turns; one at a time (latency) and 64 in flight",
    `(throughput). Failover: lease ${lease} ms, heartbeat ${hb} ms; a node`,
    "is started, its echo monitored, then SIGKILLed; the time to the DOWN",
    "with reason noconnection (25 kills). Tracker: a ClusterTracker with",
    "1,000 ids owned by another node, found from this node's cache (a",
    "watch of the KV bucket), against tracker.ts's find of 1,000 local ids",
    "(ids in a scattered order; median of runs of 1,000,000 finds); opens",
    "one at a time (the pid's write to the store follows the answer).",
    "Tracker failover: a node opens 5 ids and is SIGKILLed; another calls",
    "findOrOpen on them until each is reopened there (10 kills, 50 ids).",
    "Workload: 1,000,000 calls to 200",
    "gen_servers (16 callers; each call an updateCounter twice and a lookup",
    "in a public ETS table), on one node, or split by id over two nodes",
    "working at once (from the first start to the last end); each node",
    `first makes ${
      quick ? "50,000" : "200,000"
    } calls untimed (warm-up: the JIT and the heap),`,
    "runtimes with their default flags. One node then two, in turns,",
    `${rounds} rounds; the machine has ${navigator.hardwareConcurrency} cores,`,
    "and what other processes took meanwhile is from /proc/stat (it",
    "includes nats-server and the bench's own driver); a round is quiet",
    `when they took under ${QUIET} cores during both its runs. Load average when`,
    `the section started: ${load}.`,
    "",
    ...lines,
  ].join("\n");
  console.log(report);
  console.error(
    `bench: cluster section took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min`,
  );
  if (write) await writeSection("cluster", report);
}

// ================================================================== main ==

try {
  let first = true;
  const part = async (name: string, run: () => Promise<void>) => {
    if (!sections.includes(name)) return;
    if (!first) console.log("");
    first = false;
    await run();
  };
  await part("foundation", foundation);
  await part("ets", etsSection);
  await part("supervisor", supervisorSection);
  await part("director", directorSection);
  await part("tracker", trackerSection);
  await part("cluster", clusterSection);
} finally {
  await Deno.remove(snapshot, { recursive: true });
}
