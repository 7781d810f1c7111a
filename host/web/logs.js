// The logs view: search with the histogram, facets, the records or their patterns, anomaly
// episodes, surrounding lines, and live tail. Everything it shows follows the view state
// (query, range, source, filters), which lives in the address (see app.js).

import { $, $$, el, api, session, showError, formatTime, inputValue, zoneName, duration, focusable } from "./dom.js";
import { drawHistogram, sparkline } from "./histogram.js";

const PAGE = 100;
let navigate = () => {};
let current = null;
let total = 0;
let cursor = null;
let generation = 0;
export const timings = {};

export function initLogs(navigateTo) {
  navigate = navigateTo;
  $("#more").addEventListener("click", () => loadPage(generation).catch((error) => fail(error)));
  $("#live").addEventListener("click", () => navigate({ live: !current.live }, { push: false }));
  $("#new-records").addEventListener("click", flushLive);
  $("#zoom-out").addEventListener("click", zoomOut);
  $("#mode-records").addEventListener("click", () => navigate({ mode: "records" }));
  $("#mode-patterns").addEventListener("click", () => navigate({ mode: "patterns" }));
  window.addEventListener("scroll", () => { if (window.scrollY < 40) flushLive(); });
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => lastHistogram && drawHistogram($("#histogram"), lastHistogram, selectRange, domain(current)), 150);
  });
}

/// The query sent: the user's query with every filter chip.
export function effectiveQuery(view) {
  const parts = [];
  if (view.q) parts.push(view.filters.length ? `(${view.q})` : view.q);
  parts.push(...view.filters);
  if (parts.length && parts.every((part) => part.startsWith("-"))) parts.unshift("*");
  return parts.join(" AND ");
}

/// The time bounds of the view: `[since, until]`, each an API value or null.
export function rangeParams(view) {
  if (view.range === "custom") {
    return [view.since !== null ? new Date(view.since).toISOString() : null, view.until !== null ? new Date(view.until).toISOString() : null];
  }
  return [view.range || null, null];
}

function params(view) {
  const out = new URLSearchParams();
  out.set("q", effectiveQuery(view));
  const [since, until] = rangeParams(view);
  if (since) out.set("since", since);
  if (until) out.set("until", until);
  if (view.source) out.set("source", view.source);
  return out;
}

/// Clears everything a previous search showed, so an error never sits beside stale results.
function clearResults() {
  $("#result-count").textContent = "";
  $("#results").replaceChildren();
  $("#histogram").replaceChildren();
  $("#facets").replaceChildren();
  $("#pattern-list").replaceChildren();
  $("#more").hidden = true;
  lastHistogram = null;
  cursor = null;
}

/// Empties the view (another token is in use).
export function clearLogs() {
  setLive(false);
  clearResults();
  $("#anomalies").replaceChildren();
}

const plural = (count, word) => `${count.toLocaleString()} ${word}${count === 1 ? "" : "s"}`;

function fail(error) {
  clearResults();
  showError(error.message);
}

/// Shows `view` (a new search when the query, range, source or filters changed).
export async function showLogs(view, changed) {
  const previous = current;
  current = view;
  $("#q").value = view.q;
  $("#range").value = view.range;
  $("#custom-range").hidden = view.range !== "custom";
  $("#since").value = view.since !== null ? inputValue(view.since) : "";
  $("#until").value = view.until !== null ? inputValue(view.until) : "";
  $("#source").value = view.source;
  $("#zone-name").textContent = `times in ${zoneName()}`;
  const live = view.live && reachesNow(view);
  $("#live").disabled = !reachesNow(view);
  $("#live").title = reachesNow(view) ? "stream new matching records as they arrive" : "live tail shows new records: choose a range that reaches now";
  $("#live").setAttribute("aria-pressed", String(live));
  $("#live").classList.toggle("on", live);
  $("#zoom-out").disabled = view.range === "";
  $("#mode-records").classList.toggle("active", view.mode !== "patterns");
  $("#mode-patterns").classList.toggle("active", view.mode === "patterns");
  $("#records-panel").hidden = view.mode === "patterns";
  $("#patterns-panel").hidden = view.mode !== "patterns";
  drawFilters(view);
  const searchChanged = changed || !previous;
  if (searchChanged) {
    const mine = ++generation;
    showError("");
    clearResults();
    const started = performance.now();
    try {
      const work = [loadPage(mine), loadHistogram(mine), loadFacets(mine)];
      if (view.mode === "patterns") work.push(loadPatterns(mine));
      await Promise.all(work);
      if (timings.firstSearchMs === undefined) timings.firstSearchMs = Math.round(performance.now() - started);
    } catch (error) {
      if (mine === generation) fail(error);
    }
  } else if (view.mode === "patterns" && !$("#pattern-list").childElementCount) {
    loadPatterns(generation).catch(fail);
  }
  setLive(view.live && reachesNow(view));
}

