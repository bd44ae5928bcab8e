// The observer's /metrics formatter (_metrics.ts): Prometheus' text
// exposition format from plain objects. A small parser below reads the body
// back the way Prometheus does, so escaping is checked by round trip, not
// only by comparing strings.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  comparePids,
  escapeHelp,
  escapeLabelValue,
  exitClass,
  firstN,
  formatMetrics,
  formatValue,
  MAX_LABEL,
  type MetricsInput,
  pidNumber,
} from "../_metrics.ts";
import { hostiles } from "./_hostile.ts";

/** One parsed sample. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/**
 * Parses a text exposition body strictly (as Prometheus' parser reads it):
 * HELP/TYPE comments, then samples whose label values are unescaped.
 * Throws on anything malformed, and on a series (metric name and label set)
 * written twice: Prometheus rejects such a scrape.
 */
function parse(body: string): {
  samples: Sample[];
  types: Record<string, string>;
  help: Record<string, string>;
} {
  assert.ok(body.endsWith("\n"), "the body ends with a line feed");
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  const seen = new Set<string>();
  for (const line of body.slice(0, -1).split("\n")) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      help[m[1]] = m[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (m) {
      assert.equal(types[m[1]], undefined, `one TYPE line for ${m[1]}`);
      types[m[1]] = m[2];
      continue;
    }
    // dotAll: a carriage return is an ordinary character inside a label.
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/s.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2] !== undefined) {
      let rest = m[2].slice(1, -1);
      while (rest.length > 0) {
        const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/
          .exec(rest);
        assert.ok(l, `a label in ${JSON.stringify(m[2])}`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
        rest = rest.slice(l[0].length);
      }
    }
    assert.ok(
      types[m[1]] !== undefined,
      `${m[1]} has its TYPE line before its samples`,
    );
    const series = m[1] + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seen.has(series), `one sample of ${m[1]}${m[2] ?? ""}`);
    seen.add(series);
    samples.push({ name: m[1], labels, value: m[3] });
  }
  return { samples, types, help };
}

const EMPTY: MetricsInput = {
  processes: [],
  restarts: [],
  exits: { normal: 0, shutdown: 0, killed: 0, other: 0 },
  tables: [],
  eventsDropped: 0,
};

function proc(n: number, queue: number, name?: string, kind = "process") {
  return {
    pid: `<0.${n}.0>`,
    name,
    kind,
    messageQueueLength: queue,
    memory: 100,
  };
}

