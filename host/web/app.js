// opsloop's web page: the ops view (search, histogram, context, patterns, anomalies) and the
// product-owner view (feedback board, evidence, exports). Plain DOM, no build step; every
// value from the server is inserted as text, never as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { token: localStorage.getItem("opsloop-token") || "", cursor: null, items: [], selected: null };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      message = `${body.error.code}: ${body.error.message}`;
    } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function time(ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// ---- ops view -------------------------------------------------------------------------

function searchParams() {
  const params = new URLSearchParams();
  params.set("q", $("#q").value.trim());
  const range = $("#range").value;
  if (range === "custom") {
    if ($("#since").value) params.set("since", new Date($("#since").value).toISOString());
    if ($("#until").value) params.set("until", new Date($("#until").value).toISOString());
  } else if (range) {
    params.set("since", range);
  }
  if ($("#source").value.trim()) params.set("source", $("#source").value.trim());
  return params;
}

async function runSearch(event) {
  if (event) event.preventDefault();
  showError("");
  state.cursor = null;
  $("#results").replaceChildren();
  try {
    await Promise.all([loadPage(), loadHistogram()]);
  } catch (error) {
    showError(error.message);
  }
}

async function loadPage() {
  const params = searchParams();
  params.set("limit", "100");
  if (state.cursor) params.set("cursor", state.cursor);
  const page = await api(`/api/search?${params}`);
  $("#result-count").textContent = `${page.total.toLocaleString()} records`;
  for (const hit of page.hits) $("#results").append(hitNode(hit));
  state.cursor = page.next_cursor;
  $("#more").hidden = !state.cursor;
}

function messageNode(hit) {
  const message = el("div", { class: "message" });
  for (const part of hit.message_parts || [{ text: hit.message, hit: false }]) {
    message.append(part.hit ? el("mark", {}, part.text) : document.createTextNode(part.text));
  }
  return message;
}

function hitNode(hit) {
  const level = hit.level || "";
  const node = el(
    "li",
    { class: "hit", title: "show the lines around it" },
    el(
      "div",
      { class: "meta" },
      el("span", {}, hit.timestamp),
      el("span", { class: `level level-${level}` }, level),
      el("span", {}, hit.source),
      hit.pattern ? el("span", {}, `pattern ${hit.pattern}`) : null,
      el("span", {}, `${hit.file}:${hit.line}`),
    ),
    messageNode(hit),
  );
  node.addEventListener("click", () => toggleContext(node, hit));
  return node;
}

async function toggleContext(node, hit) {
  const open = node.querySelector(".context");
  if (open) {
    open.remove();
    return;
  }
  try {
    const params = new URLSearchParams({ file: hit.file, line: hit.line, before: 5, after: 5 });
    const context = await api(`/api/context?${params}`);
    const box = el("div", { class: "context" });
    for (const line of context.hits) {
      box.append(el("div", { class: line.line === hit.line ? "current" : "" }, `${line.line}: ${line.message}`));
    }
    node.append(box);
  } catch (error) {
    showError(error.message);
  }
}

async function loadHistogram() {
  const histogram = await api(`/api/histogram?${searchParams()}`);
  const box = $("#histogram");
  box.replaceChildren();
  const buckets = histogram.buckets;
  if (!buckets.length) return;
  const max = Math.max(...buckets.map((bucket) => bucket.count), 1);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${buckets.length} 100`);
  svg.setAttribute("preserveAspectRatio", "none");
  buckets.forEach((bucket, index) => {
    const height = (bucket.count / max) * 96;
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    rect.setAttribute("x", index + 0.1);
    rect.setAttribute("width", 0.8);
    rect.setAttribute("y", 100 - height);
    rect.setAttribute("height", Math.max(height, bucket.count ? 1 : 0));
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${time(bucket.t)}: ${bucket.count}`;
    rect.append(title);
    rect.addEventListener("click", () => zoomTo(bucket.t, bucket.t + histogram.interval_ms));
    svg.append(rect);
  });
  box.append(svg);
}

function localInput(ms) {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return date.toISOString().slice(0, 19);
}

