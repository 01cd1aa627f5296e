// The operators' dashboard: fetches /api/v1/dashboard and draws it. No framework, no network beyond the API.
// Each section sets data-state="rendered" and data-total="<sum it shows>" once drawn, so a browser test can
// compare what is on screen with what the store holds.
"use strict";

const REFRESH_MS = 5000;
const PALETTE = ["#2f6fb3", "#c0392b", "#1f7a4d", "#b7791f", "#7d3c98", "#16a085", "#d35400", "#34495e",
  "#8e44ad", "#27ae60", "#e67e22", "#2c3e50", "#f39c12", "#95a5a6", "#e74c3c", "#3498db"];
const charts = {};

function token() {
  const match = /token=([^&]+)/.exec(window.location.hash);
  if (match) sessionStorage.setItem("lineage-token", decodeURIComponent(match[1]));
  return sessionStorage.getItem("lineage-token");
}

async function fetchJson(path) {
  const headers = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(path, { headers });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function fmt(value) {
  return Number(value).toLocaleString("en-US");
}

function table(target, headers, rows) {
  target.replaceChildren();
  const head = el("tr");
  headers.forEach((h, i) => head.appendChild(el("th", i === 0 ? { class: "rowhead" } : {}, h)));
  target.appendChild(head);
  for (const row of rows) {
    const tr = el("tr");
    row.forEach((cell, i) => tr.appendChild(el("td", typeof cell === "number" ? {} : { class: "text" }, cell)));
    target.appendChild(tr);
  }
}

function rendered(sectionId, total) {
  const section = document.getElementById(sectionId);
  section.dataset.state = "rendered";
  section.dataset.total = String(total);
}

function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
  return charts[id];
}

function drawCounters(data) {
  let total = 0;
  for (const [name, value] of Object.entries(data.counts)) {
    const node = document.getElementById(`count-${name}`);
    if (node) {
      node.textContent = fmt(value);
      node.dataset.count = String(value);
      total += value;
    }
  }
  const live = data.live;
  document.getElementById("live").textContent =
    `Since this process started: ${fmt(live.consumed)} events consumed, ${fmt(live.tagged)} tagged, ` +
    `${fmt(live.decisions)} uses and disclosures decided, ${fmt(live.violations)} violations ` +
    `(${fmt(live.alerts)} alerts), ${fmt(live.dead_letters)} dead letters.`;
  rendered("counters", total);
}

function drawFlows(data, terms) {
  const purposeName = (key) => terms.purposes[key] || key;
  const flows = [];
  const links = [
    ...data.flows.category_to_purpose.map((f) => [`c:${f.category}`, `p:${f.purpose}`, f]),
    ...data.flows.purpose_to_destination.map((f) => [`p:${f.purpose}`, `d:${f.dest}`, f]),
  ];
  // Allowed and denied parts of a link are drawn as two bands, so a few denials do not colour a whole flow.
  for (const [from, to, f] of links) {
    if (f.events > f.denied) flows.push({ from, to, flow: f.events - f.denied, denied: 0 });
    if (f.denied > 0) flows.push({ from, to, flow: f.denied, denied: f.denied });
  }
  const labels = {};
  for (const f of flows) {
    for (const id of [f.from, f.to]) {
      const [level, key] = [id.slice(0, 1), id.slice(2)];
      labels[id] = level === "p" ? purposeName(key) : key;
    }
  }
  const colour = (ctx) => (ctx.raw && ctx.raw.denied > 0 ? "#c0392b" : "#2f6fb3");
  chart("flows-chart", {
    type: "sankey",
    data: {
      datasets: [{
        data: flows, labels, colorFrom: colour, colorTo: colour, colorMode: "from",
        borderWidth: 0, nodeWidth: 12, size: "max",
      }],
    },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } },
  });
  table(
    document.getElementById("flows-table"),
    ["from", "to", "uses & disclosures", "of which denied"],
    links.map(([from, to, f]) => [labels[from], labels[to], f.events, f.denied]),
  );
  const total = data.flows.purpose_to_destination.reduce((sum, f) => sum + f.events, 0);
  rendered("flows", total);
}

