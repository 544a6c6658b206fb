// medshare catalog page: plain JavaScript, no build step. It holds no data of its own:
// every request carries the bearer token the user pasted, and the API decides.
"use strict";

const state = { token: sessionStorage.getItem("medshare-token") || "", me: null, filters: {}, next: null, diagnosisNames: {} };
const $ = (selector) => document.querySelector(selector);
const FACET_LABELS = { kind: "kind", modality: "modality", body_part: "body part", study_year: "study year",
  age_band: "age band", sex: "sex", institution: "institution", zip3: "ZIP3", diagnosis_codes: "diagnosis",
  release_state: "release", model: "model" };
const FACET_PARAMS = { diagnosis_codes: "diagnosis", release_state: "release" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, ...(options.body ? { "Content-Type": "application/json" } : {}), ...(options.headers || {}) },
  });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch (_) { /* not JSON */ }
    const error = new Error(typeof detail === "string" ? detail : (detail && detail.message) || JSON.stringify(detail));
    error.status = response.status; error.detail = detail;
    throw error;
  }
  return response;
}
const getJSON = async (path) => (await api(path)).json();

function queryString(extra = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...state.filters, ...extra })) {
    for (const item of [].concat(value)) if (item !== "" && item !== null && item !== undefined) params.append(key, item);
  }
  return params.toString();
}

// -- sign in ------------------------------------------------------------------
async function signIn(token) {
  state.token = token.trim();
  try {
    state.me = await getJSON("/me");
  } catch (error) {
    $("#sign-in-error").textContent = `Sign-in failed: ${error.message}`;
    sessionStorage.removeItem("medshare-token");
    return;
  }
  sessionStorage.setItem("medshare-token", state.token);
  $("#sign-in-panel").hidden = true; $("#app").hidden = false; $("#sign-out").hidden = false;
  const me = state.me;
  $("#who").textContent = `${me.user} (${me.role}${me.projects.length ? ", " + me.projects.join(", ") : ""})`;
  const curator = me.role === "steward" || me.role === "admin";
  $("#tab-review").hidden = !curator; $("#f-release").hidden = !curator;
  const projects = $("#dataset-project"); projects.replaceChildren();
  for (const project of me.projects) projects.append(el("option", { value: project }, project));
  if (!me.projects.length) projects.append(el("option", { value: "" }, "(no project)"));
  await search();
}

function signOut() {
  sessionStorage.removeItem("medshare-token");
  location.reload();
}

// -- search -------------------------------------------------------------------
function readForm() {
  const form = new FormData($("#search-form"));
  const filters = { ...state.facetFilters };
  for (const [key, value] of form.entries()) if (value !== "") filters[key] = value;
  return filters;
}

async function search(append = false) {
  if (!append) { state.filters = readForm(); state.next = null; $("#results").replaceChildren(); }
  const page = await getJSON(`/records?${queryString(append && state.next ? { cursor: state.next } : {})}`);
  $("#total").textContent = page.total_is_lower_bound ? `more than ${page.total}` : page.total;
  $("#no-results").hidden = append || page.items.length > 0;
  for (const item of page.items) $("#results").append(resultCard(item));
  state.next = page.next; $("#more").hidden = !page.next;
  renderActiveFilters();
  if (!append) { await Promise.all([renderFacets(), renderStats()]); }
}

function renderActiveFilters() {
  const box = $("#active-filters"); box.replaceChildren();
  for (const [key, value] of Object.entries(state.facetFilters || {})) {
    box.append(el("span", { class: "chip" }, `${key}: ${value} `, el("a", { href: "#", onclick: (event) => {
      event.preventDefault(); delete state.facetFilters[key]; search();
    } }, "×")));
  }
}

