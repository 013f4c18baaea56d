// The projector page: draws what the bot sends (the first view inline, then each change over Server-Sent
// Events) and ticks the runs' clocks every second. Nothing here is fetched from anywhere but the bot.
"use strict";

const settings = JSON.parse(document.getElementById("settings").textContent);
const labels = settings.labels;
const lang = settings.lang;
const query = new URLSearchParams(location.search);
const theme = query.get("theme");
if (theme === "dark" || theme === "light") document.documentElement.classList.add(theme);
const MEDALS = { 1: "🥇", 2: "🥈", 3: "🥉" };
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
  "#ea580c", "#4f46e5", "#0d9488", "#9333ea"];
let data = settings.data;
let offset = 0; // the bot's clock minus this machine's, in ms

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function text(both) { return both[lang] || both.en; }

function drawRanking() {
  const table = document.getElementById("ranking");
  table.tHead.replaceChildren(el("tr", {},
    el("th", { class: "rank" }, labels.rank), el("th", {}, labels.team), el("th", { class: "num" }, labels.points),
    el("th", { class: "num" }, labels.solves), el("th", { class: "num" }, labels.time),
    el("th", { class: "num" }, labels.hints)));
  const rows = data.ranking.map((row) => el("tr", { "data-team": row.team },
    el("td", { class: "rank" }, row.placed && MEDALS[row.rank] ? MEDALS[row.rank] : `${row.rank}.`),
    el("td", { class: "team" }, row.team), el("td", { class: "num points" }, String(row.points)),
    el("td", { class: "num" }, String(row.solves)), el("td", { class: "num" }, clock(row.time)),
    el("td", { class: "num" }, String(row.hints))));
  table.tBodies[0].replaceChildren(...rows);
  if (!rows.length) table.tBodies[0].append(el("tr", {}, el("td", { colspan: "6" }, labels.empty)));
}

function cell(state) {
  if (state.state === "solved") return `${state.first ? "🩸" : "✅"} ${state.minute}′`;
  if (state.state === "failed") return "❌";
  if (state.state === "skipped") return "–";
  return "⏳";
}

function drawGrids() {
  const grids = data.challenges.map((challenge) => {
    const head = el("tr", {}, el("th", {}, labels.team),
      ...challenge.items.map((item) => el("th", { class: "item", title: text(item.title) }, item.id)),
      el("th", { class: "num" }, labels.hints), el("th", { class: "num" }, labels.elapsed),
      el("th", { class: "num" }, labels.remaining));
    const rows = challenge.teams.map((team) => el("tr", { "data-team": team.team },
      el("td", { class: "team" }, team.team),
      ...challenge.items.map((item) => {
        const state = team.cells[item.id];
        return el("td", { class: `cell ${state.state}`, "data-item": item.id }, cell(state));
      }),
      el("td", { class: "num" }, String(team.hints)),
      el("td", { class: "num clock", "data-clock": "elapsed", "data-team": team.team }, ""),
      el("td", { class: "num clock", "data-clock": "remaining", "data-team": team.team }, "")));
    return el("div", { class: "grid", "data-challenge": String(challenge.id) },
      el("h2", {}, `${labels.progress} · ${challenge.id}. ${text(challenge.title)}`),
      el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
  });
  document.getElementById("grids").replaceChildren(...grids);
  tick();
}

function tick() {
  const now = Date.now() + offset;
  for (const challenge of data.challenges) {
    for (const team of challenge.teams) {
      const started = Date.parse(team.started_at);
      const deadline = Date.parse(team.deadline);
      const end = team.ended_at ? Date.parse(team.ended_at) : Math.min(now, deadline);
      const selector = `.grid[data-challenge="${challenge.id}"] td[data-team="${CSS.escape(team.team)}"]`;
      for (const node of document.querySelectorAll(selector)) {
        const running = team.status === "active";
        if (node.dataset.clock === "elapsed") node.textContent = clock((end - started) / 1000);
        else node.textContent = running ? clock((deadline - now) / 1000) : labels[`status.${team.status}`];
      }
    }
  }
}

function drawChart() {
  const svg = document.getElementById("chart");
  document.getElementById("chart-title").textContent = labels.chart;
  const width = 800, height = 240, left = 44, bottom = 28, top = 8, right = 110;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, content) => {
    const n = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attrs)) n.setAttribute(name, value);
    if (content !== undefined) n.textContent = content;
    return n;
  };
  const maxX = Math.max(60, ...data.series.flatMap((s) => s.points.map((p) => p[0] / 60)));
  const maxY = Math.max(10, ...data.series.flatMap((s) => s.points.map((p) => p[1])));
  const x = (minutes) => left + (minutes / maxX) * (width - left - right);
  const y = (points) => height - bottom - (points / maxY) * (height - bottom - top);
  const parts = [
    node("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }),
    node("line", { class: "axis", x1: left, y1: y(0), x2: left, y2: top }),
    node("text", { x: left - 6, y: y(maxY) + 5, "text-anchor": "end" }, String(maxY)),
    node("text", { x: left - 6, y: y(0), "text-anchor": "end" }, "0"),
    node("text", { x: width - right, y: height - 6, "text-anchor": "end" }, `${Math.round(maxX)} · ${labels.axis_minutes}`),
  ];
  const labelled = []; // the labels' heights so far: one close to another moves down out of its way
  data.series.forEach((series, index) => {
    let path = `M ${x(0)} ${y(0)}`;
    let last = 0;
    for (const [seconds, points] of series.points) {
      path += ` H ${x(seconds / 60)} V ${y(points)}`;
      last = points;
    }
    const colour = COLOURS[index % COLOURS.length];
    const end = series.points.length ? series.points[series.points.length - 1][0] / 60 : 0;
    parts.push(node("path", { d: path, fill: "none", stroke: colour, "stroke-width": 3, "data-team": series.team }));
    let labelY = y(last) + 5;
    while (labelled.some((taken) => Math.abs(taken - labelY) < 16)) labelY += 16;
    labelled.push(labelY);
    parts.push(node("text", { x: x(end) + 6, y: labelY, style: `fill:${colour}` }, series.team));
  });
  svg.replaceChildren(...parts);
}

function drawState() {
  const frozen = document.getElementById("frozen");
  frozen.hidden = !data.frozen_at;
  if (data.frozen_at) {
    const at = new Date(data.frozen_at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    frozen.textContent = labels.frozen.replace("{at}", at);
  }
  document.getElementById("mode").textContent = data.instructor ? labels.instructor : "";
  document.getElementById("legend").textContent = labels.legend;
}

function draw() {
  offset = Date.parse(data.now) - Date.now();
  drawState();
  drawRanking();
  drawGrids();
  drawChart();
  document.body.dataset.updated = data.now;
}

function listen() {
  const params = new URLSearchParams();
  for (const name of ["token", "view"]) if (query.get(name)) params.set(name, query.get(name));
  const challenge = location.pathname.match(/\/scoreboard\/(\d+)/);
  if (challenge) params.set("challenge", challenge[1]);
  const status = document.getElementById("connection");
  // EventSource reconnects on its own after a drop; the first message after it redraws everything.
  const source = new EventSource(`/scoreboard/events?${params}`);
  source.onopen = () => { status.textContent = `● ${labels.live}`; };
  source.onerror = () => { status.textContent = labels.reconnecting; };
  source.onmessage = (event) => { data = JSON.parse(event.data); draw(); };
}

draw();
setInterval(tick, 1000);
listen();
