// opsloop's web page: the logs view (search, histogram, facets, patterns, anomaly episodes,
// live tail), the reports view and the product owner's feedback board. Plain ES modules, no
// build step. What is on screen is a function of the view state, and the view state lives in
// the address: every screen can be linked, reloaded, and left with Back.

import { $, $$, api, session, showError, zoneName, fromInput } from "./dom.js";
import { initLogs, showLogs, loadAnomalies, effectiveQuery, stopLive, clearLogs, timings } from "./logs.js";
import { initReports, showReports, clearReports } from "./reports.js";
import { initBoard, showBoard, clearBoard } from "./board.js";

const RANGES = ["15m", "1h", "24h", "7d", "30d", "", "custom"];
const VIEWS = ["logs", "reports", "board"];

/// The view state with nothing chosen.
const EMPTY = {
  view: "logs", q: "", range: "", since: null, until: null, source: "", filters: [], mode: "records",
  live: false, rq: "", report: null, kind: "", status: "", item: null,
};

let view = { ...EMPTY };

/// The view state an address names. Old links (`#item=FB-…`, `#search=…`, from alerts) too.
function fromAddress(location) {
  const params = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("item")) return { ...EMPTY, view: "board", item: hash.get("item") };
  if (hash.has("search")) return { ...EMPTY, q: hash.get("search") };
  const time = (name) => {
    const value = params.get(name);
    if (!value) return null;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  };
  const range = params.get("range") ?? (params.has("since") || params.has("until") ? "custom" : "");
  return {
    view: VIEWS.includes(params.get("view")) ? params.get("view") : "logs",
    q: params.get("q") || "",
    range: RANGES.includes(range) ? range : "",
    since: time("since"),
    until: time("until"),
    source: params.get("source") || "",
    filters: params.getAll("f"),
    mode: params.get("mode") === "patterns" ? "patterns" : "records",
    live: params.get("live") === "1",
    rq: params.get("rq") || "",
    report: params.get("report"),
    kind: params.get("kind") || "",
    status: params.get("status") || "",
    item: params.get("item"),
  };
}

/// The address of a view state: only what differs from nothing chosen.
function toAddress(state) {
  const params = new URLSearchParams();
  if (state.view !== "logs") params.set("view", state.view);
  if (state.q) params.set("q", state.q);
  if (state.range) params.set("range", state.range);
  if (state.range === "custom") {
    if (state.since !== null) params.set("since", new Date(state.since).toISOString());
    if (state.until !== null) params.set("until", new Date(state.until).toISOString());
  }
  if (state.source) params.set("source", state.source);
  for (const filter of state.filters) params.append("f", filter);
  if (state.mode !== "records") params.set("mode", state.mode);
  if (state.live) params.set("live", "1");
  if (state.rq) params.set("rq", state.rq);
  if (state.report) params.set("report", state.report);
  if (state.kind) params.set("kind", state.kind);
  if (state.status) params.set("status", state.status);
  if (state.item) params.set("item", state.item);
  const text = params.toString();
  return text ? `?${text}` : location.pathname;
}

const SEARCH_KEYS = ["q", "range", "since", "until", "source", "filters"];

/// Moves to a new view state: a history entry (unless `push` is false), then what changed is
/// shown.
function navigate(changes, { push = true } = {}) {
  // What is typed in a search box but not yet submitted goes with any change made beside it
  // (a range, a facet, a drag), as in Kibana: it is never silently dropped.
  const typed = {};
  if (view.view === "logs") {
    typed.q = $("#q").value.trim();
    typed.source = $("#source").value.trim();
  } else if (view.view === "reports") {
    typed.rq = $("#rq").value.trim();
  }
  const next = { ...view, ...typed, ...changes };
  const address = toAddress(next);
  if (push && address !== toAddress(view)) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
  show(next);
}

