// Switchboard run dashboard: the front end of every toolkit.widgets view.
//
// One ES module for anywidget (JupyterLab 4, Notebook 7, VS Code, Colab) and for the
// static HTML export, which inlines this file and calls mountStatic(). It draws the
// rows and snapshot the Python side sends in traits; it never asks the kernel for data
// it needs to draw, so a view rendered late or twice looks the same.
//
// Untrusted text (payloads, agent output, names) only ever enters the page through
// textContent / createTextNode / setAttribute of fixed attribute names. There is no
// innerHTML anywhere in this file.

const SVG_NS = "http://www.w3.org/2000/svg";
const KINDS = ["directive", "result", "error", "a2a", "broadcast", "question", "answer"];
const STATUSES = ["waiting", "running", "done", "failed", "retrying", "skipped", "cancelled"];

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clip(text, n) {
  const str = String(text ?? "");
  return str.length <= n ? str : str.slice(0, Math.max(0, n - 1)) + "…";
}

function fmt(value, digits) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return value.toFixed(digits ?? 3);
  }
  return String(value);
}

function safeToken(value) {
  // class names built from data: keep letters, digits, dashes only
  return String(value).replace(/[^A-Za-z0-9_-]/g, "_");
}

function logMatches(row, filter) {
  if (filter.kind && row.kind !== filter.kind) return false;
  if (filter.text) {
    const hay = `${row.kind} ${row.who} ${row.text}`.toLowerCase();
    return hay.includes(filter.text.toLowerCase());
  }
  return true;
}

function rows(model, name) {
  return [...(model.get(`${name}_head`) || []), ...(model.get(`${name}_tail`) || [])];
}

function setTraits(model, values) {
  for (const [k, v] of Object.entries(values)) model.set(k, v);
  model.save_changes();
}

// -- parts -----------------------------------------------------------------------

function headerPart(ctx) {
  const root = h("div", { class: "sb-header" });
  return {
    root,
    deps: ["snapshot", "title", "cursor", "total", "following"],
    update() {
      const snap = ctx.model.get("snapshot") || {};
      const run = snap.run || {};
      const counts = run.task_counts || {};
      const taskText = STATUSES.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(" · ") || "no tasks yet";
      const title = ctx.model.get("title") || run.name || "Switchboard run";
      const status = run.status || "pending";
      const replay = !ctx.model.get("following") && ctx.model.get("cursor") < ctx.model.get("total");
      const lines = [
        h("div", { class: "sb-title-row" },
          h("span", { class: "sb-title" }, title),
          h("span", { class: `sb-badge sb-status-${safeToken(status)}`, "data-status": status }, status),
          replay ? h("span", { class: "sb-badge sb-replay" }, "replay") : null,
          run.simulated ? h("span", { class: "sb-badge sb-simulated", title: "the run went on simulated time" }, "simulated time") : null,
          h("span", { class: "sb-muted" }, run.run_id || ""),
        ),
        h("div", { class: "sb-figures" },
          h("span", {}, `${fmt(run.elapsed_s, 3)} s`),
          h("span", {}, `${fmt(run.events)} events`),
          h("span", {}, `${fmt(run.messages)} messages`),
          h("span", {}, taskText),
          h("span", {}, `${fmt(run.tokens_in)} → ${fmt(run.tokens_out)} tokens`),
          h("span", {}, `$${fmt(run.cost_usd, 4)}`),
        ),
        run.request ? h("div", { class: "sb-line" }, h("b", {}, "request "), run.request) : null,
        run.error ? h("div", { class: "sb-line sb-error-text" }, h("b", {}, "error "), run.error) : null,
        run.output ? h("div", { class: "sb-line" }, h("b", {}, "output "), run.output) : null,
        ...(snap.typing || []).map((t) => h("div", { class: "sb-line sb-typing", "data-agent": t.agent },
          h("b", {}, `${t.agent} `), h("span", { class: "sb-muted" }, "typing "), `${t.text} ✎`)),
      ];
      root.replaceChildren(...lines.filter(Boolean));
    },
  };
}