async function renderFacets() {
  const facets = await getJSON(`/records/facets?${queryString()}`);
  const box = $("#facets"); box.replaceChildren();
  const models = $("#f-model"); const chosen = models.value; models.replaceChildren(el("option", { value: "" }, "any model result"));
  for (const entry of facets.model || []) models.append(el("option", { value: entry.value }, entry.value));
  models.value = chosen;
  await learnDiagnosisNames((facets.diagnosis_codes || []).map((entry) => entry.value));
  for (const [name, values] of Object.entries(facets)) {
    if (!values.length) continue;
    box.append(el("h4", {}, FACET_LABELS[name] || name));
    for (const entry of values) {
      const shown = name === "diagnosis_codes" ? diagnosisLabel(entry.value) : String(entry.value);
      box.append(el("div", { class: "facet-value", "data-facet": name, "data-value": entry.value, title: shown, onclick: () => {
        state.facetFilters = { ...(state.facetFilters || {}), [FACET_PARAMS[name] || name]: entry.value }; search();
      } }, el("span", {}, shown), el("span", { class: "muted" }, entry.count)));
    }
  }
}

// Facets count codes; people read names. Names come from the records the caller may see.
async function learnDiagnosisNames(codes) {
  const unknown = codes.filter((code) => !(code in state.diagnosisNames)).slice(0, 50);
  if (!unknown.length) return;
  const params = new URLSearchParams(); for (const code of unknown) params.append("code", code);
  try {
    Object.assign(state.diagnosisNames, await getJSON(`/records/diagnosis-names?${params}`));
  } catch (_) { for (const code of unknown) state.diagnosisNames[code] = null; }
}

function diagnosisLabel(code) {
  const name = state.diagnosisNames[code];
  return name ? `${name} (${code})` : String(code);
}

async function renderStats() {
  const stats = await getJSON(`/records/stats?${queryString()}`);
  const parts = stats.model_outputs.map((o) => `${o.model} ${o.output}: mean ${o.mean.toFixed(2)} (n=${o.count})`);
  $("#stats-line").textContent = parts.length ? "· " + parts.join(" · ") : "";
}

function stateBadge(release) {
  const value = (release && release.state) || "unknown";
  return el("span", { class: `state ${value}`, title: (release && release.reason) || "" }, value);
}

function thumbnail(item) {
  if (item.kind !== "dicom") return el("div", { class: "thumb placeholder" }, "report");
  const image = el("img", { class: "thumb", alt: "thumbnail", "data-record": item.record_id });
  api(`/records/${item.record_id}/thumbnail.png`).then((r) => r.blob()).then((blob) => {
    image.src = URL.createObjectURL(blob); image.dataset.loaded = "true";
  }).catch(() => { image.replaceWith(el("div", { class: "thumb placeholder" }, "no preview")); });
  return image;
}

function modelSummary(results) {
  return (results || []).map((r) => {
    const value = Object.entries(r.outputs || {}).filter(([, v]) => typeof v !== "object")
      .map(([k, v]) => `${k}=${typeof v === "number" ? v.toFixed(2) : v}`).join(", ");
    return `${r.model_name} ${r.model_version}: ${value}`;
  }).join(" | ");
}

function resultCard(item) {
  const facts = [item.kind, item.modality, item.body_part, item.study_year, item.age_band, item.sex,
    item.institution, (item.diagnosis_codes || []).join(" ")].filter(Boolean).join(" · ");
  return el("div", { class: "result", "data-record": item.record_id, onclick: () => showDetail(item.record_id) },
    thumbnail(item),
    el("div", { class: "meta" },
      el("div", {}, stateBadge(item.release), " ", el("code", {}, item.record_id.slice(0, 12))),
      el("div", {}, facts),
      el("div", { class: "muted" }, (item.metadata && (item.metadata.study_description || item.metadata.description)) || ""),
      el("div", { class: "muted" }, modelSummary(item.results))));
}

