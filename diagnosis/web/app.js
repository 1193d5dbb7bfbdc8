// The doctor's page: findings in, suggestion and evidence out, accept or adjust.
"use strict";
const ONSETS = ["unknown", "sudden", "gradual", "exertional", "at_rest", "postprandial", "nocturnal"];
const $ = (id) => document.getElementById(id);
let current = null;  // the suggestion on screen

const tokenBox = $("token");
tokenBox.value = sessionStorage.getItem("doctorToken") || "";
tokenBox.addEventListener("change", () => sessionStorage.setItem("doctorToken", tokenBox.value));

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const kid of kids) e.append(kid);
  return e;
}

function removeButton(row) {
  const b = el("button", { type: "button", title: "remove", text: "×" });
  b.addEventListener("click", () => row.remove());
  return el("td", {}, b);
}

function addSymptom(s = {}) {
  const onset = el("select", { class: "s-onset" });
  for (const o of ONSETS) onset.append(el("option", { value: o, text: o.replace("_", " ") }));
  onset.value = s.onset || "unknown";
  const row = el("tr", {},
    el("td", {}, el("input", { class: "s-name", placeholder: "chest_pain", value: s.name || "" })),
    el("td", {}, el("input", { class: "s-days", type: "number", min: "0", step: "any", value: s.duration_days ?? "" })),
    el("td", {}, onset),
    el("td", {}, el("input", { class: "s-sev", type: "number", min: "0", max: "10", step: "any", value: s.severity ?? "" })));
  row.append(removeButton(row));
  $("symptoms").append(row);
}

function addLab(l = {}) {
  const row = el("tr", {},
    el("td", {}, el("input", { class: "l-name", placeholder: "temperature", value: l.name || "" })),
    el("td", {}, el("input", { class: "l-value", type: "number", step: "any", value: l.value ?? "" })),
    el("td", {}, el("input", { class: "l-unit", value: l.unit || "" })),
    el("td", {}, el("input", { class: "l-low", type: "number", step: "any", value: l.normal_low ?? "" })),
    el("td", {}, el("input", { class: "l-high", type: "number", step: "any", value: l.normal_high ?? "" })));
  row.append(removeButton(row));
  $("labs").append(row);
}

const num = (v) => (v === "" ? null : Number(v));

function readFindings() {
  const symptoms = [...$("symptoms").rows].map((r) => ({
    name: r.querySelector(".s-name").value.trim(),
    duration_days: num(r.querySelector(".s-days").value),
    onset: r.querySelector(".s-onset").value,
    severity: num(r.querySelector(".s-sev").value),
  })).filter((s) => s.name);
  const labs = [...$("labs").rows].map((r) => ({
    name: r.querySelector(".l-name").value.trim(),
    value: num(r.querySelector(".l-value").value),
    unit: r.querySelector(".l-unit").value.trim(),
    normal_low: num(r.querySelector(".l-low").value),
    normal_high: num(r.querySelector(".l-high").value),
  })).filter((l) => l.name);
  return {
    patient_id: $("patient").value.trim(), symptoms, labs,
    top_k: Number($("top-k").value), threshold: Number($("threshold").value),
  };
}

async function call(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + tokenBox.value },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const d = data.detail || data;
    const lines = (data.errors || []).map((e) => `${e.field}: ${e.problem} — ${e.fix}`);
    throw new Error(lines.length ? lines.join("\n") : `${d.message || res.statusText}${d.fix ? " — " + d.fix : ""}`);
  }
  return data;
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; $("error").hidden = !err; }
const pct = (x) => (100 * x).toFixed(1) + "%";

