// The product owner's view: the feedback board by impact, one item's evidence (its reports
// by title, its log patterns, why they belong together, its anomaly episodes), the actions the
// token's role allows, and the Markdown and Jira CSV exports.

import { $, el, api, session, showError, formatTime, focusable } from "./dom.js";

let navigate = () => {};
let items = [];

const count = (number, word) => `${number.toLocaleString()} ${word}${number === 1 ? "" : "s"}`;
let shownFilters = null;

export function initBoard(navigateTo) {
  navigate = navigateTo;
  $("#export-md").addEventListener("click", () => download("md", "feedback.md"));
  $("#export-csv").addEventListener("click", () => download("csv", "feedback.csv"));
}

function filterParams(view) {
  const params = new URLSearchParams();
  if (view.kind) params.set("kind", view.kind);
  if (view.status) params.set("status", view.status);
  return params;
}

/// Empties the view (another token is in use).
export function clearBoard() {
  shownFilters = null;
  items = [];
  $("#items").replaceChildren();
  $("#item-count").textContent = "";
  $("#item-detail").hidden = true;
}

export async function showBoard(view, { reload = false } = {}) {
  $("#kind").value = view.kind;
  $("#status").value = view.status;
  const filters = filterParams(view).toString();
  if (reload || filters !== shownFilters) {
    shownFilters = filters;
    showError("");
    try {
      const board = await api(`/api/feedback?${filters}`);
      items = board.items;
      $("#item-count").textContent = `${items.length} item${items.length === 1 ? "" : "s"}, by impact`;
      $("#items").replaceChildren(...items.map(itemNode));
    } catch (error) {
      shownFilters = null;
      items = [];
      $("#items").replaceChildren();
      $("#item-count").textContent = "";
      showError(error.message);
    }
  }
  for (const node of document.querySelectorAll("#items .item")) node.classList.toggle("selected", node.dataset.id === view.item);
  if (!view.item) {
    $("#item-detail").hidden = true;
    return;
  }
  let item = items.find((candidate) => candidate.id === view.item);
  try {
    if (!item) item = await api(`/api/feedback/${encodeURIComponent(view.item)}`);
    await openItem(item);
  } catch (error) {
    $("#item-detail").hidden = true;
    showError(`item ${view.item}: ${error.message}`);
  }
}

function itemNode(item) {
  const records = item.evidence.patterns.reduce((sum, pattern) => sum + pattern.records, 0);
  const bar = el("span", { class: "impact", title: `impact ${item.impact.score.toFixed(2)}` });
  bar.append(el("span", { style: `width:${Math.round(Math.min(item.impact.score, 1) * 100)}%` }));
  const node = el(
    "li",
    { class: "item", "data-id": item.id },
    el("h3", {}, item.title),
    el("span", { class: "badge" }, item.kind),
    el("span", { class: `badge status-${item.status}` }, item.status),
    "impact", bar,
    el("span", { class: "muted" }, ` ${count(item.evidence.reports.length, "report")} · ${count(records, "log record")}${item.impact.corroborated ? " · reports and logs agree" : ""} · ${item.id}`),
  );
  const open = () => navigate({ item: item.id });
  node.addEventListener("click", open);
  return focusable(node, open);
}

async function reportTitles(ids) {
  if (!ids.length) return new Map();
  const query = ids.slice(0, 200).map((id) => `id:"${id.replaceAll('"', '\\"')}"`).join(" OR ");
  try {
    const answer = await api(`/api/reports?${new URLSearchParams({ q: query, limit: "200" })}`);
    return new Map(answer.reports.map((report) => [report.id, report]));
  } catch (_) {
    return new Map();
  }
}

async function openItem(item) {
  const impact = item.impact;
  const reporters = impact.reporters ? `${impact.reporters}${impact.unknown_reporters ? ` (+${impact.unknown_reporters} unknown)` : ""}` : "unknown";
  const rows = [
    ["score", impact.score.toFixed(2)], ["reports", impact.reports], ["reporters", reporters],
    ["sources", impact.sources], ["error volume", impact.error_volume], ["trend", impact.trend.toFixed(2)],
    ["severity", impact.severity.toFixed(2)],
  ];
  // Whether reports and logs agree is a question only where there are both.
  if (impact.reports && impact.sources) rows.push(["reports and logs agree", impact.corroborated ? "yes" : "no"]);
  const reports = await reportTitles(item.evidence.reports);
  const detail = $("#item-detail");
  detail.replaceChildren(...[
    el("h2", {}, item.title),
    el("p", {}, el("span", { class: "badge" }, item.kind), el("span", { class: `badge status-${item.status}` }, item.status), item.id),
    el("p", {}, item.summary),
    item.status_reason ? el("p", { id: "status-reason" }, `${item.status}: ${item.status_reason}`) : null,
    el("p", { class: "muted" }, `seen ${formatTime(item.first_seen_ms)} – ${formatTime(item.last_seen_ms)}`),
    el("h3", {}, "Impact"),
    el("table", { class: "facts" }, ...rows.map(([name, value]) => el("tr", {}, el("td", {}, name), el("td", {}, value)))),
  ].filter(Boolean));
  if (item.evidence.reports.length) {
    detail.append(
      el("h3", {}, "Reports"),
      el("ul", { id: "item-reports" }, ...item.evidence.reports.map((id) => {
        const report = reports.get(id);
        return el("li", { "data-id": id },
          el("a", { href: `?view=reports&report=${encodeURIComponent(id)}`, onclick: (event) => { event.preventDefault(); navigate({ view: "reports", report: id }); } }, id),
          report ? ` ${report.title}` : "",
          report && report.reporter ? el("span", { class: "muted" }, ` · ${report.reporter}`) : null);
      })),
    );
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
    detail.append(el("p", {}, el("button", { id: "show-logs", type: "button", onclick: () => navigate({ view: "logs", mode: "records", q: item.evidence.query, filters: [], source: "", range: "" }) }, "Show the log records")));
  }
  // Only what the token's role may do: acknowledging and resolving need an admin token.
  const actions = el("p", { class: "actions" });
  if (session.may.admin) {
    if (item.status === "new" || item.status === "regressed") {
      actions.append(el("button", { id: "ack", type: "button", onclick: () => actOn(item.id, "ack") }, "Acknowledge"));
    }
    if (item.status !== "resolved") {
      actions.append(el("button", { id: "resolve", type: "button", onclick: () => actOn(item.id, "resolve") }, "Mark resolved"));
    }
  } else {
    actions.append(el("span", { class: "muted", id: "read-only" }, "Acknowledging and resolving need an admin token."));
  }
  detail.append(actions);
  detail.hidden = false;
  // A new item starts at its top, not at the previous item's scroll position.
  detail.scrollTop = 0;
}

async function actOn(id, action) {
  try {
    await api(`/api/feedback/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    const view = { kind: $("#kind").value, status: $("#status").value, item: id };
    await showBoard(view, { reload: true });
  } catch (error) {
    showError(error.message);
  }
}

async function download(format, filename) {
  try {
    const params = filterParams({ kind: $("#kind").value, status: $("#status").value });
    params.set("format", format);
    const text = await api(`/api/feedback?${params}`);
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    showError(error.message);
  }
}
