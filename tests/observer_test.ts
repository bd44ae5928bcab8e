// observer.serve(): the HTTP side of the observer page, on Deno, Node and Bun
// (the browser side is tests/observer_e2e_test.ts). Real sockets on
// loopback; the snapshot interval runs on the virtual clock where a test
// waits for it. Every other wait is for an event, bounded by a guard timer
// that fails the test instead of hanging it (cleared on success).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { type Observer, serve, TOP_PROCESSES } from "../observer.ts";
import * as supervisor from "../supervisor.ts";
import * as ets from "../ets.ts";
import {
  exit,
  isAlive,
  type Pid,
  register,
  self,
  send,
  spawn,
  spawnLink,
  whereis,
} from "../process.ts";
import { setLabel, tables } from "../system.ts";
import * as sys from "../sys.ts";
import * as genServer from "../gen_server.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import { throwingProxy } from "./_hostile.ts";
import { cleanup, forever, withClock } from "./_helpers.ts";

const GUARD_MS = 10_000;

function guarded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out (${GUARD_MS} ms): ${what}`)),
      GUARD_MS,
    );
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request with node:http (fetch cannot set Host, and its body must be
 * consumed on Deno): everything read before it resolves.
 */
function req(
  obs: Observer,
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<Reply> {
  return guarded(
    new Promise((resolve, reject) => {
      const r = httpRequest(new URL(path, obs.url), {
        method: init.method ?? "GET",
        headers: init.headers,
      }, (res) => {
        const chunks: string[] = [];
        res.setEncoding("utf8");
        res.on("data", (c: string) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: chunks.join(""),
          }));
        res.on("error", reject);
      });
      r.on("error", reject);
      r.end(init.body);
    }),
    `${init.method ?? "GET"} ${path}`,
  );
}

function post(
  obs: Observer,
  path: string,
  body: unknown,
  token: string | null = obs.token,
): Promise<Reply> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
  };
  if (token !== null) headers["x-steward-token"] = token;
  return req(obs, path, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A Server-Sent Events client reading `/events`, events taken in order. */
class Events {
  readonly #abort = new AbortController();
  readonly #reader: Promise<ReadableStreamDefaultReader<Uint8Array>>;
  readonly #decoder = new TextDecoder();
  #buffer = "";

  constructor(obs: Observer) {
    this.#reader = fetch(new URL("/events", obs.url), {
      signal: this.#abort.signal,
    }).then((res) => {
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
      return res.body!.getReader();
    });
  }

  /** The next event (skipping others) whose type is `type`, parsed. */
  next(type: string, what = type): Promise<Record<string, unknown>> {
    return guarded(this.#next(type), `event ${what}`);
  }

  async #next(type: string): Promise<Record<string, unknown>> {
    const reader = await this.#reader;
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === type && data !== undefined) return JSON.parse(data);
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before a ${type} event`);
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  async close(): Promise<void> {
    const reader = await this.#reader;
    await reader.cancel().catch(() => {});
    this.#abort.abort();
  }
}

/** A one_for_one supervisor with workers "a" and "b". */
function startTree(): Promise<Pid> {
  return supervisor.start({
    strategy: "one_for_one",
    intensity: 10,
    children: ["a", "b"].map((id) => ({
      id,
      start: () => spawnLink(forever),
    })),
  }, { name: "obs_top" });
}

async function childPid(sup: Pid, id: string): Promise<Pid> {
  const info = (await supervisor.whichChildren(sup)).find((c) => c.id === id);
  assert.ok(info?.pid instanceof Object, `child ${id} runs`);
  return info.pid as Pid;
}

/** The value of the sample `line` (name and labels as written) in `body`. */
/** Fails if a series (name and labels) appears twice in a /metrics body. */
function assertSeriesUnique(body: string): void {
  const seen = new Set<string>();
  for (const l of body.split("\n")) {
    if (l === "" || l.startsWith("#")) continue;
    const series = l.slice(0, l.lastIndexOf(" "));
    assert.ok(!seen.has(series), `one sample of ${series}`);
    seen.add(series);
  }
}