/// Whether new records fall in the view's range (live tail makes sense).
function reachesNow(view) {
  return view.range !== "custom" || view.until === null || view.until > Date.now();
}

async function loadPage(mine) {
  const query = params(current);
  query.set("limit", String(PAGE));
  if (cursor) query.set("cursor", cursor);
  const page = await api(`/api/search?${query}`);
  if (mine !== generation) return;
  total = page.total;
  $("#result-count").textContent = plural(page.total, "record");
  $("#results").append(...page.hits.map(hitNode));
  cursor = page.next_cursor;
  $("#more").hidden = !cursor;
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
  const time = Date.parse(hit.timestamp);
  const node = el(
    "li",
    { class: "hit", title: "Enter or click: the lines around it" },
    el(
      "div",
      { class: "meta" },
      el("time", { datetime: hit.timestamp }, formatTime(time)),
      level ? el("span", { class: `level level-${level}` }, level) : null,
      el("span", { class: "source" }, hit.source),
      hit.pattern ? el("span", { class: "pattern-id" }, `pattern ${hit.pattern}`) : null,
      el("span", { class: "origin" }, `${hit.file}:${hit.line}`),
    ),
    messageNode(hit),
  );
  node.addEventListener("click", (event) => {
    if (!event.target.closest(".context")) toggleContext(node, hit);
  });
  return focusable(node, () => toggleContext(node, hit));
}

async function toggleContext(node, hit) {
  const open = $(".context", node);
  if (open) {
    open.remove();
    return;
  }
  try {
    const query = new URLSearchParams({ file: hit.file, line: hit.line, before: 5, after: 5 });
    const context = await api(`/api/context?${query}`);
    const box = el("div", { class: "context" });
    for (const line of context.hits) {
      box.append(el("div", { class: line.line === hit.line ? "current" : "" }, `${line.line}: ${line.message}`));
    }
    node.append(box);
  } catch (error) {
    showError(error.message);
  }
}

let lastHistogram = null;

async function loadHistogram(mine) {
  const histogram = await api(`/api/histogram?${params(current)}`);
  if (mine !== generation) return;
  lastHistogram = histogram;
  drawHistogram($("#histogram"), histogram, selectRange, domain(current));
}

const SPANS = { "15m": 9e5, "1h": 3.6e6, "24h": 8.64e7, "7d": 6.048e8, "30d": 2.592e9 };
const PRESETS = ["15m", "1h", "24h", "7d", "30d"];

/// The time span the chart shows: the chosen range, where it has bounds.
function domain(view) {
  if (view.range === "custom") return { from: view.since, to: view.until };
  if (view.range) return { from: Date.now() - SPANS[view.range], to: Date.now() };
  return { from: null, to: null };
}

function selectRange(since, until) {
  navigate({ range: "custom", since, until });
}

/// A wider range: the next preset up from a preset ("all time" after 30 days), three times a
/// custom range around its middle (what the chart shows where the range has no bound).
function zoomOut() {
  const view = current;
  if (view.range === "") return;
  if (view.range !== "custom") {
    const next = PRESETS[PRESETS.indexOf(view.range) + 1] ?? "";
    navigate({ range: next, since: null, until: null });
    return;
  }
  const buckets = lastHistogram ? lastHistogram.buckets : [];
  const since = view.since ?? (buckets.length ? buckets[0].t : null);
  const until = view.until ?? (buckets.length ? buckets[buckets.length - 1].t + lastHistogram.interval_ms : null);
  if (since === null || until === null) {
    navigate({ range: "", since: null, until: null });
    return;
  }
  const span = until - since;
  const wider = { since: Math.floor(since - span), until: Math.ceil(until + span) };
  // Past a year either way there is nothing left to widen to but all time.
  if (wider.until - wider.since > 366 * 86_400_000) {
    navigate({ range: "", since: null, until: null });
    return;
  }
  // A range reaching past now is open-ended: the newest records are the end.
  navigate({ range: "custom", since: wider.since, until: wider.until > Date.now() ? null : wider.until });
}

// ---- facets and filters ---------------------------------------------------------------

const quoted = (value) => (/^[\w.\-]+$/.test(value) ? value : `"${value.replaceAll('"', '\\"')}"`);

/// Pattern id -> template, from the facets and pattern lists seen: chips name a pattern by its
/// template, not its id.
const templates = new Map();