function controlsPart(ctx) {
  const { model } = ctx;
  const back = h("button", { class: "sb-btn sb-step-back", title: "one event back", type: "button" }, "◀ step");
  const play = h("button", { class: "sb-btn sb-play", title: "play / pause", type: "button" }, "▶ play");
  const fwd = h("button", { class: "sb-btn sb-step-forward", title: "one event forward", type: "button" }, "step ▶");
  const slider = h("input", { class: "sb-slider", type: "range", min: 0, max: 0, value: 0, step: 1 });
  const live = h("button", { class: "sb-btn sb-live", title: "follow the newest event", type: "button" }, "live");
  const label = h("span", { class: "sb-cursor-label" });
  const note = h("span", { class: "sb-muted" });
  const root = h("div", { class: "sb-controls" }, back, play, fwd, slider, label, live, note);
  const isStatic = () => Boolean(model.get("static"));
  back.addEventListener("click", () => setTraits(model, { following: false, playing: false, cursor: Math.max(0, model.get("cursor") - 1) }));
  fwd.addEventListener("click", () => setTraits(model, { following: false, playing: false, cursor: Math.min(model.get("total"), model.get("cursor") + 1) }));
  play.addEventListener("click", () => {
    if (model.get("playing")) return setTraits(model, { playing: false });
    const atEnd = model.get("cursor") >= model.get("total");
    setTraits(model, { following: false, cursor: atEnd ? 0 : model.get("cursor"), playing: true });
  });
  slider.addEventListener("input", () => setTraits(model, { following: false, playing: false, cursor: Number(slider.value) }));
  live.addEventListener("click", () => setTraits(model, { playing: false, following: true }));
  return {
    root,
    deps: ["cursor", "total", "following", "playing", "static"],
    update() {
      const total = model.get("total") || 0;
      const cursor = model.get("cursor") || 0;
      slider.max = String(total);
      slider.value = String(cursor);
      label.textContent = `event ${cursor} / ${total}`;
      play.textContent = model.get("playing") ? "❚❚ pause" : "▶ play";
      live.classList.toggle("sb-on", Boolean(model.get("following")));
      for (const node of [back, play, fwd, slider, live]) node.disabled = isStatic();
      note.textContent = isStatic() ? "static export: the run as it ended (replay needs a kernel)" : "";
    },
  };
}

// A team (toolkit.team) expands into its own lanes, plan and agents: the ``team`` trait
// holds its path ("research/sources"), "" the run itself; the kernel (or, in a static
// export, the exported views) sends what to draw.
function showTeam(model, path) {
  setTraits(model, { team: path });
}

// The part's title, naming the team shown, with a button one level up.
function teamTitle(ctx, node, label) {
  const { model } = ctx;
  const team = model.get("team") || "";
  const shown = ((model.get("snapshot") || {}).team || {}).path;
  const parts = [label];
  if (team) {
    parts.push(h("span", { class: "sb-team-name" }, ` · team ${clip(team, 60)}${shown === team ? "" : " (not started yet)"} `));
    const out = h("button", { class: "sb-btn sb-team-out", type: "button", title: "back to the run (or the team above)" }, "◂ out");
    out.addEventListener("click", () => showTeam(model, team.includes("/") ? team.slice(0, team.lastIndexOf("/")) : ""));
    parts.push(out);
  }
  node.replaceChildren(...parts);
}

// A row's event is its seq in its run: "" the run itself, or a team's child run id
// (each run numbers its own events); toolkit.widgets.export.detail_key the same way.
function isSelected(ui, row) {
  return ui.selected === row.seq && ui.selectedRun === (row.run || "");
}

function detailKey(seq, run) {
  return run ? `${run}:${seq}` : String(seq);
}

function selectSeq(ctx, seq, run) {
  ctx.ui.selected = seq;
  ctx.ui.selectedRun = run || "";
  ctx.model.set("selected_run", run || "");
  ctx.model.set("selected", seq);
  ctx.model.save_changes();
  ctx.schedule(["selection"]);
}