describe("formatMetrics()", () => {
  test("formatMetrics() writes every family with HELP and TYPE, steward_ prefixed", () => {
    const { types, help } = parse(formatMetrics(EMPTY));
    assert.deepEqual(types, {
      steward_processes: "gauge",
      steward_process_memory_bytes: "gauge",
      steward_supervisor_restarts_total: "counter",
      steward_exits_total: "counter",
      steward_mailbox_messages: "gauge",
      steward_mailbox_top_messages: "gauge",
      steward_table_size: "gauge",
      steward_table_memory_bytes: "gauge",
      steward_observer_events_dropped_total: "counter",
    });
    for (const name of Object.keys(types)) {
      assert.ok(help[name].length > 10, `${name} has help text`);
    }
  });

  test("formatMetrics() counts processes by kind and sums mailboxes and memory", () => {
    const { samples } = parse(formatMetrics({
      ...EMPTY,
      processes: [
        proc(1, 0, undefined, "main"),
        proc(2, 3, "a", "gen_server"),
        proc(3, 4, undefined, "gen_server"),
        proc(4, 0, "sup", "supervisor"),
      ],
    }));
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) =>
        s.name === name &&
        JSON.stringify(s.labels) === JSON.stringify(labels)
      ).map((s) => s.value);
    assert.deepEqual(get("steward_processes", { kind: "gen_server" }), ["2"]);
    assert.deepEqual(get("steward_processes", { kind: "main" }), ["1"]);
    assert.deepEqual(get("steward_processes", { kind: "supervisor" }), ["1"]);
    assert.deepEqual(get("steward_mailbox_messages"), ["7"]);
    assert.deepEqual(get("steward_process_memory_bytes"), ["400"]);
  });

  test("formatMetrics() lists the 5 longest mailboxes, longest first, ties by pid", () => {
    const processes = [
      proc(10, 1),
      proc(2, 9, "nine"),
      proc(30, 0),
      proc(4, 5),
      proc(5, 5),
      proc(6, 2),
      proc(7, 1),
    ];
    const top = parse(formatMetrics({ ...EMPTY, processes })).samples
      .filter((s) => s.name === "steward_mailbox_top_messages");
    assert.deepEqual(
      top.map((s) => [s.labels.pid, s.value]),
      [
        ["<0.2.0>", "9"],
        ["<0.4.0>", "5"],
        ["<0.5.0>", "5"],
        ["<0.6.0>", "2"],
        ["<0.7.0>", "1"],
      ],
    );
    assert.equal(top[0].labels.name, "nine");
    assert.equal(top[1].labels.name, undefined, "no name label when unnamed");
    assert.equal(top[0].labels.kind, "process");
  });

  test("formatMetrics() writes restart and exit counters with their labels", () => {
    const { samples } = parse(formatMetrics({
      ...EMPTY,
      restarts: [
        { supervisor: "<0.5.0>", name: "top", count: 3 },
        { supervisor: "<0.9.0>", name: undefined, count: 1 },
      ],
      exits: { normal: 10, shutdown: 2, killed: 1, other: 4 },
      tables: [{
        id: 4,
        owner: "<0.3.0>",
        name: "cache",
        type: "set",
        size: 12,
        memory: 2048,
      }],
      eventsDropped: 7,
    }));
    const pick = (name: string) =>
      samples.filter((s) => s.name === name).map((s) => [s.labels, s.value]);
    assert.deepEqual(pick("steward_supervisor_restarts_total"), [
      [{ supervisor: "<0.5.0>", name: "top" }, "3"],
      [{ supervisor: "<0.9.0>" }, "1"],
    ]);
    assert.deepEqual(pick("steward_exits_total"), [
      [{ reason: "normal" }, "10"],
      [{ reason: "shutdown" }, "2"],
      [{ reason: "killed" }, "1"],
      [{ reason: "other" }, "4"],
    ]);
    assert.deepEqual(pick("steward_table_size"), [
      [{ table: "cache", id: "4", owner: "<0.3.0>", type: "set" }, "12"],
    ]);
    assert.deepEqual(pick("steward_table_memory_bytes"), [
      [{ table: "cache", id: "4", owner: "<0.3.0>" }, "2048"],
    ]);
    assert.deepEqual(pick("steward_observer_events_dropped_total"), [
      [{}, "7"],
    ]);
  });

  test("formatMetrics() escapes hostile label values so they read back unchanged", () => {
    const names = [
      'a"b',
      "back\\slash",
      "line\nfeed",
      '\\"\n\\n',
      '"} 1\nsteward_processes{kind="fake"} 99',
      "<img src=x onerror=alert(1)>",
      "",
      "é ☃ 🎉",
      "tab\there",
      "cr\rhere",
      "ls\u2028here",
      "}{,=",
    ];
    const { samples } = parse(formatMetrics({
      ...EMPTY,
      processes: names.map((n, i) => proc(i + 1, 100 - i, n, n)),
      tables: names.map((n, i) => ({
        id: i + 1,
        owner: "<0.1.0>",
        name: n,
        type: "bag",
        size: 1,
        memory: 1,
      })),
      restarts: names.map((n, i) => ({
        supervisor: `<0.${i}.0>`,
        name: n,
        count: 1,
      })),
    }));
    const top = samples.filter((s) =>
      s.name === "steward_mailbox_top_messages"
    );
    assert.deepEqual(top.map((s) => s.labels.name), names.slice(0, 5));
    const kinds = samples.filter((s) => s.name === "steward_processes")
      .map((s) => s.labels.kind).sort();
    assert.deepEqual(kinds, [...names].sort());
    assert.ok(
      !samples.some((s) => s.name === "steward_processes" && s.value === "99"),
      "an injected line stays inside its label",
    );
    assert.deepEqual(
      samples.filter((s) => s.name === "steward_table_size").map((s) =>
        s.labels.table
      ),
      names,
    );
    assert.deepEqual(
      samples.filter((s) => s.name === "steward_supervisor_restarts_total")
        .map((s) => s.labels.name),
      names,
    );
  });

  test("formatMetrics() keeps tables of one name (or of one cut name) apart", () => {
    const long = "t".repeat(MAX_LABEL * 2);
    const tables = ["dup", "dup", long + "a", long + "b"].map((name, i) => ({
      id: i + 1,
      owner: "<0.7.0>",
      name,
      type: "set",
      size: i,
      memory: 10 * i,
    }));
    // parse() fails on a repeated series.
    const { samples } = parse(formatMetrics({ ...EMPTY, tables }));
    const sizes = samples.filter((s) => s.name === "steward_table_size");
    assert.deepEqual(sizes.map((s) => [s.labels.id, s.value]), [
      ["1", "0"],
      ["2", "1"],
      ["3", "2"],
      ["4", "3"],
    ]);
    assert.equal(sizes[2].labels.table, sizes[3].labels.table);
  });

  test("the test parser refuses a repeated series", () => {
    assert.throws(
      () => parse('# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'),
      /one sample of a/,
    );
    assert.throws(() => parse("# TYPE a gauge\na 1\na 2\n"), /one sample/);
    parse('# TYPE a gauge\na{x="1",y="2"} 1\na{x="1"} 2\n');
  });

  test("escapeLabelValue() escapes backslash, double quote and line feed only", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeLabelValue("<>{}&'\t"), "<>{}&'\t");
  });

  test("escapeLabelValue() replaces lone surrogates and cuts long values", () => {
    assert.equal(escapeLabelValue("a\uD800b"), "a\uFFFDb");
    const long = escapeLabelValue("x".repeat(MAX_LABEL * 10));
    assert.equal(long, "x".repeat(MAX_LABEL) + "…");
    // A cut that splits a surrogate pair leaves no lone half.
    const cut = escapeLabelValue("x".repeat(MAX_LABEL - 1) + "🎉🎉");
    assert.equal(cut, "x".repeat(MAX_LABEL - 1) + "\uFFFD…");
  });

  test("escapeHelp() escapes backslash and line feed", () => {
    assert.equal(escapeHelp('a\\b\n"c"'), 'a\\\\b\\n"c"');
  });

  test("formatValue() writes non-finite numbers as Prometheus does", () => {
    assert.equal(formatValue(NaN), "NaN");
    assert.equal(formatValue(Infinity), "+Inf");
    assert.equal(formatValue(-Infinity), "-Inf");
    assert.equal(formatValue(1.5), "1.5");
    assert.equal(formatValue(0), "0");
  });
});