function chipLabel(filter) {
  const match = /^(-?)pattern:(\w+)$/.exec(filter);
  const template = match && templates.get(match[2]);
  if (!template) return filter;
  const short = template.length > 60 ? `${template.slice(0, 57)}…` : template;
  return `${match[1] ? "not " : ""}pattern “${short}”`;
}

function drawFilters(view) {
  $("#filters").replaceChildren(
    ...view.filters.map((filter) =>
      el("button", {
        type: "button",
        class: `chip${filter.startsWith("-") ? " exclude" : ""}`,
        title: `${filter}: remove this filter`,
        onclick: () => navigate({ filters: current.filters.filter((other) => other !== filter) }),
      }, chipLabel(filter), " ×")),
  );
}

/// The facet value chosen by keyboard, to focus again once the counts are drawn anew.
let facetToFocus = null;

function toggleFilter(field, value, exclude) {
  if (document.activeElement?.closest?.(".facet-value")) facetToFocus = [field, value];
  const term = `${exclude ? "-" : ""}${field}:${quoted(value)}`;
  const opposite = `${exclude ? "" : "-"}${field}:${quoted(value)}`;
  const filters = current.filters.filter((filter) => filter !== opposite);
  navigate({ filters: filters.includes(term) ? filters.filter((filter) => filter !== term) : [...filters, term] });
}

async function loadFacets(mine) {
  const query = params(current);
  query.set("size", "8");
  const answer = await api(`/api/facets?${query}`);
  if (mine !== generation) return;
  const names = { level: "Level", source: "Source", pattern: "Pattern" };
  for (const value of answer.facets.pattern?.values || []) if (value.template) templates.set(value.value, value.template);
  drawFilters(current);
  const box = $("#facets");
  const refocus = facetToFocus;
  facetToFocus = null;
  box.replaceChildren();
  for (const [field, title] of Object.entries(names)) {
    const facet = answer.facets[field];
    if (!facet || !facet.values.length) continue;
    const list = el("ol", { class: "facet-values" });
    for (const value of facet.values) {
      const active = current.filters.includes(`${field}:${quoted(value.value)}`);
      const label = field === "pattern" && value.template ? value.template : value.value;
      const entry = el(
        "li",
        { class: `facet-value${active ? " active" : ""}`, "data-field": field, "data-value": value.value, title: `click: only ${field} ${value.value}; shift-click: exclude it` },
        el("span", { class: "count" }, value.count.toLocaleString()),
        el("span", { class: "label" }, label),
      );
      entry.addEventListener("click", (event) => toggleFilter(field, value.value, event.shiftKey));
      list.append(focusable(entry, (event) => toggleFilter(field, value.value, event.shiftKey)));
    }
    const more = facet.distinct > facet.values.length ? el("p", { class: "muted" }, `${facet.distinct - facet.values.length} more`) : null;
    box.append(el("section", { class: "facet", "data-field": field }, el("h3", {}, title), list, more));
  }
  // A facet chosen by keyboard keeps the focus after the counts are drawn again.
  if (refocus) {
    const again = [...box.querySelectorAll(".facet-value")].find((node) => node.dataset.field === refocus[0] && node.dataset.value === refocus[1]);
    again?.focus();
  }
}

// ---- patterns of the current search ---------------------------------------------------

async function loadPatterns(mine) {
  const query = params(current);
  query.set("series", "30");
  query.set("limit", "50");
  query.set("examples", "1");
  const answer = await api(`/api/patterns?${query}`);
  if (mine !== generation) return;
  $("#pattern-count").textContent = plural(answer.total, "pattern");
  for (const pattern of answer.patterns) templates.set(pattern.pattern, pattern.template);
  $("#pattern-list").replaceChildren(
    ...answer.patterns.map((pattern) => {
      const series = pattern.series;
      const label = series ? `${pattern.count} records, ${duration(series.width_ms)} per point` : "";
      const node = el(
        "li",
        { class: "pattern-row", "data-pattern": pattern.pattern, title: "show these records" },
        series ? sparkline(series.counts, label) : null,
        el("span", { class: "count" }, pattern.count.toLocaleString()),
        el("div", { class: "template" }, pattern.template || "(no template)"),
        pattern.examples.length ? el("div", { class: "muted example" }, pattern.examples[0]) : null,
      );
      const open = () => navigate({ mode: "records", filters: [...current.filters, `pattern:${pattern.pattern}`] });
      node.addEventListener("click", open);
      return focusable(node, open);
    }),
  );
}

// ---- anomalies, by episode ------------------------------------------------------------

