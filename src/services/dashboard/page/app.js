// The status page: renders the state the server pushes over Server-Sent Events. Rows are keyed
// (hosts by name); event rows come once each, the server resumes from Last-Event-ID.

const $ = (id) => document.getElementById(id);

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

/** Text and a symbol, so a state reads the same without colour. */
function mark(ok, yes, no) {
  return el("span", { class: ok ? "ok" : "" }, ok ? `✓ ${yes}` : `· ${no}`);
}

function clock(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function renderHosts(hosts) {
  const body = $("hosts").tBodies[0];
  const rows = new Map([...body.rows].map((row) => [row.dataset.host, row]));
  for (const host of hosts) {
    const phase = host.phase === undefined ? "—" : `${host.phase}${host.phaseDone ? " (done)" : ""}`;
    const cells = [
      el("th", { scope: "row" }, host.name),
      el("td", {}, host.role),
      el("td", { class: "mono" }, host.address),
      el("td", { class: "mono" }, host.mac ?? "—"),
      el(
        "td",
        {},
        host.boot ?? "—",
        ...(host.bootDetail ? [" ", el("span", { class: "detail" }, host.bootDetail)] : []),
      ),
      el("td", {}, phase),
      el("td", {}, mark(host.ready, "Ready", "not Ready")),
      el("td", { class: host.lastError ? "bad" : "" }, host.lastError ? `✗ ${host.lastError}` : "—"),
    ];
    let row = rows.get(host.name);
    if (row === undefined) {
      row = el("tr", { "data-host": host.name });
      body.append(row);
    }
    row.replaceChildren(...cells);
  }
}

function renderTimeline(state) {
  const box = $("timeline");
  const bars = state.hosts.flatMap((h) => h.timeline);
  if (bars.length === 0 || state.startedAt === undefined) {
    box.replaceChildren(el("p", { class: "note" }, "No host has started installing."));
    return;
  }
  const origin = Math.min(...bars.map((b) => b.start));
  const last = Math.max(state.lastEventAt ?? origin, ...bars.map((b) => b.end ?? b.start));
  const span = Math.max(1000, last - origin);
  const children = [el("span"), axis(span)];
  for (const host of state.hosts) {
    const track = el("div", { class: "track", role: "list", "aria-label": `${host.name} phases` });
    for (const bar of host.timeline) {
      const end = bar.end ?? last;
      const words = `${bar.phase}: ${clock(bar.start - origin)} to ${clock(end - origin)}, ${bar.outcome}`;
      const item = el("div", { class: `bar ${bar.outcome}`, role: "listitem", title: words, "aria-label": words });
      item.textContent = bar.outcome === "failed" ? `✗ ${bar.phase}` : bar.phase;
      item.style.left = `${((bar.start - origin) / span) * 100}%`;
      item.style.width = `${((end - bar.start) / span) * 100}%`;
      track.append(item);
    }
    children.push(el("span", {}, host.name), track);
  }
  box.replaceChildren(...children);
}

function axis(span) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => el("span", {}, clock(span * f)));
  return el("div", { class: "axis", "aria-hidden": "true" }, ...ticks);
}

function renderRun(state) {
  const run = state.run;
  const ready = state.hosts.filter((h) => h.ready).length;
  const words = { running: "running", complete: "✓ complete", failed: "✗ failed" }[run.outcome];
  // A run that never heard of the hosts (gitops bootstrap alone) does not count them as not Ready.
  const heard = state.hosts.some((h) => h.ready || h.phase !== undefined || h.boot !== undefined);
  const hosts = heard ? `; ${ready} of ${state.hosts.length} hosts Ready` : "";
  $("run").textContent = `Run ${words}${hosts}${run.message ? ` — ${run.message}` : ""}`;
  const summary = $("summary");
  if (run.outcome === "running" && run.kubeconfig === undefined) return;
  const parts = [el("p", {}, run.message ?? words)];
  if (run.kubeconfig) parts.push(el("p", {}, "kubeconfig: ", el("span", { class: "mono" }, run.kubeconfig)));
  if (run.nextCommands.length > 0) parts.push(el("p", {}, "Next:"), el("pre", {}, run.nextCommands.join("\n")));
  summary.replaceChildren(...parts);
}

const charts = new Map();

function renderServices(nodes) {
  const box = $("services");
  if (!nodes || nodes.length === 0) return;
  if (box.querySelector(".note")) box.replaceChildren();
  for (const node of nodes) {
    let card = box.querySelector(`[data-node="${CSS.escape(node.host)}"]`);
    if (!card) {
      card = el("article", { class: "node", "data-node": node.host, "aria-label": `services on ${node.host}` });
      card.append(el("h3", {}, node.host), el("ul"), el("div", { class: "tags" }), el("div", { class: "chart" }));
      box.append(card);
    }
    card
      .querySelector("ul")
      .replaceChildren(
        ...node.lines.map((line) => el("li", { class: line.state }, `${SYMBOL[line.state]} ${line.text}`)),
      );
    renderTags(card.querySelector(".tags"), node.tags);
    drawChart(card.querySelector(".chart"), node);
  }
}