/** The value of the sample `line` (name and labels) in a /metrics body. */
function metric(body: string, line: string): string | undefined {
  assertSeriesUnique(body);
  return sample(body, line);
}

function sample(body: string, line: string): string | undefined {
  for (const l of body.split("\n")) {
    if (l.startsWith(line + " ")) return l.slice(line.length + 1);
  }
  return undefined;
}

describe("observer.serve()", () => {
  test("serve() refuses unknown keys and bad values, naming them", async () => {
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [
        { prot: 1 },
        TypeError,
        /^Cannot serve the observer: unknown option "prot" \(known: port, hostname, token, signal, interval, allowedHosts\)$/,
      ],
      [
        { port: -1 },
        RangeError,
        /'port' must be an integer from 0 to 65535, got -1/,
      ],
      [{ port: 1.5 }, RangeError, /'port'.*got 1\.5/],
      [{ port: "80" }, TypeError, /'port' must be a number, got "80"/],
      [{ hostname: "" }, TypeError, /'hostname' must be a non-empty string/],
      [{ token: "short" }, RangeError, /'token' must be 16 to 256/],
      [{ token: "x".repeat(15) + " " }, RangeError, /'token'/],
      [{ token: 42 }, TypeError, /'token' must be a string, got 42/],
      [{ interval: 0 }, RangeError, /'interval' must be a positive/],
      [{ interval: Infinity }, RangeError, /'interval'/],
      [{ signal: {} }, TypeError, /'signal' must be an AbortSignal/],
      [{ allowedHosts: "a.b" }, TypeError, /'allowedHosts' must be an array/],
      [{ allowedHosts: ["a b"] }, TypeError, /'allowedHosts' must hold/],
      [{ allowedHosts: [1] }, TypeError, /'allowedHosts' must hold.*got 1/],
      ["x", TypeError, /'options' must be an object/],
    ];
    for (const [options, Err, message] of cases) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        serve(options as any),
        (e: unknown) => e instanceof Err && message.test((e as Error).message),
        JSON.stringify(options),
      );
    }
  });

  test("serve() listens on 127.0.0.1 with a random token; close() is idempotent", async () => {
    const obs = await serve();
    assert.match(obs.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(obs.port > 0);
    assert.equal(obs.url, `http://127.0.0.1:${obs.port}/`);
    assert.match(obs.token, /^[0-9a-f]{64}$/);
    const other = await serve({ token: "a-given-token-1234" });
    assert.equal(other.token, "a-given-token-1234");
    assert.notEqual(other.port, obs.port);
    await Promise.all([obs.close(), obs.close()]);
    await other[Symbol.asyncDispose]();
    await obs.close();
    await assert.rejects(req(obs, "/metrics"));
  });

  test("serve() closes when its signal aborts", async () => {
    const ac = new AbortController();
    const obs = await serve({ signal: ac.signal });
    assert.equal((await req(obs, "/metrics")).status, 200);
    ac.abort();
    await obs.close();
    await assert.rejects(req(obs, "/metrics"));
    await assert.rejects(
      serve({ signal: ac.signal }),
      /'signal' is already aborted/,
    );
  });

  test("serve() closes and rejects when its signal aborts while it starts", async () => {
    const probe = await serve();
    const port = probe.port;
    await probe.close();
    const ac = new AbortController();
    const starting = serve({ signal: ac.signal, port });
    ac.abort(new Error("stop now"));
    await assert.rejects(starting, /stop now/);
    // The port is free again: nothing was left listening.
    const again = await serve({ port });
    await again.close();
  });

  test("GET / serves the page with a nonce CSP, nosniff, and no HTML sink in its script", async () => {
    const obs = await serve();
    try {
      const page = await req(obs, "/");
      assert.equal(page.status, 200);
      assert.match(String(page.headers["content-type"]), /^text\/html/);
      assert.equal(page.headers["x-content-type-options"], "nosniff");
      const csp = String(page.headers["content-security-policy"]);
      assert.match(csp, /default-src 'self'/);
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce && nonce.length >= 16, csp);
      assert.ok(page.body.includes(`<script nonce="${nonce}">`));
      assert.ok(page.body.includes(`<style nonce="${nonce}">`));
      assert.ok(!/unsafe-inline|unsafe-eval/.test(csp));
      // One script, inline, nothing loaded from elsewhere.
      assert.equal(page.body.match(/<script/g)?.length, 1);
      assert.ok(!/\bsrc=|<link/.test(page.body));
      for (
        const sink of [
          "innerHTML",
          "outerHTML",
          "insertAdjacentHTML",
          "document.write",
          "eval(",
        ]
      ) {
        assert.ok(!page.body.includes(sink), `the page uses no ${sink}`);
      }
      // The script compiles (it is not run here: the browser test runs it).
      const script = page.body.slice(
        page.body.indexOf(`<script nonce="${nonce}">`) +
          `<script nonce="${nonce}">`.length,
        page.body.indexOf("</script>"),
      );
      assert.ok(script.length > 1000);
      assert.doesNotThrow(() => new Function(script));
      // A fresh nonce per page.
      const again = await req(obs, "/");
      assert.notEqual(
        /nonce-([^']+)/.exec(String(again.headers["content-security-policy"]))
          ?.[1],
        nonce,
      );
    } finally {
      await obs.close();
    }
  });

  test("serve() answers 404 for unknown paths, 405 for a wrong method, and GET never acts", async () => {
    const obs = await serve();
    const pid = spawnLink(forever);
    try {
      assert.equal((await req(obs, "/nope")).status, 404);
      const get = await req(obs, `/api/kill?pid=${pid}`);
      assert.equal(get.status, 405);
      assert.equal(get.headers["allow"], "POST");
      const postPage = await req(obs, "/metrics", { method: "POST" });
      assert.equal(postPage.status, 405);
      assert.equal(postPage.headers["allow"], "GET, HEAD");
      const head = await req(obs, "/events", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.body, "");
      assert.ok(isAlive(pid));
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });

  test("serve() refuses a Host that is not loopback (DNS rebinding)", async () => {
    const obs = await serve();
    try {
      const evil = await req(obs, "/api/snapshot", {
        headers: { host: `evil.example:${obs.port}` },
      });
      assert.equal(evil.status, 403);
      assert.deepEqual(JSON.parse(evil.body), { error: "bad_host" });
      for (
        const host of [
          `localhost:${obs.port}`,
          `127.0.0.1:${obs.port}`,
          `127.0.0.2:${obs.port}`,
          "127.255.0.1",
          `[::1]:${obs.port}`,
          `[::ffff:127.0.0.1]:${obs.port}`,
        ]
      ) {
        const ok = await req(obs, "/api/snapshot", { headers: { host } });
        assert.equal(ok.status, 200, host);
      }
      for (
        const host of ["10.1.2.3", "128.0.0.1", "127.0.0.1.evil.example"]
      ) {
        const bad = await req(obs, "/api/snapshot", { headers: { host } });
        assert.equal(bad.status, 403, host);
      }
    } finally {
      await obs.close();
    }
  });

  test("serve() beyond loopback still checks Host: loopback, IP literals, hostname, allowedHosts", async () => {
    const obs = await serve({
      hostname: "0.0.0.0",
      allowedHosts: ["Observer.Test"],
    });
    try {
      for (
        const host of [
          `localhost:${obs.port}`,
          "127.0.0.3",
          `10.1.2.3:${obs.port}`,
          "[fe80::1]",
          "0.0.0.0",
          `observer.test:${obs.port}`,
        ]
      ) {
        const ok = await req(obs, "/api/snapshot", { headers: { host } });
        assert.equal(ok.status, 200, host);
      }
      for (const host of ["evil.example", `other.test:${obs.port}`]) {
        const bad = await req(obs, "/api/snapshot", { headers: { host } });
        assert.equal(bad.status, 403, host);
      }
    } finally {
      await obs.close();
    }
  });
});

describe("observer /metrics", () => {
  test("GET /metrics reports processes, tables, mailboxes, restarts and exits", async () => {
    const obs = await serve();
    const sup = await startTree();
    const table = ets.create("obs_metrics_table", { type: "bag", named: true });
    for (const row of [["k", 1], ["k", 2], ["j", 3]]) table.insert(row);
    const stream = new Events(obs);
    try {
      await stream.next("snapshot");
      const before = await req(obs, "/metrics");
      assert.equal(before.status, 200);
      assert.match(
        String(before.headers["content-type"]),
        /^text\/plain; version=0\.0\.4/,
      );
      assert.equal(
        metric(before.body, 'steward_processes{kind="supervisor"}'),
        "1",
      );
      assert.equal(metric(before.body, 'steward_processes{kind="main"}'), "1");
      assert.equal(
        metric(
          before.body,
          `steward_table_size{table="obs_metrics_table",id="${
            tables().find((t) => t.name === "obs_metrics_table")!.id
          }",owner="${self()}",type="bag"}`,
        ),
        "3",
      );
      assert.equal(
        metric(before.body, 'steward_exits_total{reason="killed"}'),
        "0",
      );

      exit(await childPid(sup, "a"), "kill");
      const restarted = await stream.next("system", "child_restarted");
      while (restarted.type !== "child_restarted") {
        Object.assign(
          restarted,
          await stream.next("system", "child_restarted"),
        );
      }
      assert.equal(restarted.supervisor, String(sup));
      assert.equal(restarted.id, '"a"');
      const after = await req(obs, "/metrics");
      assert.equal(
        metric(after.body, 'steward_exits_total{reason="killed"}'),
        "1",
      );
      assert.equal(
        metric(
          after.body,
          `steward_supervisor_restarts_total{supervisor="${sup}",name="obs_top"}`,
        ),
        "1",
      );
    } finally {
      await stream.close();
      await obs.close();
      table.destroy();
      await supervisor.stop(sup);
    }
  });

  test("GET /metrics writes each table's series once, even for tables of one name", async () => {
    const obs = await serve();
    const long = "n".repeat(500);
    const made = [
      ets.create("dup"),
      ets.create("dup"),
      ets.create(long + "1"),
      ets.create(long + "2"),
    ];
    try {
      const { body } = await req(obs, "/metrics");
      assertSeriesUnique(body);
      const lines = body.split("\n").filter((l) =>
        l.startsWith('steward_table_size{table="dup"')
      );
      assert.equal(lines.length, 2, body);
    } finally {
      for (const t of made) t.destroy();
      await obs.close();
    }
  });

  test("GET /metrics lists the longest mailboxes with escaped hostile names", async () => {
    const obs = await serve();
    const hostile = 'evil"} 1\nsteward_x 2 <img src=x onerror=alert(1)>\\';
    const pid = spawnLink(forever);
    register(hostile, pid);
    for (let i = 0; i < 50; i++) send(pid, i);
    try {
      const { body } = await req(obs, "/metrics");
      assertSeriesUnique(body);
      const escaped = hostile.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
        .replaceAll("\n", "\\n");
      assert.ok(
        body.includes(`name="${escaped}"`),
        `the hostile name is escaped in:\n${body}`,
      );
      assert.ok(!/^steward_x /m.test(body), "no injected sample line");
      assert.ok(
        body.includes(`pid="${pid}",name="${escaped}",kind="process"} 50\n`),
        "the longest mailbox, with its 50 messages",
      );
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });
});

describe("observer /events and snapshots", () => {
  test("GET /events sends hello and a snapshot, then one per interval on the clock", async () => {
    await withClock(async (clock) => {
      const obs = await serve({ interval: 500 });
      const sup = await startTree();
      const stream = new Events(obs);
      try {
        const hello = await stream.next("hello");
        assert.equal(hello.interval, 500);
        assert.ok(Array.isArray(hello.timeline));
        const first = await stream.next("snapshot");
        const trees = first.trees as { pid: string; children: unknown[] }[];
        const tree = trees.find((t) => t.pid === String(sup));
        assert.ok(tree, "the tree is in the snapshot");
        assert.equal(tree.children.length, 2);
        const at = first.at as number;
        await clock.advance(500);
        const second = await stream.next("snapshot");
        assert.equal(second.at, at + 500);
        await clock.advance(500);
        assert.equal((await stream.next("snapshot")).at, at + 1000);
      } finally {
        await stream.close();
        await obs.close();
        await supervisor.stop(sup);
      }
    });
  });

  test("GET /api/snapshot lists only the first TOP_PROCESSES processes in the asked order", async () => {
    const obs = await serve();
    const spawned: Pid[] = [];
    for (let i = 0; i < TOP_PROCESSES + 700; i++) spawned.push(spawn(forever));
    // The newest ones get the longest mailboxes: 3 messages, then 2, then 1.
    const busy = spawned.slice(-3);
    busy.forEach((pid, i) => {
      for (let m = 0; m <= i; m++) send(pid, m);
    });
    try {
      const got = async (query: string) => {
        const r = await req(obs, "/api/snapshot" + query);
        assert.equal(r.status, 200, r.body);
        return { snap: JSON.parse(r.body), size: r.body.length };
      };
      const { snap, size } = await got("");
      assert.equal(snap.processes.length, TOP_PROCESSES);
      assert.ok(snap.totals.processes >= TOP_PROCESSES + 700);
      assert.ok(size < 400 * TOP_PROCESSES, `a bounded snapshot: ${size}`);
      // The default order: longest mailbox first, ties oldest first.
      assert.deepEqual(
        snap.processes.slice(0, 3).map((p: { pid: string }) => p.pid),
        busy.map(String).reverse(),
      );
      assert.deepEqual(snap.order, { sort: "messageQueueLength", dir: -1 });
      const oldest = (await got("?sort=pid&dir=1")).snap.processes;
      assert.equal(oldest[0].kind, "main");
      const newest = (await got("?sort=pid&dir=-1")).snap.processes;
      assert.equal(newest[0].pid, String(spawned.at(-1)));
      assert.ok(
        !newest.some((p: { pid: string }) => p.pid === String(spawned[0])),
        "the oldest spawned is not among the newest 500",
      );
      for (const bad of ["?sort=nope", "?sort=pid&dir=0", "?dir=up"]) {
        assert.equal((await req(obs, "/api/snapshot" + bad)).status, 400, bad);
        assert.equal((await req(obs, "/events" + bad)).status, 400, bad);
      }
      // A process beyond the list is still found directly.
      const detail = await req(obs, `/api/process?pid=${spawned[0]}`);
      assert.equal(JSON.parse(detail.body).process.pid, String(spawned[0]));
    } finally {
      for (const pid of spawned) exit(pid, "kill");
      await obs.close();
    }
  });

  test("GET /api/snapshot shows hostile names and labels as plain strings", async () => {
    const obs = await serve();
    const name = "<img src=x onerror=alert(1)>";
    const label = '<script>alert("label")</script>';
    const pid = spawnLink(async () => {
      setLabel(label);
      await forever();
    });
    register(name, pid);
    try {
      const snap = JSON.parse((await req(obs, "/api/snapshot")).body);
      const p = snap.processes.find((p: { pid: string }) =>
        p.pid === String(pid)
      );
      assert.equal(p.name, name);
      assert.equal(p.label, label);
      assert.equal(p.kind, "process");
      const detail = await req(
        obs,
        `/api/process?pid=${encodeURIComponent(String(pid))}`,
      );
      assert.equal(detail.status, 200);
      assert.equal(JSON.parse(detail.body).process.name, name);
      assert.equal(
        (await req(obs, "/api/process?pid=%3C0.x.0%3E")).status,
        400,
      );
      assert.equal(
        (await req(obs, "/api/process?pid=%3C0.999999999.0%3E")).status,
        404,
      );
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });
});

describe("observer /api/process", () => {
  test("GET /api/process shows a server's state through sys.getStatus, after formatStatus", async () => {
    const obs = await serve();
    const open = await genServer.start({
      init: () => ["ok", { count: 3, html: "<img src=x onerror=alert(1)>" }],
    }, undefined);
    const vault = await genServer.start({
      init: () => ["ok", { secret: "s3cret" }],
      formatStatus: (status) => ({ ...status, state: "<hidden>" }),
    }, undefined);
    const hostile = await genServer.start({
      init: () => ["ok", throwingProxy()],
    }, undefined);
    const plain = spawnLink(forever);
    try {
      const detail = async (pid: Pid) => {
        const r = await req(obs, `/api/process?pid=${pid}`);
        assert.equal(r.status, 200);
        return JSON.parse(r.body);
      };
      const a = await detail(open);
      assert.equal(a.process.kind, "gen_server");
      assert.equal(a.status.status, "running");
      assert.equal(
        a.status.state,
        '{ count: 3, html: "<img src=x onerror=alert(1)>" }',
      );
      const b = await detail(vault);
      assert.equal(b.status.state, '"<hidden>"');
      assert.ok(!JSON.stringify(b).includes("s3cret"));
      const c = await detail(hostile);
      assert.equal(typeof c.status.state, "string");
      const d = await detail(plain);
      assert.equal(d.status, undefined, "a plain process has no server state");
      await sys.suspend(open);
      assert.equal((await detail(open)).status.status, "suspended");
      await sys.resume(open);
    } finally {
      await obs.close();
      for (const pid of [open, vault, hostile]) await genServer.stop(pid);
      await cleanup(plain);
    }
  });
});

describe("observer actions", () => {
  test("POST /api/kill is refused (403) without the token or with a wrong one", async () => {
    const obs = await serve();
    const pid = spawnLink(forever);
    try {
      for (
        const token of [
          null,
          "",
          "wrong-token-wrong-token",
          obs.token.slice(1),
        ]
      ) {
        const r = await post(obs, "/api/kill", { pid: String(pid) }, token);
        assert.equal(r.status, 403, `token ${token}`);
        assert.deepEqual(JSON.parse(r.body), { error: "forbidden" });
      }
      assert.ok(isAlive(pid), "nothing was killed");
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });

  test("POST /api/kill with the token kills the process", async () => {
    const obs = await serve();
    const pid = spawnLink(forever);
    try {
      const r = await post(obs, "/api/kill", { pid: String(pid) });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { ok: true, pid: String(pid) });
      assert.ok(!isAlive(pid));
      const again = await post(obs, "/api/kill", { pid: String(pid) });
      assert.equal(again.status, 404);
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });

  test("POST /api/kill parses strictly: bad pids, keys, types and sizes are refused", async () => {
    const obs = await serve();
    const pid = spawnLink(forever);
    try {
      const cases: [unknown, number][] = [
        [{ pid: ` ${pid}` }, 400],
        [{ pid: String(pid).replace("<0.", "<0.0") }, 400],
        [{ pid: 3 }, 400],
        [{ pid: String(pid), extra: 1 }, 400],
        [{}, 400],
        [[String(pid)], 400],
        ["not json", 400],
        ["null", 400],
        [{ pid: String(pid), pad: "x".repeat(5000) }, 413],
      ];
      for (const [body, status] of cases) {
        const r = await post(obs, "/api/kill", body);
        assert.equal(r.status, status, JSON.stringify(body).slice(0, 80));
      }
      // No content-length: the size is found while reading; still a 413.
      const chunked = await req(obs, "/api/kill", {
        method: "POST",
        headers: {
          "x-steward-token": obs.token,
          "content-type": "application/json",
          "transfer-encoding": "chunked",
        },
        body: JSON.stringify({ pid: String(pid), pad: "x".repeat(8000) }),
      });
      assert.equal(chunked.status, 413);
      assert.equal(chunked.headers.connection, "close");
      assert.deepEqual(JSON.parse(chunked.body), { error: "body_too_large" });
      const plain = await req(obs, "/api/kill", {
        method: "POST",
        headers: { "x-steward-token": obs.token, "content-type": "text/plain" },
        body: JSON.stringify({ pid: String(pid) }),
      });
      assert.equal(plain.status, 415);
      const main = (JSON.parse((await req(obs, "/api/snapshot")).body)
        .processes as { pid: string; kind: string }[])
        .find((p) => p.kind === "main")!;
      assert.equal(
        (await post(obs, "/api/kill", { pid: main.pid })).status,
        400,
      );
      assert.ok(isAlive(pid));
    } finally {
      await obs.close();
      await cleanup(pid);
    }
  });

  test("POST /api/stop-child terminates a supervisor's child; refused without the token", async () => {
    const obs = await serve();
    const sup = await startTree();
    try {
      const body = { supervisor: String(sup), id: '"b"' };
      assert.equal(
        (await post(obs, "/api/stop-child", body, "nope-nope-nope-nope"))
          .status,
        403,
      );
      assert.ok(isAlive(await childPid(sup, "b")));
      const r = await post(obs, "/api/stop-child", body);
      assert.equal(r.status, 200, r.body);
      const b = (await supervisor.whichChildren(sup)).find((c) => c.id === "b");
      assert.equal(b?.pid, undefined);
      assert.equal(
        (await post(obs, "/api/stop-child", {
          supervisor: String(sup),
          id: '"zz"',
        })).status,
        404,
      );
      assert.equal(
        (await post(obs, "/api/stop-child", {
          supervisor: String(sup),
          id: "b",
        })).status,
        404,
        "ids are given as the snapshot shows them",
      );
      const worker = await childPid(sup, "a");
      assert.equal(
        (await post(obs, "/api/stop-child", {
          supervisor: String(worker),
          id: '"a"',
        })).status,
        400,
      );
    } finally {
      await obs.close();
      await supervisor.stop(sup);
    }
  });

  test("POST /api/stop-child stops a director's, a tracker's and a dynamic supervisor's child", async () => {
    const obs = await serve();
    const d = await director.start(() => ({
      children: [{ id: ["db", 1], start: () => spawnLink(forever) }],
    }));
    await tracker.start("obs_tracker");
    const t = whereis("obs_tracker")!;
    await tracker.findOrOpen("obs_tracker", {
      id: "s1",
      start: () => spawnLink(forever),
    });
    const dyn = await supervisor.startDynamic();
    const { pid: dynChild } = await supervisor.startChild(dyn, {
      id: "ignored",
      start: () => spawnLink(forever),
    });
    try {
      const r1 = await post(obs, "/api/stop-child", {
        supervisor: String(d),
        id: '["db", 1]',
      });
      assert.equal(r1.status, 200, r1.body);
      assert.equal(
        director.getPids(d).length,
        0,
        "the director's child stopped",
      );
      const r2 = await post(obs, "/api/stop-child", {
        supervisor: String(t),
        id: '"s1"',
      });
      assert.equal(r2.status, 200, r2.body);
      assert.equal(tracker.find("obs_tracker", "s1"), undefined);
      const snap = JSON.parse((await req(obs, "/api/snapshot")).body);
      const tree = snap.trees.find((x: { pid: string }) =>
        x.pid === String(dyn)
      );
      const shown = tree.children[0];
      assert.equal(shown.pid, String(dynChild));
      const r3 = await post(obs, "/api/stop-child", {
        supervisor: String(dyn),
        id: shown.id,
      });
      assert.equal(r3.status, 200, r3.body);
      assert.ok(!isAlive(dynChild as Pid));
    } finally {
      await obs.close();
      await director.stop(d);
      await tracker.stop("obs_tracker");
      await supervisor.stop(dyn);
    }
  });
});