/// Findings of one kind about one thing, close in time, as one episode.
export function episodes(findings) {
  const byKey = new Map();
  for (const finding of findings) {
    if (finding.kind === "ticket-group") continue;
    const key = `${finding.kind}\u0000${finding.source}\u0000${finding.evidence.query || finding.summary}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(finding);
  }
  const out = [];
  for (const group of byKey.values()) {
    group.sort((a, b) => (a.first_seen_ms ?? 0) - (b.first_seen_ms ?? 0));
    let episode = null;
    for (const finding of group) {
      const first = finding.first_seen_ms ?? finding.last_seen_ms ?? 0;
      const last = finding.last_seen_ms ?? first;
      // A gap longer than an hour (or than the episode so far) starts a new episode.
      if (episode && first - episode.last <= Math.max(3_600_000, episode.last - episode.first)) {
        episode.last = Math.max(episode.last, last);
        episode.findings.push(finding);
        episode.score = Math.max(episode.score, finding.score);
      } else {
        episode = { kind: finding.kind, source: finding.source, query: finding.evidence.query, summary: finding.summary, first, last, score: finding.score, findings: [finding] };
        out.push(episode);
      }
    }
  }
  return out.sort((a, b) => b.last - a.last);
}

export async function loadAnomalies() {
  try {
    const answer = await api("/api/findings?limit=2000");
    const list = episodes(answer.findings).slice(0, 30);
    $("#anomalies").replaceChildren(
      ...list.map((episode) => {
        const span = episode.last - episode.first;
        const node = el(
          "li",
          { class: "episode", title: "show the records of this episode" },
          el("strong", {}, episode.kind), " ", episode.summary,
          el("div", { class: "muted" }, `${formatTime(episode.first)}${span ? ` · ${duration(span)}` : ""} · ${episode.findings.length} finding${episode.findings.length > 1 ? "s" : ""} · ${episode.source}`),
        );
        const open = () => {
          // The episode's own window, with a margin of a tenth of it (a minute at least).
          const margin = Math.max(span / 10, 60_000);
          navigate({ view: "logs", mode: "records", q: episode.query || "", filters: [], source: "", range: "custom", since: episode.first - margin, until: episode.last + margin });
          $("#records-panel").scrollIntoView({ block: "start" });
        };
        node.addEventListener("click", open);
        return focusable(node, open);
      }),
    );
    if (!list.length) $("#anomalies").append(el("li", { class: "muted" }, "none so far"));
  } catch (error) {
    showError(error.message);
  }
}

// ---- live tail ------------------------------------------------------------------------

let liveStream = null;
let liveKey = "";
const held = [];
let liveCount = 0;

function setLive(on) {
  const key = on ? `${effectiveQuery(current)}\u0000${current.source}` : "";
  if (key === liveKey) return;
  if (liveStream) liveStream.abort();
  liveStream = null;
  liveKey = key;
  held.length = 0;
  liveCount = 0;
  $("#new-records").hidden = true;
  $("#live-state").textContent = "";
  if (on) startLive();
}

async function startLive() {
  const controller = new AbortController();
  liveStream = controller;
  const query = new URLSearchParams({ q: effectiveQuery(current) });
  if (current.source) query.set("source", current.source);
  $("#live-state").textContent = "live: waiting for new records";
  try {
    const response = await fetch(`/api/tail?${query}`, { headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" }, signal: controller.signal });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: { message: response.statusText } }));
      throw new Error(`live tail: ${body.error.message}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        receive(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    if (liveStream === controller) $("#live-state").textContent = "live: the server ended the stream";
  } catch (error) {
    if (error.name !== "AbortError") {
      $("#live-state").textContent = "";
      showError(error.message);
    }
  }
}

function receive(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (event === "record") {
    held.push(JSON.parse(data.join("\n")));
    if (window.scrollY < 40) flushLive();
    else {
      $("#new-records").hidden = false;
      $("#new-records").textContent = `${held.length} new record${held.length > 1 ? "s" : ""}, paused while you read: show`;
      $("#live-state").textContent = `live: ${plural(held.length, "new record")} waiting above`;
    }
  } else if (event === "skipped") {
    $("#live-state").textContent = `live: ${data.join("")} records came too fast to stream; search to see them`;
  } else if (event === "error") {
    $("#live-state").textContent = `live: ${JSON.parse(data.join("")).error.message}`;
  }
}

function flushLive() {
  if (!held.length) return;
  const nodes = held.splice(0).reverse().map((hit) => {
    const node = hitNode(hit);
    node.classList.add("live");
    return node;
  });
  $("#results").prepend(...nodes);
  $("#new-records").hidden = true;
  liveCount += nodes.length;
  total += nodes.length;
  $("#result-count").textContent = plural(total, "record");
  $("#live-state").textContent = `live: ${plural(liveCount, "new record")} since it started`;
}

export function stopLive() {
  setLive(false);
}

export function currentHits() {
  return $$("#results .hit");
}