const SYMBOL = { ok: "✓", bad: "✗", waiting: "·" };

/** The replica's tags, folded away: a site holds dozens. Left open if the reader opened it. */
function renderTags(target, tags) {
  if (!tags) return;
  const count = tags.list.length + tags.more;
  let details = target.querySelector("details");
  if (!details) {
    details = el("details", {}, el("summary"), el("ul", { class: "mono" }));
    target.append(details);
  }
  details.querySelector("summary").textContent = `registry tags (${count})`;
  const items = tags.list.map((tag) => el("li", {}, tag));
  if (tags.more > 0) items.push(el("li", {}, `… and ${tags.more} more`));
  details.querySelector("ul").replaceChildren(...items);
}

function drawChart(target, node) {
  if (typeof uPlot !== "function" || node.series.times.length < 2) return;
  const data = [node.series.times, ...node.series.values];
  const existing = charts.get(node.host);
  if (existing) return existing.setData(data);
  const series = [
    {},
    ...node.series.labels.map((label, i) => ({
      label,
      stroke: i === 0 ? "#2f5fb3" : "#1d7a3a",
      dash: i === 0 ? undefined : [6, 4],
    })),
  ];
  charts.set(
    node.host,
    new uPlot({ width: 280, height: 110, series, legend: { live: false }, axes: [{}, { size: 40 }] }, data, target),
  );
}

const STAGE_SYMBOL = { ready: "✓", failed: "✗", waiting: "·", pending: "·" };

/** The push, the objects, the webhook; then one row per stage in the manifest's order. */
function renderGitops(gitops) {
  const steps = [gitops.steps.push, gitops.steps.applied, gitops.steps.webhook].filter(Boolean);
  $("gitops-steps").replaceChildren(
    ...steps.map((line) => el("li", { class: line.state }, `${SYMBOL[line.state]} ${line.text}`)),
  );
  const note = $("gitops-note");
  note.hidden = steps.length > 0;
  if (gitops.stages.length > 0) note.textContent = "Not handed over to Flux yet.";
  const table = $("stages");
  table.hidden = gitops.stages.length === 0;
  table.tBodies[0].replaceChildren(
    ...gitops.stages.map((stage) =>
      el(
        "tr",
        { "data-stage": stage.name },
        el("th", { scope: "row" }, stage.name),
        el("td", {}, stage.dependsOn === undefined ? "?" : stage.dependsOn.join(", ") || "—"),
        el("td", { class: "mono", title: stage.revision || null }, shortRevision(stage.revision)),
        el(
          "td",
          { class: stage.state === "ready" ? "ok" : stage.state === "failed" ? "bad" : "" },
          `${STAGE_SYMBOL[stage.state]} ${stage.words}`,
        ),
      ),
    ),
  );
}

/** `main@sha1:` and the commit's first 12 digits: enough to tell revisions apart (the full one is the title). */
function shortRevision(revision) {
  if (!revision) return "—";
  return revision.replace(/([0-9a-f]{12})[0-9a-f]{28,}/, "$1…");
}

function appendEvent(row) {
  const list = $("events");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  const level = row.level === "error" ? "✗ " : row.level === "warn" ? "! " : "";
  const time = new Date(row.time).toLocaleTimeString();
  list.append(el("li", { class: row.level }, `${time} ${level}${row.host ? `${row.host}: ` : ""}${row.message}`));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function render(state) {
  $("site").textContent = state.site;
  document.title = `${state.site} — airstrap status`;
  renderHosts(state.hosts);
  renderTimeline(state);
  renderServices(state.nodes);
  renderGitops(state.gitops);
  renderRun(state);
}

const stream = new EventSource("/events");
stream.addEventListener("open", () => {
  $("connection").textContent = "live";
});
let ended = false;
stream.addEventListener("error", () => {
  // A run's own page stops with the run: after its end that is no fault, and the page keeps its last state.
  $("connection").textContent = ended ? "the run ended; this is its last state" : "connection lost, reconnecting…";
});
stream.addEventListener("restart", () => $("events").replaceChildren());
stream.addEventListener("log", (message) => appendEvent(JSON.parse(message.data)));
stream.addEventListener("state", (message) => {
  const state = JSON.parse(message.data);
  ended = state.run.outcome !== "running";
  render(state);
});
