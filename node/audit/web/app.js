"use strict";
// The auditor's page: fetch the report with the typed-in token, draw tables and SVG charts.
const COLORS = ["#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#57606a", "#0e7490", "#a40e26"];
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

function short(a) { return a && a.length > 14 ? a.slice(0, 8) + "…" + a.slice(-4) : (a || ""); }

function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function axes(svg, w, h, pad, maxY, labels) {
  svg.appendChild(el("line", { x1: pad, y1: h - pad, x2: w - 8, y2: h - pad, stroke: "#57606a" }));
  svg.appendChild(el("line", { x1: pad, y1: 8, x2: pad, y2: h - pad, stroke: "#57606a" }));
  for (let i = 0; i <= 4; i++) {
    const y = h - pad - (h - pad - 8) * i / 4;
    svg.appendChild(el("line", { x1: pad - 3, y1: y, x2: w - 8, y2: y, stroke: "#eaeef2" }));
    svg.appendChild(el("text", { x: pad - 6, y: y + 4, "text-anchor": "end" }, fmt(maxY * i / 4)));
  }
  const step = (w - pad - 8) / labels.length;
  labels.forEach((l, i) => svg.appendChild(
    el("text", { x: pad + step * (i + 0.5), y: h - pad + 14, "text-anchor": "middle" }, l)));
  return step;
}

// A round axis maximum (1, 2 or 5 times a power of ten) so tick labels are whole numbers.
function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v) { return Math.abs(v) >= 10 || v === 0 ? String(Math.round(v)) : v.toFixed(2); }

// Grouped bars: series = hospitals, groups = rounds.
function barChart(target, rounds, series, value) {
  const w = 380, h = 220, pad = 40;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const maxY = niceMax(Math.max(4, ...series.flatMap((s) => rounds.map((r) => value(s, r.round)))));
  const step = axes(svg, w, h, pad, maxY, rounds.map((r) => "round " + r.round +
                                                      (r.outcome === "rejected" ? " ✗" : "")));
  const bw = (step * 0.8) / Math.max(1, series.length);
  rounds.forEach((r, i) => series.forEach((s, k) => {
    const v = value(s, r.round), bh = (h - pad - 8) * v / maxY;
    const rect = el("rect", { x: pad + step * i + step * 0.1 + bw * k, y: h - pad - bh,
                              width: Math.max(1, bw - 2), height: bh, fill: COLORS[k % COLORS.length],
                              "class": "bar" });
    rect.appendChild(el("title", {}, `${s.label}, round ${r.round}: ${v}`));
    svg.appendChild(rect);
  }));
  target.replaceChildren(svg, legend(series));
}

function legend(series) {
  const div = document.createElement("div");
  div.className = "legend";
  series.forEach((s, k) => {
    const span = document.createElement("span");
    span.innerHTML = `<i class="swatch" style="background:${COLORS[k % COLORS.length]}"></i>`;
    span.appendChild(document.createTextNode(s.label));
    div.appendChild(span);
  });
  return div;
}

// Lines of hold-out accuracy before/after each round (rounds without reports are gaps).
function lineChart(target, rounds) {
  const w = 380, h = 220, pad = 40;
  const svg = el("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const step = axes(svg, w, h, pad, 1, rounds.map((r) => "round " + r.round));
  const series = [{ label: "before (previous model)", key: "metric_before" },
                  { label: "after (candidate)", key: "metric_after" }];
  series.forEach((s, k) => {
    const pts = [];
    rounds.forEach((r, i) => {
      if (!r.holdout.length) return;
      const mean = r.holdout.reduce((a, x) => a + x[s.key], 0) / r.holdout.length / 1e6;
      const x = pad + step * (i + 0.5), y = h - pad - (h - pad - 8) * mean;
      pts.push(`${x},${y}`);
      const dot = el("circle", { cx: x, cy: y, r: 4, fill: COLORS[k], "class": "point" });
      dot.appendChild(el("title", {}, `round ${r.round} ${s.label}: ${mean.toFixed(3)}`));
      svg.appendChild(dot);
    });
    if (pts.length > 1) {
      svg.insertBefore(el("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[k],
                                        "stroke-width": 2 }), svg.firstChild);
    }
  });
  target.replaceChildren(svg, legend(series));
}

function row(tbody, cells, classes) {
  const tr = document.createElement("tr");
  cells.forEach((c, i) => {
    const td = document.createElement("td");
    td.textContent = c;
    if (classes && classes[i]) td.className = classes[i];
    tr.appendChild(td);
  });
  tbody.appendChild(tr);
}

