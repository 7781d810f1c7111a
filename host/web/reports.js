// The reports view: bug reports searched (title, body, stack trace; `group:ID`, `status:…`),
// counted by group and status, and one report read in full: its body with stack traces set
// apart, reporter and status, the reports most like it with the reasons, and the feedback
// item it belongs to.

import { $, el, api, showError, formatTime, focusable } from "./dom.js";

let navigate = () => {};
let shownQuery = null;

export function initReports(navigateTo) {
  navigate = navigateTo;
}

/// Empties the view (another token is in use).
export function clearReports() {
  shownQuery = null;
  $("#report-list").replaceChildren();
  $("#report-count").textContent = "";
  $("#report-facets").replaceChildren();
  $("#report-detail").hidden = true;
}

export async function showReports(view) {
  $("#rq").value = view.rq;
  if (shownQuery !== view.rq) {
    shownQuery = view.rq;
    showError("");
    $("#report-list").replaceChildren();
    $("#report-count").textContent = "";
    $("#report-facets").replaceChildren();
    try {
      const query = new URLSearchParams({ q: view.rq, limit: "200", facets: "true" });
      const answer = await api(`/api/reports?${query}`);
      $("#report-count").textContent = `${answer.total.toLocaleString()} report${answer.total === 1 ? "" : "s"}${answer.total > answer.reports.length ? `, the newest ${answer.reports.length} shown` : ""}`;
      $("#report-list").replaceChildren(...answer.reports.map((report) => reportNode(report, view.report)));
      drawFacets(answer.facets || {}, view.rq);
    } catch (error) {
      shownQuery = null;
      showError(error.message);
    }
  }
  for (const node of document.querySelectorAll("#report-list .report")) {
    node.classList.toggle("selected", node.dataset.id === view.report);
  }
  if (view.report) await openReport(view.report);
  else $("#report-detail").hidden = true;
}

function reportNode(report, selected) {
  const node = el(
    "li",
    { class: `report${report.id === selected ? " selected" : ""}`, "data-id": report.id },
    el("h3", {}, report.title || "(no title)"),
    el(
      "div",
      { class: "meta" },
      el("span", {}, report.id),
      report.status ? el("span", { class: "badge" }, report.status) : null,
      el("span", {}, report.reporter || "reporter unknown"),
      report.created ? el("span", {}, formatTime(Date.parse(report.created))) : null,
      report.group ? el("span", { class: "badge group" }, `group ${report.group}`) : null,
    ),
  );
  const open = () => navigate({ report: report.id }, { push: true });
  node.addEventListener("click", open);
  return focusable(node, open);
}

function drawFacets(facets, query) {
  const box = $("#report-facets");
  for (const [field, title] of [["group", "Group"], ["status", "Status"]]) {
    const values = facets[field] || [];
    if (!values.length) continue;
    const list = el("ol", { class: "facet-values" });
    for (const value of values) {
      const term = `${field}:${/^[\w.\-]+$/.test(value.value) ? value.value : `"${value.value}"`}`;
      const apply = (event) => {
        const next = event.shiftKey ? `${query ? `${query} AND ` : "* AND "}-${term}` : query ? `(${query}) AND ${term}` : term;
        navigate({ rq: next, report: null });
      };
      const entry = el("li", { class: "facet-value", "data-field": field, "data-value": value.value, title: `click: only this ${field}; shift-click: exclude it` },
        el("span", { class: "count" }, value.count.toLocaleString()), el("span", { class: "label" }, value.label || value.value));
      entry.addEventListener("click", apply);
      list.append(focusable(entry, apply));
    }
    box.append(el("section", { class: "facet", "data-field": field }, el("h3", {}, title), list));
  }
}

