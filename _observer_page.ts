// The observer's page (observer.ts serves it at `/`): one HTML document with
// its CSS and script inline, so there is no build step, no external asset and
// no CDN. The script is plain DOM code for current browsers.
//
// Escaping: every value shown (names, labels, ids, reasons, states) comes
// from the running program and may be hostile (`<img src=x onerror=...>`).
// The script only ever writes such values with `textContent` (and SVG text
// with `textContent` too); it never uses innerHTML, outerHTML,
// insertAdjacentHTML or document.write, and never sets an attribute whose
// value could run code (no `on*` attributes, no href/src from data). On top of
// that the page's Content-Security-Policy (set by observer.ts) allows only
// this script and style (by nonce): an injected handler would not run even
// if a bug let markup through.
//
// Wire format (observer.ts): the page subscribes to `/events` (Server-Sent
// Events): `hello` once per connection ({ startedAt, interval, timeline }),
// then `snapshot` every interval and `system` for each timeline event as it
// happens. Actions are POSTs to /api/kill and /api/stop-child with the token
// in the `x-steward-token` header; the token comes from the URL's fragment
// (`#token=...`, never sent to the server by the browser) or the token field,
// and is kept in sessionStorage.

/** The page, its `<script>` and `<style>` carrying `nonce`. */
export function observerPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Steward observer</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>Steward observer</h1>
  <span id="status" class="status">connecting…</span>
  <form id="token-form" autocomplete="off">
    <label>token <input id="token" type="password" size="20" spellcheck="false"></label>
    <button type="submit">use</button>
  </form>
  <span id="message" role="status"></span>
</header>
<main>
  <section class="charts">
    <figure><figcaption>restarts per interval</figcaption><svg id="chart-restarts" viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
    <figure><figcaption>messages waiting (all mailboxes)</figcaption><svg id="chart-mailbox" viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
    <div id="summary" class="summary"></div>
  </section>
  <section class="wide">
    <h2>Supervision trees</h2>
    <ul id="trees" class="trees"></ul>
  </section>
  <section class="wide">
    <h2>Processes <span id="process-count" class="muted"></span></h2>
    <div class="scroll">
      <table id="procs" class="grid">
        <thead><tr>
          <th data-key="pid">pid</th><th data-key="name">name</th><th data-key="kind">kind</th>
          <th data-key="label">label</th><th data-key="status">status</th>
          <th data-key="messageQueueLength" class="num">mailbox</th>
          <th data-key="messagesReceived" class="num">received</th>
          <th data-key="messagesSent" class="num">sent</th>
          <th data-key="memory" class="num">memory</th><th></th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section>
    <h2>Process detail</h2>
    <div id="detail" class="detail"><p class="muted">Click a process.</p></div>
  </section>
  <section>
    <h2>Timeline</h2>
    <ol id="timeline" class="timeline"></ol>
  </section>
  <section class="wide">
    <h2>Tables</h2>
    <table id="tables" class="grid">
      <thead><tr><th>name</th><th>type</th><th>owner</th><th>heir</th><th>access</th><th class="num">size</th><th class="num">memory</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2433; --bg: #f6f7f9; --card: #fff;
  --muted: #6b7385; --line: #dde1e8; --ok: #1f9d55; --warn: #d98b00;
  --bad: #d64545; --info: #2b6cb0; --idle: #8a93a6; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --bg: #14171d;
  --card: #1c2029; --muted: #98a0b3; --line: #2c3240; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: center; padding: 8px 16px;
  background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 16px; margin: 0; }
h2 { font-size: 14px; margin: 0 0 8px; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; padding: 12px 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; min-width: 0; }
section.wide, section.charts { grid-column: 1 / -1; }
.charts { display: flex; gap: 16px; align-items: stretch; flex-wrap: wrap; }
figure { margin: 0; flex: 1 1 280px; }
figcaption { color: var(--muted); font-size: 12px; }
svg { width: 100%; height: 80px; background: var(--bg); border-radius: 4px; }
svg polyline { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
svg .restarts { stroke: var(--bad); } svg .mailbox { stroke: var(--info); }
svg text { font-size: 9px; fill: var(--muted); }
.summary { flex: 1 1 200px; }
.summary dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.summary dt { color: var(--muted); } .summary dd { margin: 0; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); font-weight: normal; }
.status.live { color: var(--ok); } .status.down { color: var(--bad); }
#message.error { color: var(--bad); } #message.ok { color: var(--ok); }
.scroll { max-height: 420px; overflow: auto; }
table.grid { border-collapse: collapse; width: 100%; }
.grid th, .grid td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line);
  white-space: nowrap; max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