describe("exitClass()", () => {
  test("exitClass() classes normal, shutdown, killed and the rest", () => {
    assert.equal(exitClass("normal"), "normal");
    assert.equal(exitClass("shutdown"), "shutdown");
    assert.equal(exitClass(["shutdown", "bye"]), "shutdown");
    assert.equal(exitClass(["shutdown", "bye", 1]), "other");
    assert.equal(exitClass("killed"), "killed");
    assert.equal(exitClass("kill"), "other");
    assert.equal(exitClass(new Error("boom")), "other");
    assert.equal(exitClass(undefined), "other");
  });

  test("exitClass() never throws on hostile reasons", () => {
    for (const [what, value] of hostiles()) {
      assert.equal(exitClass(value), "other", what);
    }
  });
});

describe("firstN()", () => {
  test("firstN() gives what sort then slice give, ties in input order", () => {
    // A fixed pseudo-random sequence with many ties.
    let seed = 7;
    const items = Array.from({ length: 3000 }, (_, i) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return { key: seed % 17, i };
    });
    const compare = (a: { key: number }, b: { key: number }) => b.key - a.key;
    for (const n of [0, 1, 5, 16, 500, 2999, 3000, 5000]) {
      assert.deepEqual(
        firstN(items, compare, n),
        [...items].sort(compare).slice(0, n),
        `n = ${n}`,
      );
    }
  });
});

describe("pidNumber()", () => {
  test("pidNumber() reads only the strict <0.N.0> form", () => {
    assert.equal(pidNumber("<0.0.0>"), 0);
    assert.equal(pidNumber("<0.42.0>"), 42);
    for (
      const bad of [
        "<0.042.0>",
        "<0.42.1>",
        "<1.42.0>",
        " <0.42.0>",
        "<0.42.0> ",
        "<0.-1.0>",
        "<0.4e2.0>",
        "<0.1234567890123456.0>",
        "0.42.0",
        "<0.42.0>\n",
        "",
      ]
    ) assert.equal(pidNumber(bad), undefined, JSON.stringify(bad));
  });

  test("comparePids() orders by number", () => {
    assert.deepEqual(
      ["<0.10.0>", "x", "<0.9.0>", "<0.100.0>"].sort(comparePids),
      ["<0.9.0>", "<0.10.0>", "<0.100.0>", "x"],
    );
  });
});