function render(report) {
  const v = $("verdict");
  v.textContent = report.verified ? "VERIFIED" : "NOT VERIFIED";
  v.className = "verdict " + (report.verified ? "ok" : "failed");
  const failed = report.checks.filter((c) => c.status === "failed").length;
  $("meta").textContent = `ledger ${report.ledger} · chain ${report.chain_id} · block ${report.block} · ` +
    `${report.checks.length} checks, ${failed} failed · total supply ${report.total_supply}`;
  const rounds = report.rounds;
  const hospitals = [...new Map(report.contributions.map((c) => [c.hospital, c])).values()]
    .sort((a, b) => a.pair_index - b.pair_index)
    .map((c) => ({ label: `H${c.pair_index} ${short(c.hospital)}`, hospital: c.hospital }));
  const find = (s, r) => report.contributions.find((c) => c.hospital === s.hospital && c.round === r);
  barChart($("chart-contrib"), rounds, hospitals, (s, r) => (find(s, r) || {}).accepted_samples || 0);
  barChart($("chart-rewards"), rounds, hospitals, (s, r) => (find(s, r) || {}).credits || 0);
  lineChart($("chart-accuracy"), report.rounds);
  const tb = (id) => { const t = $(id).querySelector("tbody"); t.replaceChildren(); return t; };
  const rt = tb("rounds"), rj = tb("rejections"), ct = tb("contributions"), ck = tb("checks");
  for (const r of report.rounds) {
    const acc = r.updates.filter((u) => u.outcome === "accepted");
    const refused = r.updates.filter((u) => u.outcome === "refused").length + r.refusals.length;
    const mean = (k) => r.holdout.length ? (r.holdout.reduce((a, x) => a + x[k], 0) / r.holdout.length / 1e6).toFixed(3) : "";
    row(rt, [r.round, r.outcome, acc.length, refused, acc.reduce((a, u) => a + u.sample_count, 0),
             r.holdout.length ? `${mean("metric_before")} → ${mean("metric_after")}` : "",
             r.quality_factor.toFixed(2), r.hospital_credits + r.miner_credits, r.rejection_reason], [null, "outcome-" + r.outcome]);
    for (const u of r.updates) for (const vote of u.votes) if (vote.reason)
      row(rj, [r.round, `update ${u.update_id}`, short(u.hospital), short(vote.miner), vote.reason]);
    for (const x of r.refusals) row(rj, [r.round, "submission", short(x.hospital), short(x.miner), x.reason]);
    if (r.rejection_reason) row(rj, [r.round, "round", "", short(r.rejected_by), r.rejection_reason]);
  }
  for (const c of report.contributions)
    row(ct, [c.round, c.pair_index, short(c.hospital), c.accepted_samples, c.credits,
             Number(c.settlement.toFixed(2))]);
  const order = { failed: 0, skipped: 1, ok: 2 };
  for (const c of [...report.checks].sort((a, b) => order[a.status] - order[b.status]))
    row(ck, [c.status, c.kind, c.round ?? "", c.subject, c.detail], ["status-" + c.status]);
  for (const id of ["verdict-box", "charts", "tables"]) $(id).hidden = false;
}

async function download(path, name) {
  const resp = await fetch(path, { headers: { Authorization: "Bearer " + $("token").value } });
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url; a.download = name; a.click();
  URL.revokeObjectURL(url);
}

async function load(event) {
  if (event) event.preventDefault();
  const msg = $("message");
  msg.textContent = "auditing…"; msg.className = "";
  sessionStorage.setItem("fedchain-auditor-token", $("token").value);
  const resp = await fetch("/api/report", { headers: { Authorization: "Bearer " + $("token").value } });
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    const d = body.detail || {};
    msg.textContent = `${d.message || resp.statusText}${d.fix ? " — " + d.fix : ""}`;
    msg.className = "error";
    return;
  }
  render(await resp.json());
  msg.textContent = "";
}

$("login").addEventListener("submit", load);
$("csv").addEventListener("click", (e) => { e.preventDefault(); download("/api/export.csv", "audit.csv"); });
$("json").addEventListener("click", (e) => { e.preventDefault(); download("/api/export.json", "audit.json"); });
const saved = sessionStorage.getItem("fedchain-auditor-token");
if (saved) { $("token").value = saved; load(); }