function render(s) {
  current = s;
  $("result").hidden = false;
  $("receipt").hidden = true;
  const unknown = s.unknown_terms || [];
  $("unknown-terms").hidden = !unknown.length;
  $("unknown-terms").textContent = unknown.map((u) =>
    `"${u.name}" is not a consortium term and matched nothing` +
    (u.did_you_mean.length ? ` (did you mean ${u.did_you_mean.join(", ")}?)` : "")).join("; ");
  const dx = $("diagnoses"); dx.replaceChildren();
  if (!s.diagnoses.length) dx.append(el("li", { text: "no case above the threshold" }));
  for (const d of s.diagnoses) {
    const model = d.model_probability == null ? "" : `, model ${pct(d.model_probability)}`;
    dx.append(el("li", { class: "dx" }, el("b", { text: `${d.disease.name} (${d.disease.icd10})` }),
      ` ${pct(d.score)} — cases ${pct(d.case_vote)} from ${d.supporting_cases}${model}`));
  }
  const cx = $("complications"); cx.replaceChildren();
  for (const c of s.complications) cx.append(el("li", { text: `${c.name} (${pct(c.support)}, ${c.cases} case${c.cases === 1 ? "" : "s"})` }));
  if (!s.complications.length) cx.append(el("li", { text: "none recorded" }));
  const plan = $("plan"); plan.replaceChildren();
  if (s.treatment_plan) {
    const p = s.treatment_plan;
    plan.append(el("p", { text: `from case ${p.source_case_id} (${pct(p.similarity)}${p.doctor_validated ? ", doctor-validated" : ", imported"})` }));
    const ul = el("ul");
    for (const t of p.treatments) {
      ul.append(el("li", { text: `${t.drug} ${t.dose ?? ""}${t.dose_unit} ${t.route}, ${t.frequency_per_day ?? "?"}×/day for ${t.duration_days ?? "?"} days` }));
    }
    plan.append(ul);
  } else plan.append(el("p", { text: "no plan in the matching cases" }));
  const ev = $("evidence"); ev.replaceChildren();
  for (const c of s.evidence) {
    const bar = el("span", { class: "bar" }, el("span", { style: `width:${pct(c.similarity)}` }));
    const head = el("div", {}, el("b", { text: c.case_id }), " ", bar, ` ${pct(c.similarity)} `,
      c.disease ? `${c.disease.name} (${c.disease.icd10})` : "", ` · ${c.origin.replace("_", " ")}`);
    const rows = c.contributions.map((a) => el("tr", {},
      el("td", { text: a.attribute }), el("td", { text: a.facet }),
      el("td", { class: "num", text: a.weight.toFixed(2) }), el("td", { class: "num", text: a.similarity.toFixed(2) }),
      el("td", { class: "num", text: pct(a.contribution) })));
    const table = el("table", { class: "contrib" },
      el("thead", {}, el("tr", {}, ...["attribute", "facet", "w", "sim", "share"].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows));
    ev.append(el("div", { class: "case" }, head, el("details", {}, el("summary", { text: "why" }), table)));
  }
}

$("add-symptom").addEventListener("click", () => addSymptom());
$("add-lab").addEventListener("click", () => addLab());
$("findings").addEventListener("submit", async (e) => {
  e.preventDefault();
  showError(null);
  try { render(await call("diagnosis", readFindings())); } catch (err) { showError(err); }
});

async function sendFeedback(body) {
  showError(null);
  try {
    const r = await call(`diagnosis/${current.suggestion_id}/feedback`, body);
    const d = r.case.diagnosis.disease;
    $("receipt").textContent = `Saved as doctor-validated case ${r.case_id}: ${d.name} (${d.icd10}).`;
    $("receipt").hidden = false;
  } catch (err) { showError(err); }
}

$("accept").addEventListener("click", () => sendFeedback({ decision: "accept" }));
$("adjust").addEventListener("submit", (e) => {
  e.preventDefault();
  const comp = $("adj-comp").value.split(",").map((x) => x.trim()).filter(Boolean);
  const body = {
    decision: "adjust",
    final_diagnosis: { disease: { icd10: $("adj-code").value.trim(), name: $("adj-name").value.trim() }, complications: comp },
  };
  const drug = $("adj-drug").value.trim();
  if (drug) {
    body.treatments = [{ drug, dose: num($("adj-dose").value), dose_unit: $("adj-unit").value.trim(),
      frequency_per_day: num($("adj-freq").value), duration_days: num($("adj-days").value) }];
  }
  sendFeedback(body);
});

addSymptom();
addLab();
