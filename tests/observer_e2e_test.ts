// The observer page end to end, in headless Chromium (Debian's `chromium`
// driven by playwright-core; no browser is downloaded): a supervised demo
// tree is shown, a child killed from the page restarts and the timeline gets
// the event, hostile names, ids and reasons show as text and run no script,
// and actions without the token are refused.
//
// The browser is driven from Node only (the server side runs on all three
// runtimes in tests/observer_test.ts):
// steward-test-runtimes: node
//
// Real time (a browser cannot run on the virtual clock): every wait is for
// something to appear on the page, bounded by WAIT_MS. Set
// STEWARD_SCREENSHOT=1 to write docs/observer.png (the README's picture).
import { describe, test } from "./_harness.ts";
import { after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { type Browser, chromium, type Page } from "playwright-core";
import { type Observer, serve } from "../observer.ts";
import * as supervisor from "../supervisor.ts";
import {
  exit,
  isAlive,
  type Pid,
  register,
  send,
  spawnLink,
} from "../process.ts";
import { setLabel } from "../system.ts";
import * as genServer from "../gen_server.ts";
import * as ets from "../ets.ts";
import { forever } from "./_helpers.ts";

/**
 * The page's `document`, in functions that run in the browser (this file is
 * type-checked without the DOM library).
 */
declare const document: {
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
  querySelectorAll(s: string): { length: number };
  getElementById(id: string): unknown;
};

const WAIT_MS = 15_000;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HOSTILE_NAME = "<img src=x onerror=alert(1)>";
const HOSTILE_LABEL = '<script>alert("label")</script>';
const HOSTILE_ID = "<b id=injected onmouseover=alert(2)>bold</b>";
const HOSTILE_REASON = "<img src=y onerror=alert(3)>";
const HOSTILE_STATE = "<i id=state-injected>italic</i>";

interface Vault {
  secret: string;
  note: string;
}

/** Debian's chromium, or a test failure that says how to get it. */
function chromiumPath(): string {
  const found = spawnSync("sh", ["-c", "command -v chromium"], {
    encoding: "utf8",
  });
  const path = found.stdout?.trim();
  if (found.status !== 0 || !path) {
    throw new Error(
      "Chromium is missing: this test drives Debian's `chromium` package " +
        "(`command -v chromium` found nothing). `npm test` installs it " +
        "(scripts/ensure_deps.mjs) when run as root with apt-get; " +
        "otherwise install it: `apt-get install chromium`.",
    );
  }
  return path;
}

/** The demo tree: a top supervisor (delayed restarts) and a pool. */
async function startDemo(): Promise<Pid> {
  return await supervisor.start({
    strategy: "one_for_one",
    intensity: 50,
    period: 5,
    // A visible "restarting" state: each restart waits 2.5 s (a dozen
    // snapshots at the test's interval, however loaded the machine).
    backoff: { initial: 2500, max: 2500 },
    children: [
      { id: "worker", start: () => spawnLink(forever) },
      {
        id: HOSTILE_ID,
        start: () => {
          const pid = spawnLink(async () => {
            setLabel(HOSTILE_LABEL);
            await forever();
          });
          register(HOSTILE_NAME, pid);
          return pid;
        },
      },
      {
        id: "vault",
        start: () =>
          genServer.startLink<Vault, unknown>(
            {
              init: () => {
                // A table the vault owns, for the tables view.
                const rows = ets.create("vault_rows", { named: true });
                for (let i = 0; i < 12; i++) rows.insert([`row-${i}`, i]);
                return ["ok", { secret: "s3cret", note: HOSTILE_STATE }];
              },
              // The page shows the state as formatStatus leaves it.
              formatStatus: (status) => ({
                ...status,
                state: { ...status.state, secret: "<hidden>" },
              }),
            },
            undefined,
            { name: "vault" },
          ),
      },
      {
        id: "pool",
        type: "supervisor",
        start: () =>
          supervisor.startLink({
            strategy: "one_for_one",
            intensity: 50,
            children: ["w1", "w2", "w3"].map((id) => ({
              id,
              start: () => spawnLink(forever),
            })),
          }),
      },
    ],
  }, { name: "demo_top" });
}

async function childPid(sup: Pid, id: unknown): Promise<Pid> {
  const info = (await supervisor.whichChildren(sup)).find((c) => c.id === id);
  assert.ok(typeof info?.pid === "object", `child ${String(id)} runs`);
  return info.pid as Pid;
}

/** The selector of the tree's child row `id` (as the page shows it). */
function child(id: string, extra = ""): string {
  return `#trees li.child[data-id='${JSON.stringify(id)}']${extra}`;
}

interface Fixture {
  browser: Browser;
  page: Page;
  observer: Observer;
  top: Pid;
  pool: Pid;
  dialogs: string[];
  problems: string[];
}

let fixture: Promise<Fixture> | undefined;

/** One browser, observer and demo tree for the whole file. */
function setup(): Promise<Fixture> {
  fixture ??= (async () => {
    const executablePath = chromiumPath();
    const top = await startDemo();
    const pool = await childPid(top, "pool");
    const observer = await serve({ interval: 200 });
    const browser = await chromium.launch({
      executablePath,
      args: FLAGS,
      headless: true,
    });
    const page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
    });
    page.setDefaultTimeout(WAIT_MS);
    const dialogs: string[] = [];
    const problems: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${observer.url}#token=${observer.token}`);
    return { browser, page, observer, top, pool, dialogs, problems };
  })();
  return fixture;
}