/// Lines set apart as code: stack frames (Java/JS `at …`, Python `File "…"`, native `#3 0x…`),
/// the exception lines that head them, and log lines pasted in (a timestamp or a level first).
const TRACE_LINE = /^\s*[>\[(]?\s*(at\s|File "|#\d+\s|Traceback|Caused by|\.\.\. \d+ more|[\w$.]+(Exception|Error)(:|$)|\d{4}-\d\d-\d\d[ T]\d|\d\d:\d\d:\d\d|(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)\b)/;

/// Whether a line standing alone in a report reads as a pasted log line rather than prose: two
/// or more machine-made parts (an address, a host name, a long number, an id with `_`,
/// `key=value`, a path).
function looksLikeALogLine(line) {
  const parts = line.match(/\d+\.\d+\.\d+\.\d+|\b\d{5,}\b|\w+_[\w-]*\d|\w=\S|(^|\s)\/\w+\/|:\d{2,5}\b|[\w-]+\.[a-z]{2,3}\.[a-z]{2}\b|\b[\w-]+\.(com|net|org|edu)\b/g) || [];
  return parts.length >= 2;
}

/// The body as paragraphs, with runs of stack-trace lines as preformatted blocks.
function bodyNodes(body) {
  const out = [];
  let text = [];
  let trace = [];
  const flushText = () => {
    if (text.join("").trim()) out.push(el("p", { class: "report-text" }, text.join("\n").trim()));
    text = [];
  };
  const flushTrace = () => {
    if (trace.length) out.push(el("pre", { class: "trace" }, trace.join("\n")));
    trace = [];
  };
  const lines = (body || "").split("\n");
  lines.forEach((line, at) => {
    const alone = !(lines[at - 1] || "").trim() && !(lines[at + 1] || "").trim();
    if (TRACE_LINE.test(line) || (alone && looksLikeALogLine(line))) {
      flushText();
      trace.push(line);
    } else if (trace.length && /^\s+\S/.test(line)) {
      trace.push(line);
    } else {
      flushTrace();
      if (!line.trim()) flushText();
      else text.push(line);
    }
  });
  flushText();
  flushTrace();
  return out;
}

async function openReport(id) {
  const detail = $("#report-detail");
  try {
    const [report, similar] = await Promise.all([
      api(`/api/reports/${encodeURIComponent(id)}`),
      api(`/api/reports/${encodeURIComponent(id)}/similar?limit=5`),
    ]);
    // A report that shares nothing with this one (a score near 0) is no similar report.
    similar.similar = similar.similar.filter((other) => other.score >= 0.05);
    const facts = [
      ["id", report.id], ["status", report.status || "unknown"], ["reporter", report.reporter || "unknown"],
      ["created", report.created ? formatTime(Date.parse(report.created)) : "unknown"],
      ["component", report.component], ["version", report.version], ["labels", (report.labels || []).join(", ")],
      ["group", report.group],
    ].filter(([, value]) => value);
    detail.replaceChildren(...[
      el("h2", {}, report.title || "(no title)"),
      el("table", { class: "facts" }, ...facts.map(([name, value]) => el("tr", {}, el("td", {}, name), el("td", {}, value)))),
      report.item
        ? el("p", { id: "report-item" }, "In feedback item ", el("a", { href: `?view=board&item=${encodeURIComponent(report.item.id)}`, onclick: (event) => { event.preventDefault(); navigate({ view: "board", item: report.item.id }); } }, `${report.item.title}`), ` (${report.item.status})`)
        : el("p", { class: "muted", id: "report-item" }, "In no feedback item."),
      el("h3", {}, "Report"),
      ...bodyNodes(report.body),
      report.stack_trace ? el("h3", {}, "Stack trace") : null,
      report.stack_trace ? el("pre", { class: "trace" }, report.stack_trace) : null,
      el("h3", {}, "Similar reports"),
      similar.similar.length
        ? el("ol", { id: "similar-reports" }, ...similar.similar.map((other) => {
          const node = el("li", { class: "similar", "data-id": other.id },
            el("a", { href: `?view=reports&report=${encodeURIComponent(other.id)}`, onclick: (event) => { event.preventDefault(); navigate({ report: other.id }); } }, other.title || other.id),
            el("span", { class: "muted" }, ` ${other.id} · score ${other.score.toFixed(2)}${other.group ? ` · group ${other.group}` : ""}`),
            el("ul", { class: "reasons" }, ...(other.reasons || []).map((reason) => el("li", {}, reason))));
          return node;
        }))
        : el("p", { class: "muted" }, "No report is much like this one."),
    ].filter(Boolean));
    detail.hidden = false;
    detail.scrollTop = 0;
  } catch (error) {
    detail.hidden = true;
    showError(`report ${id}: ${error.message}`);
  }
}