.grid th[data-key] { cursor: pointer; user-select: none; }
.grid th.sorted-asc::after { content: " \\25B2"; } .grid th.sorted-desc::after { content: " \\25BC"; }
.grid .num { text-align: right; font-variant-numeric: tabular-nums; }
.grid tbody tr { cursor: pointer; } .grid tbody tr:hover { background: var(--bg); }
.grid tr.selected { outline: 2px solid var(--info); }
ul.trees, ul.trees ul { list-style: none; margin: 0; padding-left: 18px; }
ul.trees { padding-left: 0; }
.node, .child-row { display: flex; gap: 8px; align-items: center; padding: 2px 0; flex-wrap: wrap; }
.node .name { font-weight: 600; }
.toggle { border: none; background: none; cursor: pointer; width: 18px; padding: 0; color: var(--fg); }
.kind, .type { color: var(--muted); font-size: 12px; }
.badge { border-radius: 8px; padding: 0 6px; font-size: 11px; background: var(--bg); border: 1px solid var(--line); }
.badge.hot { border-color: var(--bad); color: var(--bad); }
.dot { width: 9px; height: 9px; border-radius: 50%; display: inline-block; background: var(--idle); }
.state-running .dot { background: var(--ok); } .state-restarting .dot { background: var(--warn); }
.state-launching .dot { background: var(--info); } .state-terminating .dot { background: var(--idle); }
.state-stopped .dot { background: var(--bad); }
.state-label { font-size: 12px; }
.state-restarting .state-label { color: var(--warn); } .state-stopped .state-label { color: var(--bad); }
.pid { font-family: ui-monospace, monospace; font-size: 12px; cursor: pointer; text-decoration: underline dotted; }
button.action { font-size: 11px; padding: 0 6px; cursor: pointer; }
button.kill { color: var(--bad); }
.detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; }
.detail dt { color: var(--muted); } .detail dd { margin: 0; overflow-wrap: anywhere; }
.detail pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--bg); padding: 6px; border-radius: 4px; max-height: 240px; overflow: auto; margin: 0; }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow: auto; font-size: 12px; }
.timeline li { padding: 2px 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.timeline .at { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 6px; }
.timeline .type { font-weight: 600; margin-right: 6px; }
.timeline .t-child_restarted .type { color: var(--warn); }
.timeline .t-give_up .type, .timeline .t-restart_failed .type, .timeline .t-exit .type { color: var(--bad); }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;

// The page's script. Written as plain JavaScript in a String.raw literal:
// it must contain no backtick and no dollar-brace.
const SCRIPT = String.raw`
"use strict";
(() => {
  const SERIES = 120;
  const TIMELINE = 300;
  // Rows drawn at most (a program may run 100,000 processes; the browser
  // would redraw them all every interval).
  const MAX_ROWS = 500;
  const MAX_CHILDREN = 200;
  const $ = (id) => document.getElementById(id);
  const st = {
    snap: null, startedAt: 0, sortKey: "messageQueueLength", sortDir: -1,
    selected: null, collapsed: new Set(), timeline: [], restarts: [],
    mailbox: [], lastRestarts: null, token: "",
  };

  // ---- DOM helpers: text only, never markup --------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag) {
    return document.createElementNS("http://www.w3.org/2000/svg", tag);
  }
  function pidLink(pid) {
    const s = el("span", "pid", pid);
    s.dataset.pid = pid;
    s.title = "show " + pid;
    s.addEventListener("click", (ev) => { ev.stopPropagation(); select(pid); });
    return s;
  }
  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }
  function secs(at) { return "+" + ((at - st.startedAt) / 1000).toFixed(3) + "s"; }
  function say(text, ok) {
    const m = $("message");
    m.textContent = text;
    m.className = ok ? "ok" : "error";
  }

  // ---- token -----------------------------------------------------------------
  try { st.token = sessionStorage.getItem("steward-token") || ""; } catch (_) {}
  if (location.hash.startsWith("#token=")) {
    // A malformed escape (say "#token=%") must not stop the page's script.
    try { st.token = decodeURIComponent(location.hash.slice(7)); } catch (_) { st.token = location.hash.slice(7); }
    history.replaceState(null, "", location.pathname + location.search);
  }
  function saveToken(t) {
    st.token = t;
    try { sessionStorage.setItem("steward-token", t); } catch (_) {}
  }
  saveToken(st.token);
  $("token").value = st.token;
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    saveToken($("token").value.trim());
    say(st.token ? "token set" : "token cleared", true);
  });

  // ---- actions -------------------------------------------------------------
  async function post(path, body, done) {
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-steward-token": st.token },
        body: JSON.stringify(body),
      });
      let reply = null;
      try { reply = await res.json(); } catch (_) {}
      if (res.ok) say(done, true);
      else say("refused (" + res.status + "): " + (reply && reply.error ? reply.error : res.statusText), false);
    } catch (e) {
      say("request failed: " + e, false);
    }
  }
  function kill(pid) { post("/api/kill", { pid }, "killed " + pid); }
  function stopChild(sup, id) {
    post("/api/stop-child", { supervisor: sup, id }, "stopped " + id + " of " + sup);
  }
  function button(cls, text, title, fn) {
    const b = el("button", "action " + cls, text);
    b.type = "button";
    b.title = title;
    b.addEventListener("click", (ev) => { ev.stopPropagation(); fn(); });
    return b;
  }

  // ---- supervision trees ---------------------------------------------------
  function renderTree(t, now) {
    const li = el("li", "tree");
    li.dataset.pid = t.pid;
    const row = el("div", "node");
    const open = !st.collapsed.has(t.pid);
    const tog = button("toggle", open ? "\u25BE" : "\u25B8", open ? "collapse" : "expand", () => {
      if (st.collapsed.has(t.pid)) st.collapsed.delete(t.pid); else st.collapsed.add(t.pid);
      render();
    });
    tog.className = "toggle";
    row.append(tog);
    if (typeof t.name === "string") row.append(el("span", "name", t.name));
    row.append(pidLink(t.pid), el("span", "kind", t.kind + (t.strategy ? " \u00B7 " + t.strategy : "")));
    if (t.label) row.append(el("span", "label", t.label));
    // The tree's count is the restarts within its intensity window (a
    // director's: all its children's); the children's badges are totals.
    row.append(el("span", "badge" + (t.restarts > 0 ? " hot" : ""), (t.kind === "director" ? "restarts " : "restarts in window ") + t.restarts));
    li.append(row);
    if (open) {
      const ul = el("ul", "children");
      for (const c of t.children.slice(0, MAX_CHILDREN)) ul.append(renderChild(t, c, now));
      if (t.children.length > MAX_CHILDREN) {
        ul.append(el("li", "muted more", "\u2026 and " + (t.children.length - MAX_CHILDREN) + " more children"));
      }
      li.append(ul);
    }
    return li;
  }
  function renderChild(t, c, now) {
    const li = el("li", "child state-" + c.state);
    li.dataset.id = c.id;
    li.dataset.state = c.state;
    li.dataset.pid = c.pid || "";
    if (c.tree) {
      li.append(renderTree(c.tree, now));
      const row = li.firstChild.firstChild;
      row.prepend(el("span", "dot"));
      row.insertBefore(el("span", "cid", c.id), toggleOf(row).nextSibling);
      addChildInfo(row, t, c, now);
      return li;
    }
    const row = el("div", "child-row");
    row.append(el("span", "dot"), el("span", "cid", c.id));
    if (c.pid) row.append(pidLink(c.pid));
    row.append(el("span", "type", c.type));
    addChildInfo(row, t, c, now);
    li.append(row);
    return li;
  }
  function toggleOf(row) { return row.querySelector(".toggle"); }
  function addChildInfo(row, t, c, now) {
    let text = c.state;
    if (c.state === "restarting" && typeof c.restartAt === "number") {
      text += " in " + Math.max(0, (c.restartAt - now) / 1000).toFixed(1) + "s";
    }
    row.append(el("span", "state-label", text));
    if (c.restarts > 0) row.append(el("span", "badge hot", "restarts " + c.restarts));
    if (c.pid) row.append(button("kill", "kill", "exit(" + c.pid + ", \"kill\")", () => kill(c.pid)));
    // A table manager's child is its consumer, not a child it can stop.
    if (c.state === "running" && t.kind !== "table_manager") row.append(button("stop", "stop", "terminate child " + c.id, () => stopChild(t.pid, c.id)));
  }

  // ---- processes -------------------------------------------------------------
  function compare(a, b) {
    const k = st.sortKey;
    let x = a[k], y = b[k];
    if (k === "pid") { x = Number(a.pid.split(".")[1]); y = Number(b.pid.split(".")[1]); }
    if (x === undefined || x === null) x = "";
    if (y === undefined || y === null) y = "";
    const r = typeof x === "number" && typeof y === "number" ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    return r * st.sortDir || Number(a.pid.split(".")[1]) - Number(b.pid.split(".")[1]);
  }
  function renderProcesses(s) {
    const rows = s.processes.slice().sort(compare).slice(0, MAX_ROWS).map((p) => {
      const tr = el("tr");
      tr.dataset.pid = p.pid;
      if (p.pid === st.selected) tr.className = "selected";
      tr.append(el("td", "", p.pid), el("td", "pname", p.name || ""), el("td", "", p.kind),
        el("td", "", p.label || ""), el("td", "", p.status),
        el("td", "num", p.messageQueueLength), el("td", "num", p.messagesReceived),
        el("td", "num", p.messagesSent), el("td", "num", bytes(p.memory)));
      const td = el("td");
      if (p.kind !== "main") td.append(button("kill", "kill", "exit(" + p.pid + ", \"kill\")", () => kill(p.pid)));
      tr.append(td);
      tr.addEventListener("click", () => select(p.pid));
      return tr;
    });
    $("procs").tBodies[0].replaceChildren(...rows);
    const total = s.totals.processes;
    const shown = Math.min(MAX_ROWS, s.processes.length);
    $("process-count").textContent = total > shown
      ? "(" + total + ", the first " + shown + " shown)"
      : "(" + total + ")";
    for (const th of $("procs").tHead.rows[0].cells) {
      th.classList.toggle("sorted-asc", th.dataset.key === st.sortKey && st.sortDir > 0);
      th.classList.toggle("sorted-desc", th.dataset.key === st.sortKey && st.sortDir < 0);
    }
  }
  for (const th of $("procs").tHead.rows[0].cells) {
    if (!th.dataset.key) continue;
    th.addEventListener("click", () => {
      if (st.sortKey === th.dataset.key) st.sortDir = -st.sortDir;
      else { st.sortKey = th.dataset.key; st.sortDir = th.classList.contains("num") ? -1 : 1; }
      render();
      connect(); // the server sends the first processes in this order
    });
  }

  // ---- process detail ------------------------------------------------------
  let detailSeq = 0;
  function select(pid) {
    st.selected = pid;
    render();
    refreshDetail();
  }
  async function refreshDetail() {
    const pid = st.selected;
    if (!pid) return;
    const seq = ++detailSeq;
    let d = null;
    try {
      const res = await fetch("/api/process?pid=" + encodeURIComponent(pid));
      d = res.ok ? await res.json() : null;
    } catch (_) {}
    if (seq !== detailSeq) return;
    const box = $("detail");
    if (!d || !d.process) {
      box.replaceChildren(el("p", "muted", pid + " is not alive."));
      return;
    }
    const p = d.process;
    const dl = el("dl");
    const add = (k, v) => {
      const dd = el("dd");
      if (Array.isArray(v)) {
        if (v.length === 0) dd.textContent = "none";
        v.forEach((x, i) => { if (i) dd.append(", "); dd.append(pidLink(x)); });
      } else if (v instanceof Node) dd.append(v);
      else dd.textContent = v === undefined || v === null ? "" : String(v);
      dl.append(el("dt", "", k), dd);
    };
    add("pid", p.pid);
    add("name", p.name);
    add("kind", p.kind);
    add("label", p.label);
    add("status", p.status);
    add("parent", p.parent ? [p.parent] : []);
    add("trap exit", p.trapExit ? "yes" : "no");
    add("mailbox", p.messageQueueLength);
    add("received / sent", p.messagesReceived + " / " + p.messagesSent);
    add("memory", bytes(p.memory));
    if (st.snap) add("started", ((st.snap.at - p.startedAt) / 1000).toFixed(1) + " s ago");
    add("links", p.links);
    add("monitors", p.monitors);
    add("monitored by", p.monitoredBy);
    const kids = [el("h3", "", p.name || p.pid), dl];
    if (d.status) {
      kids.push(el("h4", "", "state (" + d.status.status + ")"), el("pre", "state", d.status.state));
    } else if (d.statusError) {
      kids.push(el("p", "muted", "state: " + d.statusError));
    }
    if (p.kind !== "main") kids.push(button("kill", "kill", "exit(" + p.pid + ", \"kill\")", () => kill(p.pid)));
    box.replaceChildren(...kids);
  }

  // ---- tables ------------------------------------------------------------------
  function renderTables(s) {
    const rows = s.tables.slice(0, MAX_ROWS).map((t) => {
      const tr = el("tr");
      const owner = el("td"); owner.append(pidLink(t.owner));
      const heir = el("td"); if (t.heir) heir.append(pidLink(t.heir));
      tr.append(el("td", "", t.name), el("td", "", t.type), owner, heir, el("td", "", t.access),
        el("td", "num", t.size), el("td", "num", bytes(t.memory)));
      return tr;
    });
    $("tables").tBodies[0].replaceChildren(...rows);
  }

  // ---- timeline ----------------------------------------------------------------
  function eventItem(e) {
    const li = el("li", "t-" + e.type);
    li.dataset.type = e.type;
    li.append(el("span", "at", secs(e.at)), el("span", "type", e.type));
    const parts = [];
    if (e.supervisor) parts.push(["supervisor", e.supervisor, true]);
    if (e.id !== undefined) parts.push(["id", e.id, false]);
    if (e.pid) parts.push(["pid", e.pid, true]);
    if (e.table !== undefined) parts.push(["table", e.table, false]);
    if (e.from) parts.push(["from", e.from, true]);
    if (e.to) parts.push(["to", e.to, true]);
    if (e.count !== undefined) parts.push(["count", e.count, false]);
    if (e.reason !== undefined) parts.push(["reason", e.reason, false]);
    for (const [k, v, isPid] of parts) {
      li.append(el("span", "muted", " " + k + " "));
      li.append(isPid ? pidLink(v) : el("span", "v-" + k, v));
    }
    return li;
  }
  function addEvent(e) {
    st.timeline.push(e);
    if (st.timeline.length > TIMELINE) st.timeline.shift();
    const ol = $("timeline");
    ol.prepend(eventItem(e));
    while (ol.children.length > TIMELINE) ol.lastChild.remove();
  }

  // ---- charts ----------------------------------------------------------------
  function chart(id, values, cls) {
    const box = $(id);
    const max = Math.max(1, ...values);
    const w = 300, h = 80, n = SERIES - 1;
    const line = svg("polyline");
    line.setAttribute("class", cls);
    const start = SERIES - values.length;
    line.setAttribute("points", values.map((v, i) =>
      ((start + i) * w / n).toFixed(1) + "," + (h - 4 - (v / max) * (h - 16)).toFixed(1)).join(" "));
    const top = svg("text");
    top.setAttribute("x", "4");
    top.setAttribute("y", "10");
    top.textContent = "max " + max + "  now " + (values.length ? values[values.length - 1] : 0);
    box.replaceChildren(line, top);
  }
  function push(series, v) {
    series.push(v);
    if (series.length > SERIES) series.shift();
  }
  function renderSummary(s) {
    const dl = el("dl");
    const add = (k, v) => dl.append(el("dt", "", k), el("dd", "", v));
    add("processes", s.totals.processes);
    add("trees", s.trees.length);
    add("tables", s.tables.length);
    add("restarts", s.totals.restarts);
    const x = s.totals.exits;
    add("exits", "normal " + x.normal + ", shutdown " + x.shutdown + ", killed " + x.killed + ", other " + x.other);
    if (s.totals.dropped) add("events dropped", s.totals.dropped);
    $("summary").replaceChildren(dl);
  }

  // ---- rendering and the stream ------------------------------------------------
  function render() {
    const s = st.snap;
    if (!s) return;
    $("trees").replaceChildren(...s.trees.map((t) => renderTree(t, s.at)));
    renderProcesses(s);
    renderTables(s);
    renderSummary(s);
    chart("chart-restarts", st.restarts, "restarts");
    chart("chart-mailbox", st.mailbox, "mailbox");
  }
  function onSnapshot(s) {
    push(st.restarts, st.lastRestarts === null ? 0 : Math.max(0, s.totals.restarts - st.lastRestarts));
    st.lastRestarts = s.totals.restarts;
    push(st.mailbox, s.totals.mailbox);
    st.snap = s;
    render();
    if (st.selected) refreshDetail();
  }
  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource("/events?sort=" + encodeURIComponent(st.sortKey) + "&dir=" + st.sortDir);
    listen(source);
  }
  function listen(source) {
  source.addEventListener("open", () => {
    $("status").textContent = "live";
    $("status").className = "status live";
  });
  source.addEventListener("error", () => {
    $("status").textContent = "disconnected (retrying)";
    $("status").className = "status down";
  });
  source.addEventListener("hello", (m) => {
    const h = JSON.parse(m.data);
    st.startedAt = h.startedAt;
    st.timeline = [];
    $("timeline").replaceChildren();
    for (const e of h.timeline) addEvent(e);
  });
  source.addEventListener("snapshot", (m) => onSnapshot(JSON.parse(m.data)));
  source.addEventListener("system", (m) => addEvent(JSON.parse(m.data)));
  }
  connect();
})();
`;