function drawMatrix(data, terms) {
  const used = new Map();
  for (const f of data.flows.category_to_purpose) used.set(`${f.category}|${f.purpose}`, f);
  const collected = new Map();
  for (const c of data.collected) collected.set(`${c.category}|${c.purpose}`, c.events);
  const purposes = Object.keys(terms.purposes);
  const categories = Object.keys(terms.categories);
  // Names outside the policy (gaps) still get a row or column: hiding them would hide the problem.
  for (const f of data.flows.category_to_purpose) {
    if (!purposes.includes(f.purpose)) purposes.push(f.purpose);
    if (!categories.includes(f.category)) categories.push(f.category);
  }
  const target = document.getElementById("matrix-table");
  target.replaceChildren();
  const head = el("tr");
  head.appendChild(el("th", { class: "rowhead" }, "data category \\ purpose"));
  for (const p of purposes) head.appendChild(el("th", { title: p }, terms.purposes[p] || p));
  target.appendChild(head);
  let total = 0;
  const max = Math.max(1, ...Array.from(used.values(), (f) => f.events));
  for (const c of categories) {
    const tr = el("tr");
    tr.appendChild(el("th", { class: "rowhead", title: terms.categories[c] || "not in the policy" }, c));
    for (const p of purposes) {
      const f = used.get(`${c}|${p}`);
      const td = el("td", { "data-category": c, "data-purpose": p });
      const held = collected.get(`${c}|${p}`) || 0;
      td.title = `${c} for ${terms.purposes[p] || p}: ${held} records collected with this purpose permitted`;
      if (f) {
        total += f.events;
        td.dataset.count = String(f.events);
        td.appendChild(document.createTextNode(fmt(f.events)));
        if (f.denied) td.appendChild(el("span", { class: "denied" }, `✗${fmt(f.denied)}`));
        const alpha = 0.08 + 0.5 * (f.events / max);
        td.style.background = `rgba(47,111,179,${alpha})`;
        if (f.denied) td.style.boxShadow = "inset 4px 0 0 #c0392b";
      } else {
        td.className = "empty";
        td.textContent = "·";
      }
      tr.appendChild(td);
    }
    target.appendChild(tr);
  }
  rendered("matrix", total);
}

function drawTimeline(data) {
  const buckets = [...new Set(data.timeline.map((t) => t.bucket))].sort();
  const codes = [...new Set(data.timeline.map((t) => t.code))].sort();
  const counts = new Map(data.timeline.map((t) => [`${t.bucket}|${t.code}`, t.violations]));
  const time = (b) => new Date(b.endsWith("Z") || b.includes("+") ? b : `${b}Z`).toLocaleTimeString("en-GB");
  chart("timeline-chart", {
    type: "bar",
    data: {
      labels: buckets.map(time),
      datasets: codes.map((code, i) => ({
        label: code, data: buckets.map((b) => counts.get(`${b}|${code}`) || 0), backgroundColor: PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 10, font: { size: 10 } } } },
    },
  });
  table(
    document.getElementById("violations-table"),
    ["decided at", "code", "severity", "article", "actor", "purpose", "recipient"],
    data.recent_violations.map((v) => [v.decided_at, v.code, v.severity, v.article, v.actor, v.purpose, v.recipient_id]),
  );
  rendered("timeline", data.timeline.reduce((sum, t) => sum + t.violations, 0));
}

function drawDeadLetters(data) {
  const byReason = new Map();
  for (const d of data.dead_letters) byReason.set(d.reason, (byReason.get(d.reason) || 0) + d.events);
  const reasons = [...byReason.keys()];
  chart("dead-letters-chart", {
    type: "bar",
    data: {
      labels: reasons,
      datasets: [{ label: "dead letters", data: reasons.map((r) => byReason.get(r)), backgroundColor: "#b7791f" }],
    },
    options: {
      indexAxis: "y", maintainAspectRatio: false, animation: false,
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } },
    },
  });
  table(
    document.getElementById("dead-letters-table"),
    ["reason", "stage", "events"],
    data.dead_letters.map((d) => [d.reason, d.stage, d.events]),
  );
  rendered("dead-letters", data.dead_letters.reduce((sum, d) => sum + d.events, 0));
}

async function refresh() {
  const minutes = document.getElementById("window").value;
  const status = document.getElementById("status");
  const until = new URLSearchParams(window.location.search).get("until");
  const query = `minutes=${minutes}` + (until ? `&until=${encodeURIComponent(until)}` : "");
  try {
    const data = await fetchJson(`api/v1/dashboard?${query}`);
    const terms = data.policy;
    document.getElementById("policy-name").textContent =
      `${terms.title} (${terms.policy_id}, version ${terms.version ?? "none in force"})`;
    drawCounters(data);
    drawFlows(data, terms);
    drawMatrix(data, terms);
    drawTimeline(data);
    drawDeadLetters(data);
    const from = data.window.since.slice(0, 19);
    const to = data.window.until.slice(0, 19);
    document.getElementById("report-link").href = `api/v1/report?from=${from}&to=${to}&format=html`;
    status.textContent = `updated ${new Date().toLocaleTimeString("en-GB")}`;
    status.className = "status";
    document.body.dataset.state = "ready";
  } catch (error) {
    status.textContent = `cannot load: ${error.message}`;
    status.className = "status error";
  }
}

window.addEventListener("DOMContentLoaded", () => {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  document.getElementById("window").addEventListener("change", refresh);
  refresh();
  if (!new URLSearchParams(window.location.search).get("until")) setInterval(refresh, REFRESH_MS);
});