async function showDetail(recordId) {
  const record = await getJSON(`/records/${recordId}`);
  const body = $("#detail-body"); body.replaceChildren();
  $("#detail").hidden = false;
  body.append(el("h3", {}, record.kind === "dicom" ? "Image" : "Case report"), el("code", {}, record.record_id));
  if (record.kind === "dicom") body.append(el("p", {}, thumbnail(record)));
  body.append(el("p", {}, stateBadge(record.release), " ", el("span", { class: "muted", id: "release-reason" }, record.release.reason || "")));
  await learnDiagnosisNames(record.diagnosis_codes || []);
  const diagnoses = (record.diagnosis_codes || []).length
    ? el("span", {}, record.diagnosis_codes.map((code) => el("span", { class: "chip" }, diagnosisLabel(code)))) : null;
  const sha = record.object && record.object.sha256 ? el("code", {}, record.object.sha256) : null;
  const rows = [["institution", record.institution], ["modality", record.modality], ["body part", record.body_part],
    ["study year", record.study_year], ["age band", record.age_band], ["sex", record.sex], ["ZIP3", record.zip3],
    ["diagnoses", diagnoses], ["device", record.device],
    ["SHA-256", sha], ["size", record.object && record.object.size]];
  body.append(el("table", { id: "facts" }, rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v instanceof Node ? v : String(v))))));
  body.append(el("h4", {}, "Model results"));
  body.append(el("table", { id: "models" }, el("tr", {}, el("th", {}, "model"), el("th", {}, "version"), el("th", {}, "outputs")),
    (record.results || []).map((r) => el("tr", {}, el("td", {}, r.model_name), el("td", {}, r.model_version),
      el("td", {}, r.error ? `error: ${r.error}` : modelSummary([r]).split(": ").slice(1).join(": "))))));
  body.append(el("h4", {}, "Lineage"));
  body.append(el("ul", { class: "lineage", id: "lineage" }, (record.lineage || []).map((step) => el("li", {},
    el("strong", {}, step.step), " ", el("span", { class: "muted" }, (step.at || "").replace("T", " ").slice(0, 19)), " ",
    lineageText(step)))));
  const link = el("p", { id: "download-link" });
  body.append(el("button", { id: "download", onclick: async () => {
    const answer = await getJSON(`/records/${recordId}/download`);
    link.replaceChildren(el("a", { href: answer.url, target: "_blank", rel: "noopener" }, "download"),
      ` (link expires ${answer.expires_at.replace("T", " ").slice(0, 19)} UTC)`);
  } }, "Download link"), link);
}

function lineageText(step) {
  switch (step.step) {
    case "ingested": return `from ${step.institution}`;
    case "de-identified": return `${step.profile} [${(step.options || []).join(", ")}] verifier ${step.verifier}`;
    case "model": return `${step.model_name} ${step.model_version}${step.error ? " error " + step.error : ""}`;
    case "quarantined": return `${step.stage}: ${step.reason}`;
    case "reviewed": return `${step.decision} by ${step.by}: ${step.reason}`;
    default: return "";
  }
}

// -- datasets -------------------------------------------------------------------
async function saveDataset() {
  const name = $("#dataset-name").value.trim();
  const project = $("#dataset-project").value;
  if (!name || !project) { $("#save-result").textContent = "Name the dataset and pick a project."; return; }
  const query = { ...state.filters };
  for (const key of ["study_year", "year_from", "year_to"]) if (query[key]) query[key] = Number(query[key]);
  if (query.output_min) query.output_min = Number(query.output_min);
  for (const key of ["kind", "modality", "body_part", "age_band", "sex", "institution", "zip3", "diagnosis", "release", "study_year"]) {
    if (query[key] !== undefined && !Array.isArray(query[key])) query[key] = [query[key]];
  }
  try {
    const dataset = await (await api("/datasets", { method: "POST", body: JSON.stringify({ name, project, query }) })).json();
    $("#save-result").textContent = `Saved dataset ${dataset.name} (${dataset.dataset_id}).`;
  } catch (error) { $("#save-result").textContent = `Not saved: ${error.message}`; }
}