function zoomTo(since, until) {
  $("#range").value = "custom";
  $("#custom-range").hidden = false;
  $("#since").value = localInput(since);
  $("#until").value = localInput(until);
  runSearch();
}

function searchFor(query) {
  showView("ops");
  $("#q").value = query;
  $("#range").value = "";
  $("#custom-range").hidden = true;
  runSearch();
}

async function loadSide() {
  try {
    const [patterns, findings] = await Promise.all([
      api("/api/patterns?limit=25&examples=0"),
      api("/api/findings?limit=30"),
    ]);
    $("#patterns").replaceChildren(
      ...patterns.patterns.map((pattern) =>
        el("li", { title: pattern.pattern, onclick: () => searchFor(`pattern:${pattern.pattern}`) },
          el("span", { class: "count" }, pattern.count.toLocaleString()), pattern.template)),
    );
    const anomalies = findings.findings.filter((finding) => finding.kind !== "ticket-group");
    $("#anomalies").replaceChildren(
      ...(anomalies.length ? anomalies : []).map((finding) =>
        el("li", { onclick: () => finding.evidence.query && searchFor(finding.evidence.query) },
          el("strong", {}, finding.kind), " ", finding.summary,
          el("div", { class: "muted" }, `${time(finding.first_seen_ms)} · score ${finding.score.toFixed(1)}`))),
    );
    if (!anomalies.length) $("#anomalies").append(el("li", { class: "muted" }, "none so far"));
  } catch (error) {
    showError(error.message);
  }
}

// ---- product-owner view -----------------------------------------------------------------

async function loadBoard() {
  showError("");
  const params = new URLSearchParams();
  if ($("#kind").value) params.set("kind", $("#kind").value);
  if ($("#status").value) params.set("status", $("#status").value);
  try {
    const board = await api(`/api/feedback?${params}`);
    state.items = board.items;
    $("#item-count").textContent = `${board.items.length} items, by impact`;
    $("#items").replaceChildren(...board.items.map(itemNode));
    if (state.selected) {
      const again = board.items.find((item) => item.id === state.selected);
      if (again) openItem(again);
    }
  } catch (error) {
    showError(error.message);
  }
}

function itemNode(item) {
  const records = item.evidence.patterns.reduce((sum, pattern) => sum + pattern.records, 0);
  const bar = el("span", { class: "impact", title: `impact ${item.impact.score.toFixed(2)}` });
  bar.append(el("span", { style: `width:${Math.round(Math.min(item.impact.score, 1) * 100)}%` }));
  return el(
    "li",
    { class: `item${item.id === state.selected ? " selected" : ""}`, "data-id": item.id, onclick: () => openItem(item) },
    el("h3", {}, item.title),
    el("span", { class: "badge" }, item.kind),
    el("span", { class: `badge status-${item.status}` }, item.status),
    "impact", bar,
    el("span", { class: "muted" }, ` ${item.evidence.reports.length} reports · ${records} log records${item.impact.corroborated ? " · reports and logs agree" : ""} · ${item.id}`),
  );
}