function show(next) {
  const previous = view;
  view = next;
  for (const tab of $$(".tab")) {
    const active = tab.dataset.view === view.view;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  for (const name of VIEWS) $(`#${name}`).hidden = name !== view.view;
  if (!session.token) {
    // The address's search shows in the form even before a token is entered.
    $("#q").value = view.q;
    $("#range").value = view.range;
    $("#source").value = view.source;
    $("#rq").value = view.rq;
    return;
  }
  if (view.view === "logs") {
    const changed = previous.view !== "logs" || SEARCH_KEYS.some((key) => JSON.stringify(previous[key]) !== JSON.stringify(view[key])) || !shownOnce;
    shownOnce = true;
    showLogs(view, changed);
  } else {
    stopLive();
    if (view.view === "reports") showReports(view);
    else showBoard(view);
  }
}
let shownOnce = false;

// ---- the token and who it belongs to -------------------------------------------------------

async function identify() {
  try {
    const me = await api("/api/whoami");
    session.may = me.may;
    $("#whoami").textContent = `${me.name} · ${me.role}`;
    $("#whoami").classList.remove("bad");
    return true;
  } catch (error) {
    session.may = { read: false, ingest: false, admin: false };
    // Nothing read with another token stays on screen.
    clearLogs();
    clearReports();
    clearBoard();
    $("#whoami").textContent = error.status === 401 ? "token not known" : error.message;
    $("#whoami").classList.add("bad");
    showError(error.status === 401 ? "The API token is not known to this server; enter another one (top right)." : error.message);
    return false;
  }
}

async function useToken(token) {
  session.token = token;
  localStorage.setItem("opsloop-token", token);
  if (!token) {
    $("#whoami").textContent = "";
    showError("Enter an API token (top right) to see data.");
    return;
  }
  if (await identify()) {
    showError("");
    shownOnce = false;
    show(view);
    loadAnomalies();
  }
}

// ---- keyboard --------------------------------------------------------------------------

/// `/` focuses the search box of the view; arrows (and j/k) move through its list; Enter opens
/// (on the focused entry, see dom.js `focusable`).
function onKey(event) {
  const typing = event.target.closest("input, select, textarea");
  if (event.key === "/" && !typing) {
    event.preventDefault();
    const box = view.view === "reports" ? $("#rq") : view.view === "logs" ? $("#q") : $("#kind");
    box.focus();
    box.select?.();
    return;
  }
  if (event.key === "Escape" && typing) {
    event.target.blur();
    return;
  }
  // Down from a search box goes to the list below it.
  if (event.key === "ArrowDown" && (event.target.id === "q" || event.target.id === "rq")) {
    event.target.blur();
  } else if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
  const down = event.key === "ArrowDown" || event.key === "j";
  const up = event.key === "ArrowUp" || event.key === "k";
  if (!down && !up) return;
  const list = { logs: view.mode === "patterns" ? "#pattern-list" : "#results", reports: "#report-list", board: "#items" }[view.view];
  const entries = $$(`${list} > .entry`);
  if (!entries.length) return;
  event.preventDefault();
  const at = entries.indexOf(document.activeElement);
  const next = at < 0 ? (down ? 0 : entries.length - 1) : Math.min(Math.max(at + (down ? 1 : -1), 0), entries.length - 1);
  entries[next].focus();
  entries[next].scrollIntoView({ block: "nearest" });
}

// ---- wiring ------------------------------------------------------------------------------

function start() {
  // A fault in the page itself is said where errors are, not only in the console.
  window.addEventListener("error", (event) => showError(`page error: ${event.message}`));
  window.addEventListener("unhandledrejection", (event) => showError(`page error: ${event.reason}`));
  $("#token").value = session.token;
  $("#zone").value = session.zone;
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useToken($("#token").value.trim());
  });
  $("#zone").addEventListener("change", () => {
    session.zone = $("#zone").value;
    localStorage.setItem("opsloop-zone", session.zone);
    $("#zone-name").textContent = `times in ${zoneName()}`;
    shownOnce = false;
    show(view);
    loadAnomalies();
  });
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    navigate({ q: $("#q").value.trim(), source: $("#source").value.trim(), ...customRange() });
  });
  // The range applies at once; custom bounds when both inputs are read.
  $("#range").addEventListener("change", () => {
    const range = $("#range").value;
    if (range === "custom") {
      $("#custom-range").hidden = false;
      const bounds = customRange();
      if (bounds.since !== null || bounds.until !== null) navigate(bounds);
    } else {
      navigate({ range, since: null, until: null });
    }
  });
  for (const input of [$("#since"), $("#until")]) input.addEventListener("change", () => navigate(customRange()));
  $("#source").addEventListener("change", () => navigate({ source: $("#source").value.trim() }));
  for (const tab of $$(".tab")) tab.addEventListener("click", () => navigate({ view: tab.dataset.view }));
  $("#report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    navigate({ rq: $("#rq").value.trim(), report: null });
  });
  $("#kind").addEventListener("change", () => navigate({ kind: $("#kind").value, item: null }));
  $("#status").addEventListener("change", () => navigate({ status: $("#status").value, item: null }));
  document.addEventListener("keydown", onKey);
  window.addEventListener("popstate", () => show(fromAddress(location)));
  initLogs(navigate);
  initReports(navigate);
  initBoard(navigate);
  window.opsloopTimings = timings;

  view = fromAddress(location);
  // Old hash links become addresses of their own.
  if (location.hash.length > 1) history.replaceState(null, "", toAddress(view));
  if (session.token) useToken(session.token);
  else {
    show(view);
    showError("Enter an API token (top right) to see data.");
  }
}

function customRange() {
  if ($("#range").value !== "custom") return {};
  return { range: "custom", since: fromInput($("#since").value), until: fromInput($("#until").value) };
}

// For tests and people in the console: the query the logs view sends now.
window.opsloopQuery = () => effectiveQuery(view);

start();