async function renderDatasets() {
  const list = await getJSON("/datasets");
  const box = $("#datasets"); box.replaceChildren();
  if (!list.length) box.append(el("p", { class: "muted" }, "No datasets yet: save a search first."));
  for (const dataset of list) {
    const k = dataset.risk ? dataset.risk.k : null;
    const card = el("div", { class: "dataset", "data-dataset": dataset.dataset_id },
      el("strong", {}, dataset.name), " ", el("span", { class: "muted" }, `${dataset.project} · ${dataset.state}`), " ",
      el("span", { class: "k" }, k === null ? "k not checked" : `k = ${k}`),
      el("div", { class: "muted" }, JSON.stringify(dataset.query)),
      dataset.manifest ? el("div", {}, `${dataset.manifest.records} records · manifest ${dataset.manifest.sha256.slice(0, 16)}…`) : null);
    const actions = el("div", {});
    if (dataset.state === "draft") {
      actions.append(el("button", { class: "risk secondary", onclick: () => checkRisk(dataset.dataset_id) }, "Check risk"), " ",
        el("button", { class: "freeze", onclick: () => freeze(dataset.dataset_id) }, "Freeze"));
    } else if (dataset.state === "frozen") {
      for (const [label, path] of [["manifest JSON", "manifest.json"], ["manifest CSV", "manifest.csv"], ["ZIP archive", "archive?format=zip"]]) {
        actions.append(el("button", { class: "secondary export", onclick: () => saveFile(`/datasets/${dataset.dataset_id}/${path}`, `${dataset.dataset_id}-${path.replace("archive?format=", "archive.")}`) }, label), " ");
      }
    }
    card.append(actions); box.append(card);
  }
}