function openItem(item) {
  state.selected = item.id;
  for (const node of document.querySelectorAll(".item")) node.classList.toggle("selected", node.dataset.id === item.id);
  const impact = item.impact;
  const rows = [
    ["score", impact.score.toFixed(2)], ["reports", impact.reports], ["reporters", impact.reporters + (impact.unknown_reporters ? ` (+${impact.unknown_reporters} unknown)` : "")],
    ["sources", impact.sources], ["error volume", impact.error_volume], ["trend", impact.trend.toFixed(2)],
    ["severity", impact.severity.toFixed(2)], ["reports and logs agree", impact.corroborated ? "yes" : "no"],
  ];
  const detail = $("#item-detail");
  detail.replaceChildren(
    el("h2", {}, item.title),
    el("p", {}, el("span", { class: "badge" }, item.kind), el("span", { class: `badge status-${item.status}` }, item.status), item.id),
    el("p", {}, item.summary),
    el("p", { class: "muted" }, `seen ${time(item.first_seen_ms)} – ${time(item.last_seen_ms)}`),
    el("h3", {}, "Impact"),
    el("table", {}, ...rows.map(([name, value]) => el("tr", {}, el("td", {}, name), el("td", {}, value)))),
  );
  if (item.evidence.reports.length) {
    detail.append(el("h3", {}, "Reports"), el("ul", { id: "item-reports" }, ...item.evidence.reports.map((id) => el("li", {}, id))));
  }
  for (const pattern of item.evidence.patterns) {
    detail.append(
      el("h3", {}, `Logs: ${pattern.records} records`),
      el("pre", {}, pattern.template),
      ...pattern.examples.slice(0, 3).map((example) => el("pre", {}, example)),
    );
  }
  if (item.evidence.links && item.evidence.links.length) {
    detail.append(el("h3", {}, "Why these belong together"), el("ul", { id: "item-links" }, ...item.evidence.links.map((text) => el("li", {}, text))));
  }
  if (item.evidence.findings.length) {
    detail.append(el("h3", {}, "Anomaly episodes"), el("ul", { id: "item-episodes" }, ...item.evidence.findings.map((text) => el("li", {}, text))));
  }
  if (item.evidence.query) {
    detail.append(el("p", {}, el("button", { id: "show-logs", type: "button", onclick: () => searchFor(item.evidence.query) }, "Show the log records")));
  }
  const actions = el("p", {});
  if (item.status === "new" || item.status === "regressed") {
    actions.append(el("button", { id: "ack", type: "button", onclick: () => actOn(item.id, "ack") }, "Acknowledge"));
  }
  if (item.status !== "resolved") {
    actions.append(el("button", { id: "resolve", type: "button", onclick: () => actOn(item.id, "resolve") }, "Mark resolved"));
  }
  if (actions.childNodes.length) detail.append(actions);
  detail.hidden = false;
}

async function actOn(id, action) {
  try {
    await api(`/api/feedback/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    await loadBoard();
  } catch (error) {
    showError(error.message);
  }
}

async function download(format, filename) {
  try {
    const params = new URLSearchParams({ format });
    if ($("#kind").value) params.set("kind", $("#kind").value);
    if ($("#status").value) params.set("status", $("#status").value);
    const text = await api(`/api/feedback?${params}`);
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    showError(error.message);
  }
}

// ---- wiring ------------------------------------------------------------------------------

function showView(view) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  $("#ops").hidden = view !== "ops";
  $("#board").hidden = view !== "board";
  if (view === "board") loadBoard();
}

// Links from alerts: `#item=FB-…` opens the item on the board, `#search=…` runs the search.
async function openFromAddress() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("search")) {
    searchFor(hash.get("search"));
  } else if (hash.has("item")) {
    const id = hash.get("item");
    state.selected = id;
    showView("board");
    try {
      openItem(await api(`/api/feedback/${encodeURIComponent(id)}`));
    } catch (error) {
      showError(`item ${id}: ${error.message}`);
    }
  }
}

function start() {
  $("#token").value = state.token;
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("#token").value.trim();
    localStorage.setItem("opsloop-token", state.token);
    $("#whoami").textContent = state.token ? "token set" : "";
    runSearch();
    loadSide();
  });
  $("#search-form").addEventListener("submit", runSearch);
  $("#range").addEventListener("change", () => {
    $("#custom-range").hidden = $("#range").value !== "custom";
  });
  $("#more").addEventListener("click", () => loadPage().catch((error) => showError(error.message)));
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#kind").addEventListener("change", loadBoard);
  $("#status").addEventListener("change", loadBoard);
  $("#export-md").addEventListener("click", () => download("md", "feedback.md"));
  $("#export-csv").addEventListener("click", () => download("csv", "feedback.csv"));
  window.addEventListener("hashchange", openFromAddress);
  if (state.token) {
    $("#whoami").textContent = "token set";
    if (location.hash.length > 1) openFromAddress();
    else runSearch();
    loadSide();
  } else {
    showError("Enter an API token (top right) to see data.");
  }
}

start();