function flowPart(ctx) {
  const { model } = ctx;
  const lanesRow = h("div", { class: "sb-lanes" });
  const body = h("div", { class: "sb-flow-body" });
  const note = h("div", { class: "sb-muted sb-note" });
  const scroller = h("div", { class: "sb-flow-scroll" }, lanesRow, note, body);
  const legend = h("div", { class: "sb-legend" },
    KINDS.map((k) => h("span", { class: `sb-key sb-kind-${k}` }, h("i", {}), k)));
  const title = h("div", { class: "sb-part-title" }, "Message flow");
  const root = h("div", { class: "sb-flow" }, title, legend, scroller);
  const LANE = 150;
  const ROW = 26;
  return {
    root,
    deps: ["snapshot", "arrows_head", "arrows_tail", "totals", "height", "selection", "team"],
    update() {
      teamTitle(ctx, title, "Message flow");
      scroller.style.maxHeight = `${model.get("height") || 380}px`;
      const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
      const snap = model.get("snapshot") || {};
      const arrows = rows(model, "arrows");
      // lanes fixed from the start (the user, the orchestrator, every agent of run_started,
      // in the orchestrator's order: snap.lanes, toolkit.widgets.projection.lane_order), so
      // no lane moves when a participant speaks first; others are added as they appear
      const lanes = [];
      const known = snap.lanes || ["user", "orchestrator", ...(snap.metrics || []).map((m) => m.agent), ...(snap.participants || [])];
      for (const name of known) if (name && !lanes.includes(name)) lanes.push(name);
      for (const a of arrows) {
        for (const name of [a.from, a.to]) if (name !== "*" && !lanes.includes(name)) lanes.push(name);
      }
      const x = (name) => LANE / 2 + LANE * lanes.indexOf(name);
      const width = Math.max(LANE * lanes.length, LANE);
      lanesRow.style.width = `${width}px`;
      const expand = snap.expand || {};
      lanesRow.replaceChildren(...lanes.map((name) => {
        const team = Object.hasOwn(expand, name) ? expand[name] : null;
        if (team === null) return h("div", { class: "sb-lane", "data-name": name, title: name, style: `width:${LANE}px` }, clip(name, 20));
        // a team's lane: a click shows the team's own lanes and plan
        const lane = h("div", { class: "sb-lane sb-lane-team", "data-name": name, "data-team": team, title: `${name}: click to show the team's own lanes and plan`, style: `width:${LANE}px` }, `${clip(name, 18)} ▸`);
        lane.addEventListener("click", () => showTeam(model, team));
        return lane;
      }));
      const total = (model.get("totals") || {}).messages ?? arrows.length;
      note.textContent = total > arrows.length ? `${(total - arrows.length).toLocaleString("en-US")} earlier messages not shown (all are kept in Python)` : "";
      // room under the newest arrow for its hit area and a horizontal scrollbar
      const height = ROW * arrows.length + 28;
      const svg = s("svg", { class: "sb-flow-svg", width, height, viewBox: `0 0 ${width} ${height}` });
      const defs = s("defs", {}, KINDS.map((k) => s("marker", { id: `sb-head-${k}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: `sb-head sb-kind-${k}` }))));
      svg.appendChild(defs);
      for (const name of lanes) svg.appendChild(s("line", { class: "sb-lifeline", x1: x(name), x2: x(name), y1: 0, y2: height }));
      arrows.forEach((a, i) => {
        const kind = KINDS.includes(a.kind) ? a.kind : "a2a";
        const y = 18 + i * ROW;
        const x1 = x(a.from);
        const x2 = x(a.to);
        // the words (``tag``: "↪ fallback #3", "◇ review") come from toolkit.describe
        const label = `${a.tag ? a.tag + " · " : ""}${a.task ? a.task + " · " : ""}${a.text}`;
        const g = s("g", { class: `sb-arrow sb-kind-${kind}${isSelected(ctx.ui, a) ? " sb-selected" : ""}`, "data-seq": a.seq, "data-from": a.from, "data-to": a.to, "data-kind": kind });
        g.appendChild(s("title", {}, `#${a.seq} ${a.from} → ${a.to} [${a.tag || a.kind}] ${a.text}`));
        if (a.to === "*") {
          // a broadcast reaches every other lane: one dotted line across them, a head on each
          const left = LANE / 2;
          const right = LANE / 2 + LANE * (lanes.length - 1);
          g.appendChild(s("line", { class: "sb-arrow-line", x1: left, x2: right, y1: y, y2: y }));
          for (const name of lanes) {
            if (name === a.from) continue;
            const xn = x(name);
            g.appendChild(s("path", { class: `sb-head sb-kind-${kind}`, d: xn > x1 ? `M${xn - 8},${y - 4} L${xn},${y} L${xn - 8},${y + 4} z` : `M${xn + 8},${y - 4} L${xn},${y} L${xn + 8},${y + 4} z` }));
          }
          g.appendChild(s("circle", { class: `sb-head sb-kind-${kind}`, cx: x1, cy: y, r: 3.5 }));
          g.appendChild(s("text", { class: "sb-arrow-text", x: x1 + 6, y: y - 4 }, clip(`to all · ${label}`, 60)));
        } else if (x1 === x2) {
          g.appendChild(s("path", { class: "sb-arrow-line", d: `M${x1},${y - 6} h30 v12 h-28`, fill: "none", "marker-end": `url(#sb-head-${kind})` }));
          g.appendChild(s("text", { class: "sb-arrow-text", x: x1 + 34, y: y + 4 }, clip(label, 30)));
        } else {
          const dir = x2 > x1 ? 1 : -1;
          g.appendChild(s("line", { class: "sb-arrow-line", x1: x1 + 3 * dir, x2: x2 - 3 * dir, y1: y, y2: y, "marker-end": `url(#sb-head-${kind})` }));
          const room = Math.max(8, Math.floor(Math.abs(x2 - x1) / 6.2));
          g.appendChild(s("text", { class: "sb-arrow-text", x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle" }, clip(label, room)));
        }
        const hitFrom = a.to === "*" ? 0 : Math.min(x1, x2) - 4;
        const hitWidth = a.to === "*" ? width : Math.abs(x2 - x1) + 40;
        g.appendChild(s("rect", { class: "sb-hit", x: hitFrom, y: y - 14, width: hitWidth, height: ROW - 2 }));
        g.addEventListener("click", () => selectSeq(ctx, a.seq, a.run));
        svg.appendChild(g);
      });
      body.replaceChildren(svg);
      if (atBottom && model.get("following")) {
        const newest = svg.lastElementChild;
        scroller.scrollTop = scroller.scrollHeight;
        if (newest && newest.scrollIntoView) newest.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    },
  };
}

function planPart(ctx) {
  const { model } = ctx;
  const body = h("div", { class: "sb-plan-body" });
  const note = h("div", { class: "sb-muted sb-note" });
  const legend = h("div", { class: "sb-legend" }, STATUSES.map((k) => h("span", { class: `sb-key sb-status-${k}` }, h("i", {}), k)));
  const title = h("div", { class: "sb-part-title" }, "Plan");
  const root = h("div", { class: "sb-plan" }, title, legend, note, body);
  const W = 210;
  const CHARS = Math.floor((W - 16) / 6.6); // characters that fit a card line at 10.5-11.5px
  const H = 44;
  const GAP_X = 48;
  const GAP_Y = 12;
  return {
    root,
    deps: ["snapshot", "selection", "team"],
    update() {
      teamTitle(ctx, title, "Plan");
      const snap = model.get("snapshot") || {};
      const tasks = snap.tasks || [];
      const expand = snap.expand || {};
      note.textContent = snap.tasks_hidden ? `${snap.tasks_hidden} more tasks not drawn` : tasks.length ? "" : "no plan yet";
      const byId = new Map(tasks.map((t) => [t.id, t]));
      const depth = new Map();
      const depthOf = (t, seen) => {
        if (depth.has(t.id)) return depth.get(t.id);
        if (seen.has(t.id)) return 0;
        seen.add(t.id);
        let d = 0;
        for (const dep of t.deps || []) if (byId.has(dep)) d = Math.max(d, depthOf(byId.get(dep), seen) + 1);
        depth.set(t.id, d);
        return d;
      };
      const columns = [];
      for (const t of tasks) {
        const d = depthOf(t, new Set());
        (columns[d] ||= []).push(t);
      }
      const pos = new Map();
      columns.forEach((col, c) => col.forEach((t, r) => pos.set(t.id, { x: 8 + c * (W + GAP_X), y: 8 + r * (H + GAP_Y) })));
      const width = 16 + Math.max(1, columns.length) * (W + GAP_X) - GAP_X;
      const height = 16 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
      const svg = s("svg", { class: "sb-plan-svg", width, height, viewBox: `0 0 ${width} ${height}` });
      for (const t of tasks) {
        const to = pos.get(t.id);
        for (const dep of t.deps || []) {
          const from = pos.get(dep);
          if (!from) continue;
          const x1 = from.x + W;
          const y1 = from.y + H / 2;
          const x2 = to.x;
          const y2 = to.y + H / 2;
          const mx = (x1 + x2) / 2;
          svg.appendChild(s("path", { class: "sb-edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, fill: "none" }));
        }
      }
      for (const t of tasks) {
        const p = pos.get(t.id);
        const status = STATUSES.includes(t.status) ? t.status : "waiting";
        const extra = [t.tries > 1 ? `${t.tries} tries` : "", t.max_rounds > 1 ? `round ${t.round}/${t.max_rounds}` : ""].filter(Boolean).join(" · ");
        const worker = t.worker || t.agent;
        const g = s("g", { class: `sb-task sb-status-${status}`, "data-task": t.id, "data-status": status, transform: `translate(${p.x},${p.y})` });
        g.appendChild(s("title", {}, `${t.id} (${worker}) ${status}${t.goal ? "\n" + t.goal : ""}${t.error ? "\n" + t.error : ""}`));
        g.appendChild(s("rect", { class: "sb-task-box", width: W, height: H, rx: 6 }));
        g.appendChild(s("text", { class: "sb-task-id", x: 8, y: 17 }, clip(t.id, CHARS - 2)));
        g.appendChild(s("text", { class: "sb-task-agent", x: 8, y: 34 }, clip(`${worker}${t.reviewer && worker === t.agent ? " ⇄ " + t.reviewer : ""}${extra ? " · " + extra : ""}`, CHARS)));
        if (Object.hasOwn(expand, t.agent)) {
          // a team's task: a click shows the team's own lanes and plan
          g.classList.add("sb-task-team");
          g.setAttribute("data-team", expand[t.agent]);
          g.addEventListener("click", () => showTeam(model, expand[t.agent]));
        }
        svg.appendChild(g);
      }
      // each team's own plan (a child run), listed under the run's plan
      const teams = (snap.teams || []).map((team) =>
        h(
          "div",
          { class: "sb-team", "data-team": team.team },
          h("div", { class: "sb-part-title" }, `Team ${clip(team.team, 60)} · task ${clip(team.parent_task || "?", 40)} · ${team.status}`),
          ...(team.tasks || []).map((t) =>
            h(
              "div",
              { class: `sb-team-task sb-status-${STATUSES.includes(t.status) ? t.status : "waiting"}`, "data-task": t.id },
              h("i", {}),
              ` ${clip(t.id, 40)} (${clip(t.worker || t.agent, 40)}) ${t.status}${t.error ? " — " + clip(t.error, 120) : ""}`
            )
          ),
          team.tasks_hidden ? h("div", { class: "sb-muted" }, `${team.tasks_hidden} more tasks`) : ""
        )
      );
      body.replaceChildren(svg, ...teams);
    },
  };
}

function ganttPart(ctx) {
  const { model } = ctx;
  const body = h("div", { class: "sb-gantt-body" });
  const note = h("div", { class: "sb-muted sb-note" });
  const root = h("div", { class: "sb-gantt" }, h("div", { class: "sb-part-title" }, "Timeline (agent calls)"), note, body);
  const LABEL = 130;
  const PLOT = 620;
  const ROW = 22;
  return {
    root,
    deps: ["snapshot"],
    update() {
      const snap = model.get("snapshot") || {};
      const bars = snap.gantt || [];
      const now = (snap.run || {}).elapsed_s || 0;
      note.textContent = snap.gantt_hidden ? `${snap.gantt_hidden} earlier calls not drawn` : bars.length ? "" : "no agent calls yet";
      // one row per agent of the run from the start, in the flow's lane order (a row never
      // moves when calls interleave differently or early bars scroll out); then any other
      const agents = [...(snap.gantt_lanes || [])];
      const waits = snap.waits || [];
      const spans = [...bars, ...waits];
      for (const b of spans) if (!agents.includes(b.agent)) agents.push(b.agent);
      const end = Math.max(now, ...spans.map((b) => b.end_s ?? b.start_s), 1e-6);
      const start = spans.length ? Math.min(...spans.map((b) => b.start_s)) : 0;
      const span = Math.max(end - start, 1e-6);
      const sx = (t) => LABEL + ((t - start) / span) * PLOT;
      const height = 24 + agents.length * ROW;
      const width = LABEL + PLOT + 12;
      const svg = s("svg", { class: "sb-gantt-svg", width, height, viewBox: `0 0 ${width} ${height}` });
      for (const t of niceTicks(start, start + span)) {
        const x = sx(t);
        const anchor = x - LABEL < 20 ? "start" : LABEL + PLOT - x < 20 ? "end" : "middle";
        svg.appendChild(s("line", { class: "sb-grid", x1: x, x2: x, y1: 14, y2: height }));
        svg.appendChild(s("text", { class: "sb-axis", x, y: 10, "text-anchor": anchor }, tickLabel(t, span)));
      }
      agents.forEach((agent, i) => {
        svg.appendChild(s("text", { class: "sb-gantt-agent", x: 4, y: 20 + i * ROW + 11 }, clip(agent, 18)));
      });
      for (const b of bars) {
        const i = agents.indexOf(b.agent);
        const x1 = sx(b.start_s);
        const x2 = sx(b.end_s ?? end);
        const outcome = ["ok", "error", "unfinished", "interrupted"].includes(b.outcome) ? b.outcome : "unfinished";
        const g = s("g", { class: `sb-bar sb-outcome-${outcome}`, "data-agent": b.agent, "data-task": b.task });
        g.appendChild(s("title", {}, `${b.agent}: ${b.task} attempt ${b.attempt} — ${outcome}${b.duration_s != null ? ` in ${b.duration_s.toFixed(3)}s` : ""}`));
        g.appendChild(s("rect", { x: x1, y: 20 + i * ROW, width: Math.max(2, x2 - x1), height: ROW - 6, rx: 2 }));
        if (x2 - x1 > 40) g.appendChild(s("text", { class: "sb-bar-text", x: x1 + 3, y: 20 + i * ROW + 11 }, clip(b.task, Math.floor((x2 - x1) / 6.5))));
        svg.appendChild(g);
      }
      // time a human agent waited for a person: a hatched span of its own over the call
      for (const w of waits) {
        const i = agents.indexOf(w.agent);
        const x1 = sx(w.start_s);
        const x2 = sx(w.end_s ?? end);
        const outcome = ["waiting", "answered", "deadline", "interrupted"].includes(w.outcome) ? w.outcome : "waiting";
        const g = s("g", { class: `sb-wait sb-wait-${outcome}`, "data-agent": w.agent, "data-task": w.task });
        g.appendChild(s("title", {}, `${w.agent}: ${w.task} waited for a person — ${outcome}${w.duration_s != null ? ` after ${w.duration_s.toFixed(3)}s` : ""}`));
        g.appendChild(s("rect", { x: x1, y: 20 + i * ROW + 3, width: Math.max(2, x2 - x1), height: ROW - 12, rx: 2 }));
        svg.appendChild(g);
      }
      body.replaceChildren(svg);
    },
  };
}

// Round tick values (multiples of 1, 2 or 5 × 10^k) inside [lo, hi], about five of them.
function niceTicks(lo, hi) {
  const span = Math.max(hi - lo, 1e-9);
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function tickLabel(t, span) {
  if (span < 0.5) return `${Number((t * 1000).toPrecision(12))} ms`;
  return `${Number(t.toPrecision(12))} s`;
}

const METRIC_COLUMNS = [
  ["agent", "agent"], ["tasks", "tasks"], ["succeeded", "ok"], ["failed", "failed"], ["retries", "retries"], ["reviews", "reviews"], ["waited_s", "waited s"],
  ["mean_s", "mean s"], ["p95_s", "p95 s"], ["messages_in", "msgs in"], ["messages_out", "msgs out"],
  ["tokens_in", "tokens in"], ["tokens_out", "tokens out"], ["cost_usd", "cost $"],
];

function metricsPart(ctx) {
  const { model } = ctx;
  const table = h("table", { class: "sb-table sb-metrics-table" });
  const root = h("div", { class: "sb-metrics" }, h("div", { class: "sb-part-title" }, "Agents"), table);
  return {
    root,
    deps: ["snapshot"],
    update() {
      const snap = model.get("snapshot") || {};
      const metrics = snap.metrics || [];
      // a breaker column once any agent has a circuit breaker: its state, the reason as a tooltip
      const breakers = snap.breakers || {};
      const withBreakers = Object.keys(breakers).length > 0;
      const breakerCell = (agent) => {
        const b = breakers[agent];
        return h("td", { class: b ? `sb-breaker sb-breaker-${b.state}` : "sb-breaker", title: b ? b.reason : null }, b ? b.label : "");
      };
      table.replaceChildren(
        h("thead", {}, h("tr", {}, METRIC_COLUMNS.map(([, label]) => h("th", {}, label)), withBreakers ? h("th", {}, "breaker") : null)),
        h("tbody", {}, metrics.map((row) => h("tr", { "data-agent": row.agent },
          METRIC_COLUMNS.map(([key]) => h("td", { class: key === "agent" ? "" : "sb-num" }, key === "cost_usd" ? fmt(row[key], 6) : fmt(row[key], 3))),
          withBreakers ? breakerCell(row.agent) : null))),
      );
    },
  };
}

function logPart(ctx) {
  const { model, ui } = ctx;
  const text = h("input", { class: "sb-filter", type: "search", placeholder: "filter the log…" });
  const kind = h("select", { class: "sb-kind-filter" });
  const note = h("span", { class: "sb-muted" });
  const table = h("table", { class: "sb-table sb-log-table" });
  const scroller = h("div", { class: "sb-log-scroll" }, table);
  const detail = h("pre", { class: "sb-detail" });
  const root = h("div", { class: "sb-log" },
    h("div", { class: "sb-part-title" }, "Event log"),
    h("div", { class: "sb-log-tools" }, text, kind, note),
    h("div", { class: "sb-log-split" }, scroller, h("div", { class: "sb-detail-pane" }, h("div", { class: "sb-muted" }, "details"), detail)),
  );
  const sendFilter = () => {
    ui.filter = { text: text.value, kind: kind.value };
    if (!model.get("static")) setTraits(model, { log_filter: { ...ui.filter } });
    ctx.schedule(["log_head"]);
  };
  text.addEventListener("input", sendFilter);
  kind.addEventListener("change", sendFilter);
  return {
    root,
    deps: ["log_head", "log_tail", "totals", "detail", "selection", "snapshot", "height"],
    update() {
      scroller.style.maxHeight = `${model.get("height") || 380}px`;
      const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
      const counts = (model.get("snapshot") || {}).counts || {};
      const kinds = Object.keys(counts).sort();
      const current = kind.value;
      kind.replaceChildren(h("option", { value: "" }, "all kinds"), ...kinds.map((k) => h("option", { value: k }, `${k} (${counts[k]})`)));
      kind.value = kinds.includes(current) ? current : "";
      const shown = rows(model, "log").filter((r) => logMatches(r, ui.filter));
      const total = (model.get("totals") || {}).log ?? shown.length;
      const filtered = Boolean(ui.filter.text || ui.filter.kind);
      if (model.get("static") && filtered) note.textContent = `${shown.length} matching rows in this export`;
      else note.textContent = total > shown.length ? `${(total - shown.length).toLocaleString("en-US")} earlier rows not shown` : "";
      table.replaceChildren(
        h("thead", {}, h("tr", {}, ["#", "t (s)", "kind", "who", "what"].map((c) => h("th", {}, c)))),
        h("tbody", {}, shown.map((r) => {
          const tr = h("tr", { class: `sb-log-row sb-log-${safeToken(r.kind)}${isSelected(ui, r) ? " sb-selected" : ""}`, "data-seq": r.seq },
            h("td", { class: "sb-num" }, r.seq), h("td", { class: "sb-num" }, fmt(r.t, 3)), h("td", {}, r.kind), h("td", {}, r.who), h("td", { class: "sb-log-text" }, r.text));
          tr.addEventListener("click", () => selectSeq(ctx, r.seq, r.run));
          return tr;
        })),
      );
      let text_ = model.get("detail") || "";
      if (model.get("static") && ui.selected >= 0) text_ = (model.get("details") || {})[detailKey(ui.selected, ui.selectedRun)] || "(not included in this export)";
      detail.textContent = text_ || "Click an arrow or a log row to see the whole event.";
      if (atBottom && model.get("following")) scroller.scrollTop = scroller.scrollHeight;
    },
  };
}

// A human agent's open questions, answered with buttons: approve/reject with a comment,
// one button per option, or free text. Cards are kept by question id across pushes, so
// a comment being typed survives the live updates; the answer goes to the kernel as one
// comm message and the outcome comes back in the answer_note trait.
function questionsPart(ctx) {
  const { model } = ctx;
  const list = h("div", { class: "sb-questions-list" });
  const note = h("div", { class: "sb-answer-note sb-muted" });
  const root = h("div", { class: "sb-questions" }, h("div", { class: "sb-part-title" }, "Questions for people"), list, note);
  const cards = new Map();
  let seq = 0;
  const send = (q, card, fields) => {
    if (model.get("static")) return;
    seq += 1;
    for (const b of card.querySelectorAll("button, textarea, input")) b.disabled = true;
    card.classList.add("sb-sent");
    model.send({ type: "answer", seq, run_id: q.run_id, task_id: q.task_id, question_id: q.question_id, ...fields });
  };
  const makeCard = (q) => {
    const comment = h("textarea", { class: "sb-answer-comment", rows: 2, placeholder: q.mode === "text" ? "your answer…" : "comment (optional)…" });
    const context = Object.entries(q.context || {});
    const card = h("div", { class: `sb-question sb-mode-${safeToken(q.mode)}`, "data-task": q.task_id, "data-question": q.question_id, "data-mode": q.mode },
      h("div", { class: "sb-question-who" }, h("b", {}, q.agent), ` asks ${q.person} · task ${q.task_id}`,
        q.deadline_s != null ? h("span", { class: "sb-muted" }, ` · deadline ${fmt(q.deadline_s, 1)} s${q.default ? `, then ${q.default}` : ""}`) : null),
      h("pre", { class: "sb-question-text" }, q.text),
      context.length ? h("div", { class: "sb-question-context" }, context.map(([k, v]) => h("div", { class: "sb-line" }, h("b", {}, `${k} `), v))) : null,
      comment,
    );
    const buttons = h("div", { class: "sb-question-buttons" });
    const button = (cls, label, fields) => {
      const b = h("button", { class: `sb-btn ${cls}`, type: "button" }, label);
      b.addEventListener("click", () => send(q, card, { comment: q.mode === "text" ? "" : comment.value, ...fields() }));
      buttons.appendChild(b);
      return b;
    };
    if (q.mode === "approve") {
      button("sb-approve", "✔ approve", () => ({ approve: true }));
      button("sb-reject", "✖ reject", () => ({ approve: false }));
    } else if (q.mode === "choose") {
      for (const option of q.options || []) {
        const b = button("sb-choice", option, () => ({ choice: option }));
        b.setAttribute("data-choice", option);
      }
    } else {
      button("sb-send-text", "send", () => ({ text: comment.value }));
    }
    card.appendChild(buttons);
    return card;
  };
  return {
    root,
    deps: ["snapshot", "answer_note", "static"],
    update() {
      const questions = (model.get("snapshot") || {}).questions || [];
      const isStatic = Boolean(model.get("static"));
      const open = new Set(questions.map((q) => q.question_id));
      for (const [id, card] of cards) if (!open.has(id)) { card.remove(); cards.delete(id); }
      for (const q of questions) {
        if (!cards.has(q.question_id)) {
          const card = makeCard(q);
          cards.set(q.question_id, card);
          list.appendChild(card);
        }
        const card = cards.get(q.question_id);
        if (isStatic) for (const b of card.querySelectorAll("button, textarea")) b.disabled = true;
      }
      const answered = model.get("answer_note") || {};
      if (answered.question_id && !answered.ok && cards.has(answered.question_id)) {
        const card = cards.get(answered.question_id);
        card.classList.remove("sb-sent");
        for (const b of card.querySelectorAll("button, textarea")) b.disabled = isStatic;
      }
      note.textContent = answered.message || (isStatic && questions.length ? "static export: answer from a live view, the TUI or `switchboard answer`" : "");
      note.classList.toggle("sb-error-text", answered.ok === false);
      root.style.display = questions.length || answered.message ? "" : "none";
    },
  };
}

const PARTS = { header: headerPart, questions: questionsPart, controls: controlsPart, flow: flowPart, plan: planPart, gantt: ganttPart, metrics: metricsPart, log: logPart };

// -- mounting --------------------------------------------------------------------

function render({ model, el }) {
  const ui = { selected: model.get("selected") ?? -1, selectedRun: model.get("selected_run") || "", filter: { ...(model.get("log_filter") || { text: "", kind: "" }) } };
  const title = model.get("title") || "";
  const root = h("div", { class: "sb-dashboard", "data-title": title });
  el.classList.add("sb-root");
  el.appendChild(root);
  const wanted = model.get("parts") || Object.keys(PARTS);
  if (title && !wanted.includes("header")) root.appendChild(h("div", { class: "sb-view-title" }, title));
  const pending = new Set();
  let frame = null;
  const ctx = { model, ui, schedule: null };
  const parts = wanted.filter((p) => p in PARTS).map((p) => {
    const part = PARTS[p](ctx);
    root.appendChild(h("section", { class: `sb-part sb-part-${p}` }, part.root));
    return part;
  });
  const flush = () => {
    frame = null;
    const names = new Set(pending);
    pending.clear();
    for (const part of parts) {
      if (names.has("*") || part.deps.some((d) => names.has(d))) part.update();
    }
  };
  ctx.schedule = (names) => {
    for (const n of names) pending.add(n);
    if (frame === null) frame = (window.requestAnimationFrame || ((f) => setTimeout(f, 16)))(flush);
  };
  const watched = ["snapshot", "arrows_head", "arrows_tail", "log_head", "log_tail", "totals", "cursor", "total", "following", "playing", "detail", "title", "height", "static", "answer_note", "team"];
  const handlers = watched.map((name) => {
    const handler = () => ctx.schedule([name]);
    model.on(`change:${name}`, handler);
    return [name, handler];
  });
  model.on("change:selected", () => { ui.selected = model.get("selected"); ui.selectedRun = model.get("selected_run") || ""; ctx.schedule(["selection"]); });
  pending.add("*");
  flush();
  return () => {
    for (const [name, handler] of handlers) model.off(`change:${name}`, handler);
  };
}

// A model stand-in over the exported data, for the static HTML page (no kernel). Setting
// ``team`` shows that team's exported view (``team_views``), as the kernel would send it.
function staticModel(data) {
  const listeners = new Map();
  const fire = (name) => { for (const fn of listeners.get(`change:${name}`) || []) fn(); };
  return {
    get: (name) => data[name],
    set(name, value) {
      data[name] = value;
      const view = name === "team" && data.team_views ? data.team_views[value] : null;
      if (view) {
        for (const [key, part] of Object.entries(view)) {
          data[key] = part;
          fire(key);
        }
      }
      fire(name);
    },
    save_changes() {},
    send() {},
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(fn);
    },
    off(event, fn) {
      listeners.set(event, (listeners.get(event) || []).filter((f) => f !== fn));
    },
  };
}

function mountStatic(el, data) {
  return render({ model: staticModel(data), el });
}

export { mountStatic, staticModel };
export default { render };