function riskReport(report, heading) {
  const box = $("#risk-report"); box.hidden = false; box.replaceChildren();
  box.append(el("h3", {}, heading), el("p", {}, el("span", { class: "k", id: "risk-k" }, `k = ${report.k}`),
    ` (required ${report.required_k}) · l = ${report.l} · ${report.records} records in ${report.groups} groups`));
  for (const problem of report.problems || []) box.append(el("p", { class: "error" }, problem));
  if (report.small_groups && report.small_groups.length) {
    box.append(el("h4", {}, `Groups smaller than ${report.required_k}`));
    box.append(el("table", {}, report.small_groups.map((g) => el("tr", {},
      el("td", {}, Object.entries(g.quasi_identifiers).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`).join(", ")),
      el("td", {}, `${g.size} record(s)`)))));
  }
  for (const suggestion of report.suggestions || []) {
    box.append(el("p", { class: "suggestion" }, suggestion.generalise
      ? `Generalise: ${suggestion.generalise.join("; ")} → k = ${suggestion.k}`
      : `Or leave out ${suggestion.suppress_records} record(s) in small groups → k = ${suggestion.k}`));
  }
}

async function checkRisk(datasetId) {
  riskReport(await getJSON(`/datasets/${datasetId}/risk`), "Re-identification risk");
  await renderDatasets();
}

async function freeze(datasetId) {
  try {
    const dataset = await (await api(`/datasets/${datasetId}/freeze`, { method: "POST" })).json();
    riskReport(dataset.risk, `Frozen: ${dataset.manifest.records} records`);
  } catch (error) {
    if (error.detail && error.detail.risk) riskReport(error.detail.risk, "Freeze refused");
    else riskReport({ k: "?", required_k: "?", l: "?", records: 0, groups: 0, problems: [error.message] }, "Freeze failed");
  }
  await renderDatasets();
}

async function saveFile(path, name) {
  const blob = await (await api(path)).blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: name }); document.body.append(link); link.click(); link.remove();
}

// -- review -------------------------------------------------------------------
async function renderReview() {
  const queue = await getJSON("/review/queue?limit=100");
  const box = $("#review-queue"); box.replaceChildren();
  if (!queue.items.length) box.append(el("p", { class: "empty", id: "queue-empty" }, "Nothing awaits review."));
  for (const item of queue.items) {
    const preview = item.preview && item.kind === "dicom" ? reviewThumbnail(item.record_id, "thumb")
      : el("div", { class: "thumb placeholder" }, item.kind === "dicom" ? "no image kept" : "report");
    box.append(el("div", { class: "review-item", "data-record": item.record_id, onclick: () => openReview(item.record_id) }, preview,
      el("div", {}, el("code", {}, item.record_id.slice(0, 12)), " ", item.kind, " · ", item.institution, " ",
        stateBadge(item.release), el("div", { class: "muted withheld-reason" }, item.release.reason || ""),
        el("button", { class: "open-review secondary" }, "Open"))));
  }
}

// Withheld pixels never go through the researcher routes: the review route renders them.
function reviewThumbnail(recordId, cls) {
  const image = el("img", { class: cls, alt: "what would be released", "data-record": recordId });
  api(`/review/${recordId}/preview.png`).then((r) => r.blob()).then((blob) => {
    image.src = URL.createObjectURL(blob); image.dataset.loaded = "true";
  }).catch(() => { image.replaceWith(el("div", { class: "thumb placeholder" }, "no preview")); });
  return image;
}

function regionBoxes(regions) {
  return regions.map((region) => {
    const box = el("div", { class: "region", title: region.source || "flagged" });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    box.style.left = `${region.x0 * 100}%`; box.style.top = `${region.y0 * 100}%`;
    box.style.width = `${(region.x1 - region.x0) * 100}%`; box.style.height = `${(region.y1 - region.y0) * 100}%`;
    return box;
  });
}

async function openReview(recordId) {
  const item = await getJSON(`/review/${recordId}`);
  const body = $("#review-body"); body.replaceChildren();
  $("#review-detail").hidden = false;
  body.append(el("h3", {}, item.kind === "dicom" ? "Withheld image" : "Withheld case report"), el("code", {}, item.record_id));
  body.append(el("p", {}, stateBadge(item.release), " ", el("span", { id: "review-reason-shown" }, item.release.reason || "")));
  if (item.findings.length) {
    body.append(el("h4", {}, "Verifier findings"), el("ul", { id: "review-findings" }, item.findings.map((f) => el("li", {}, f))));
  }
  if (!item.preview) {
    body.append(el("p", { class: "error", id: "no-candidate" }, "No de-identified candidate was kept: there is nothing to release. Reject it, or fix it at the source and resubmit."));
  } else if (item.kind === "dicom") {
    const regions = item.flagged_regions || [];
    body.append(el("h4", {}, "What would be released"),
      el("div", { class: "preview", id: "review-preview" }, reviewThumbnail(item.record_id, "preview-image"), regionBoxes(regions)),
      el("p", { class: "muted", id: "review-regions" }, regions.length
        ? `${regions.length} flagged region(s), outlined: ${[...new Set(regions.map((r) => r.source))].join(", ")}`
        : "No region was located: check the whole frame."));
  } else {
    const text = el("pre", { id: "review-text" }, "loading…");
    body.append(el("h4", {}, "What would be released"), text);
    getJSON(`/review/${item.record_id}/text`).then((answer) => { text.textContent = JSON.stringify(answer.document, null, 2); })
      .catch((error) => { text.textContent = `not readable: ${error.message}`; });
  }
  const reason = el("input", { id: "review-reason", placeholder: "reason (kept in the lineage and the audit log)", size: "40" });
  const result = el("p", { id: "review-result", class: "muted", role: "status" });
  const decide = (decision) => async () => {
    try {
      const answer = await (await api(`/records/${item.record_id}/review`, { method: "POST", body: JSON.stringify({ decision, reason: reason.value }) })).json();
      result.className = "ok"; result.textContent = `${decision === "release" ? "Released" : "Rejected"}: now ${answer.release.state}.`;
      await renderReview();
    } catch (error) { result.className = "error"; result.textContent = `Not done: ${error.message}`; }
  };
  body.append(el("h4", {}, "Decision"), el("div", {}, reason), el("p", {},
    item.releasable ? el("button", { class: "release", onclick: decide("release") }, "Release") : null, " ",
    el("button", { class: "reject danger", onclick: decide("reject") }, "Reject")), result);
}

// -- wiring -------------------------------------------------------------------
function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  for (const view of ["search", "datasets", "review"]) $(`#${view}-view`).hidden = view !== name;
  if (name === "datasets") renderDatasets();
  if (name === "review") renderReview();
}

document.addEventListener("DOMContentLoaded", () => {
  state.facetFilters = {};
  $("#sign-in").addEventListener("click", () => signIn($("#token").value));
  $("#sign-out").addEventListener("click", signOut);
  $("#search-form").addEventListener("submit", (event) => { event.preventDefault(); search(); });
  $("#clear-filters").addEventListener("click", () => { $("#search-form").reset(); state.facetFilters = {}; search(); });
  $("#more").addEventListener("click", () => search(true));
  $("#close-detail").addEventListener("click", () => { $("#detail").hidden = true; });
  $("#close-review").addEventListener("click", () => { $("#review-detail").hidden = true; });
  $("#save-dataset").addEventListener("click", saveDataset);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  if (state.token) signIn(state.token);
});