after(async () => {
  if (fixture === undefined) return;
  const f = await fixture.catch(() => undefined);
  if (f === undefined) return;
  await f.browser.close();
  await f.observer.close();
  await supervisor.stop(f.top);
});

describe("observer page (Chromium)", () => {
  test("the page shows the supervision tree, live", async () => {
    const { page, top, pool } = await setup();
    await page.locator(child("worker", '[data-state="running"]')).waitFor();
    const worker = await childPid(top, "worker");
    assert.equal(
      await page.locator(child("worker")).getAttribute("data-pid"),
      String(worker),
    );
    // The nested pool and its workers.
    await page.locator(`#trees li.tree[data-pid="${pool}"]`).waitFor();
    for (const id of ["w1", "w2", "w3"]) {
      await page.locator(child(id, '[data-state="running"]')).waitFor();
    }
    assert.match(
      await page.locator("#trees > li.tree > .node .name").first()
        .textContent() ?? "",
      /^demo_top$/,
    );
    assert.equal(await page.locator("#status").textContent(), "live");
    // A tree collapses and expands.
    const toggle = page.locator(
      `#trees li.tree[data-pid="${pool}"] > .node > button.toggle`,
    );
    await toggle.click();
    await page.locator(child("w1")).waitFor({ state: "detached" });
    await page.locator(`#trees li.tree[data-pid="${pool}"]`).waitFor();
    await toggle.click();
    await page.locator(child("w1")).waitFor();
    // The process table lists the top supervisor.
    const row = page.locator(`#procs tr[data-pid="${top}"]`);
    await row.waitFor();
    assert.equal(await row.locator("td").nth(2).textContent(), "supervisor");
    // The tables view: the vault's table, its owner and size.
    const table = page.locator("#tables tbody tr", { hasText: "vault_rows" });
    await table.waitFor();
    const vault = await childPid(top, "vault");
    assert.deepEqual(
      await table.locator("td").allTextContents(),
      ["vault_rows", "set", String(vault), "", "protected", "12"].concat(
        [await table.locator("td").nth(6).textContent() ?? ""],
      ),
    );
    assert.match(await table.locator("td").nth(6).textContent() ?? "", /B$/);
  });

  test("kill on a child: it shows restarting, then runs again; the timeline gets the event", async () => {
    const { page, top } = await setup();
    const before = await childPid(top, "worker");
    await page.locator(child("worker", '[data-state="running"]')).waitFor();
    await page.locator(`${child("worker")} > .child-row button.kill`).click();
    await page.locator(child("worker", '[data-state="restarting"]')).waitFor();
    assert.ok(!isAlive(before), "the page's kill killed the child");
    assert.match(
      await page.locator(`${child("worker")} .state-label`).textContent() ??
        "",
      /^restarting in \d+\.\ds$/,
    );
    await page.locator(
      child("worker", `[data-state="running"]:not([data-pid="${before}"])`),
    ).waitFor();
    const exited = page.locator('#timeline li[data-type="child_exited"]', {
      hasText: '"worker"',
    });
    await exited.first().waitFor();
    assert.match(await exited.first().textContent() ?? "", /"killed"/);
    await page.locator('#timeline li[data-type="child_restarted"]', {
      hasText: '"worker"',
    }).first().waitFor();
    assert.match(
      await page.locator(`${child("worker")} .badge`).textContent() ?? "",
      /restarts 1/,
    );
    assert.match(
      await page.locator("#message").textContent() ?? "",
      /^killed </,
    );
  });

  test("a malformed #token= does not stop the page; a sort asks the server for its order", async () => {
    const { browser, observer, top } = await setup();
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await page.goto(`${observer.url}#token=%E0%A4%A`);
      await page.locator(child("worker", '[data-state="running"]')).waitFor();
      assert.equal(await page.locator("#status").textContent(), "live");
      assert.deepEqual(errors, []);
      // The tree's badge counts restarts in its intensity window.
      assert.match(
        await page.locator(`#trees li.tree[data-pid="${top}"] > .node .badge`)
          .first().textContent() ?? "",
        /^restarts in window \d+$/,
      );
      // Sorting by pid, oldest first, reconnects with that order: the main
      // process (the oldest) is listed first.
      const streams: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/events")) streams.push(r.url());
      });
      const th = page.locator('#procs th[data-key="pid"]');
      await th.click();
      if (!(await th.getAttribute("class") ?? "").includes("sorted-asc")) {
        await th.click();
      }
      await page.locator("#procs tbody tr").first().locator("td", {
        hasText: "main",
      }).waitFor();
      assert.ok(
        streams.some((u) => u.includes("sort=pid") && u.includes("dir=1")),
        streams.join(),
      );
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test("hostile names, labels, ids and reasons show as text and run no script", async () => {
    const { page, top, pool, dialogs, problems } = await setup();
    const hostile = await childPid(top, HOSTILE_ID);
    for (let i = 0; i < 30; i++) send(hostile, i); // the longest mailbox
    // An exit reason that looks like markup, in the timeline.
    exit(await childPid(pool, "w1"), HOSTILE_REASON);
    const reason = page.locator(
      '#timeline li[data-type="child_exited"] .v-reason',
      { hasText: "onerror=alert(3)" },
    );
    await reason.first().waitFor();
    assert.equal(
      await reason.first().textContent(),
      JSON.stringify(HOSTILE_REASON),
    );
    // The process table, sorted by mailbox (longest first) by default.
    const row = page.locator(`#procs tr[data-pid="${hostile}"]`);
    await row.waitFor();
    await page.waitForFunction(
      (pid) =>
        document.querySelector("#procs tbody tr")?.getAttribute("data-pid") ===
          pid,
      String(hostile),
    );
    assert.equal(await row.locator("td.pname").textContent(), HOSTILE_NAME);
    assert.equal(await row.locator("td").nth(3).textContent(), HOSTILE_LABEL);
    assert.equal(await row.locator("td").nth(5).textContent(), "30");
    // The tree shows the id as text.
    assert.equal(
      await page.locator(`${child(HOSTILE_ID)} .cid`).textContent(),
      JSON.stringify(HOSTILE_ID),
    );
    // The detail view too.
    await row.click();
    await page.locator("#detail h3", { hasText: HOSTILE_NAME }).waitFor();
    assert.equal(await page.locator("#detail h3").textContent(), HOSTILE_NAME);
    // A server's state, through sys.getStatus and its formatStatus.
    await page.locator(`#procs tr[data-pid="${await childPid(top, "vault")}"]`)
      .click();
    const state = page.locator("#detail pre.state");
    await state.waitFor();
    assert.equal(
      await state.textContent(),
      `{ secret: "<hidden>", note: ${JSON.stringify(HOSTILE_STATE)} }`,
    );
    // Sorting by another column, and back.
    await page.locator('#procs th[data-key="memory"]').click();
    await page.locator('#procs th[data-key="memory"].sorted-desc').waitFor();
    await page.locator('#procs th[data-key="messageQueueLength"]').click();
    await page.locator('#procs th[data-key="messageQueueLength"].sorted-desc')
      .waitFor();
    // Nothing was parsed as markup: no element from the values, no dialog,
    // no script error, no CSP violation.
    const injected = await page.evaluate(() => ({
      img: document.querySelectorAll("img").length,
      b: document.querySelectorAll("b").length,
      byId: document.getElementById("injected") !== null ||
        document.getElementById("state-injected") !== null,
      i: document.querySelectorAll("i").length,
      scripts: document.querySelectorAll("script").length,
      svg: document.querySelectorAll("svg").length,
    }));
    assert.deepEqual(injected, {
      img: 0,
      b: 0,
      byId: false,
      i: 0,
      scripts: 1,
      svg: 2,
    });
    assert.deepEqual(dialogs, [], "no dialog opened");
    assert.deepEqual(problems, [], "no page error, no CSP violation");
  });

  test("actions without the token are refused (403) and change nothing", async () => {
    const { page, pool, problems } = await setup();
    const w2 = await childPid(pool, "w2");
    // Forget the token, then kill from the page.
    await page.fill("#token", "");
    await page.click('#token-form button[type="submit"]');
    await page.locator(`${child("w2")} > .child-row button.kill`).click();
    await page.locator("#message", { hasText: "refused (403)" }).waitFor();
    assert.ok(isAlive(w2), "w2 still runs");
    // A request from the page's origin without the header.
    const status = await page.evaluate(async (pid) => {
      const res = await fetch("/api/kill", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ pid }),
      });
      return res.status;
    }, String(w2));
    assert.equal(status, 403);
    assert.ok(isAlive(w2), "w2 still runs");
    // The browser logs each refused request; those two are expected.
    const refused = problems.filter((p) => /status of 403/.test(p));
    assert.equal(refused.length, 2, problems.join("\n"));
    problems.splice(
      0,
      problems.length,
      ...problems.filter((p) => !refused.includes(p)),
    );
  });

  test("stop on a child with the token stops it; the charts are drawn", async () => {
    const { page, pool, observer, dialogs, problems } = await setup();
    await page.fill("#token", observer.token);
    await page.click('#token-form button[type="submit"]');
    await page.locator(`${child("w3")} > .child-row button.stop`).click();
    await page.locator(child("w3", '[data-state="stopped"]')).waitFor();
    const w3 = (await supervisor.whichChildren(pool)).find((c) =>
      c.id === "w3"
    );
    assert.equal(w3?.pid, undefined, "w3 was terminated");
    assert.match(
      await page.locator("#chart-mailbox polyline").getAttribute("points") ??
        "",
      /^[\d.]+,[\d.]+( [\d.]+,[\d.]+)+$/,
    );
    assert.ok(await page.locator("#chart-restarts polyline").count() === 1);
    if (process.env.STEWARD_SCREENSHOT === "1") {
      await page.locator("#procs tbody tr").first().click();
      await page.locator("#detail h3").waitFor();
      await page.screenshot({ path: "docs/observer.png", fullPage: true });
    }
    assert.deepEqual(dialogs, []);
    assert.deepEqual(problems, []);
  });
});
