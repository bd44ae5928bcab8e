/**
 * `deno task bench`: the same workloads on Steward (Deno, Node, Bun) and on
 * Erlang/OTP, in one run, with ratios against OTP and the goals of the
 * foundation issue.
 *
 *   deno task bench                # median of 5 runs per figure
 *   deno task bench quick          # 1 short run per figure (smoke test)
 *   deno task bench --million      # also 1,000,000 idle gen_servers on Node
 *   deno task bench --write        # also put the table into BENCHMARKS.md
 *
 * Each workload runs in a fresh runtime process, so one workload's leftovers
 * (heap, JIT state, Node's async hooks once AsyncLocalStorage is used) do not
 * colour the next. Node runs the built npm package (dist/npm, built first if
 * missing), since Node 20 cannot run TypeScript. OTP runs
 * bench/otp/steward_bench.erl (erlang-base is installed from Debian if
 * missing). Prints a Markdown table for BENCHMARKS.md.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const args = Deno.args;
const quick = args.includes("quick");
const million = args.includes("--million");
const write = args.includes("--write");

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

const deno = Deno.execPath();
const bun = `${ROOT}node_modules/.bin/bun`;
const runtimes: Record<string, (w: string) => [string, string[]]> = {
  deno: (w) => [deno, [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    "bench/steward_bench.mjs",
    "../mod.ts",
    ...(quick ? ["quick"] : []),
    w,
  ]],
  node: (w) => ["node", [
    "--expose-gc",
    "bench/steward_bench.mjs",
    "../dist/npm/mod.js",
    ...(quick ? ["quick"] : []),
    w,
  ]],
  bun: (w) => [bun, [
    "bench/steward_bench.mjs",
    "../mod.ts",
    ...(quick ? ["quick"] : []),
    w,
  ]],
};

try {
  await Deno.stat(`${ROOT}dist/npm/mod.js`);
} catch {
  console.error("bench: building the npm package first (deno task build:npm)");
  const b = await sh(deno, ["run", "-A", "scripts/build_npm.ts"]);
  if (!b.ok) throw new Error(`build:npm failed:\n${b.err}`);
}

console.error("bench: Erlang/OTP (bash bench/otp/run.sh)");
const otpRun = await sh("bash", [
  "bench/otp/run.sh",
  ...(quick ? ["quick"] : []),
]);
const otp = otpRun.ok ? lastJson(otpRun.out) : undefined;
if (otp === undefined) {
  console.error(`bench: OTP run failed; OTP column left empty\n${otpRun.err}`);
}

const results: Record<string, Rates> = { deno: {}, node: {}, bun: {} };
for (const row of ROWS) {
  for (const [name, command] of Object.entries(runtimes)) {
    const [cmd, cmdArgs] = command(row.key);
    console.error(`bench: ${name} ${row.key}`);
    const r = await sh(cmd, cmdArgs);
    const json = r.ok ? lastJson(r.out) : undefined;
    if (json === undefined) console.error(`bench: ${name} failed:\n${r.err}`);
    else results[name][row.key] = json[row.key];
  }
}

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
  `Steward vs Erlang/OTP, ${new Date().toISOString().slice(0, 10)}, ${
    quick ? "quick (1 run each)" : "median of 5 runs of ~1.2 s"
  }: \`deno task bench${args.length ? " " + args.join(" ") : ""}\`.`,
  `OTP ${otp?.otp ?? "n/a"} (erts ${otp?.erts ?? "?"}), node ${await version(
    "node",
  )}, deno ${Deno.version.deno}, bun ${await version(bun)}.`,
  "Ratios in parentheses: times OTP's rate, or times leaner than OTP for bytes.",
  "",
  ...lines,
  ...(millionLine ? ["", millionLine] : []),
].join("\n");
console.log(report);

if (write) {
  const file = `${ROOT}BENCHMARKS.md`;
  const text = await Deno.readTextFile(file);
  const re =
    /(<!-- bench:foundation -->\n)[\s\S]*?(\n<!-- \/bench:foundation -->)/;
  if (!re.test(text)) throw new Error("BENCHMARKS.md has no bench markers");
  await Deno.writeTextFile(file, text.replace(re, `$1${report}$2`));
  console.error("bench: BENCHMARKS.md updated");
}
