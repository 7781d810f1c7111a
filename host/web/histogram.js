// The records-over-time chart: bars in an SVG drawn at the box's pixel width, a time axis with
// round ticks in the chosen zone, a count axis, a tooltip per bucket, click to zoom into a
// bucket and drag to select a range. Plain SVG; a charting library would add more bytes than
// this whole file for the one chart the page has.

import { el, svg, formatTime, tickLabel, zoneOffset, zoneName } from "./dom.js";

const STEPS = [
  1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
  2_592_000_000,
];
const HEIGHT = 120;
const AXIS = 18;
const LEFT = 44;

/// The round step that gives about `count` ticks over `span` ms.
function tickStep(span, count) {
  return STEPS.find((step) => span / step <= count) || STEPS[STEPS.length - 1];
}

/// Draws `histogram` ({interval_ms, buckets: [{t, count}]}) into `box` over `domain` ({from,
/// to}; a null bound is the records' own). `onRange(since, until)` is called with the range a
/// click or a drag selects.
export function drawHistogram(box, histogram, onRange, domain = { from: null, to: null }) {
  box.replaceChildren();
  const buckets = histogram.buckets;
  if (!buckets.length) {
    box.append(el("p", { class: "muted empty-chart" }, "no records in this range"));
    return;
  }
  const width = Math.max(box.clientWidth, 200);
  const plot = width - LEFT - 8;
  // The chosen range, so empty time at either end can be seen and selected.
  const first = Math.min(domain.from ?? buckets[0].t, buckets[0].t);
  const last = Math.max(domain.to ?? buckets[buckets.length - 1].t + histogram.interval_ms, buckets[buckets.length - 1].t + histogram.interval_ms);
  const x = (ms) => LEFT + ((ms - first) / (last - first)) * plot;
  const max = Math.max(...buckets.map((bucket) => bucket.count), 1);
  const barHeight = HEIGHT - AXIS - 6;
  const chart = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img" });
  const title = svg("title");
  title.textContent = `records over time, ${zoneName()}`;
  chart.append(title);

  // Count axis: 0 and the highest bucket.
  for (const [value, y] of [[max, 8], [0, HEIGHT - AXIS]]) {
    const label = svg("text", { x: LEFT - 4, y: y + 3, class: "axis-label", "text-anchor": "end" });
    label.textContent = value.toLocaleString();
    chart.append(label, svg("line", { x1: LEFT, x2: width - 8, y1: y, y2: y, class: "grid" }));
  }
  // Time axis: round ticks in the chosen zone.
  const step = tickStep(last - first, Math.max(2, Math.floor(plot / 110)));
  const offset = zoneOffset(first);
  for (let tick = Math.ceil((first + offset) / step) * step - offset; tick <= last; tick += step) {
    const at = x(tick);
    chart.append(svg("line", { x1: at, x2: at, y1: HEIGHT - AXIS, y2: HEIGHT - AXIS + 4, class: "tick" }));
    // Labels near an edge are anchored inside it, so none is cut off.
    const anchor = at > width - 40 ? "end" : at < LEFT + 20 ? "start" : "middle";
    const label = svg("text", { x: at, y: HEIGHT - 4, class: "axis-label", "text-anchor": anchor });
    label.textContent = tickLabel(tick, step);
    chart.append(label);
  }

  const tooltip = el("div", { class: "tooltip", role: "tooltip", hidden: true });
  const barWidth = Math.max((histogram.interval_ms / (last - first)) * plot - 1, 1);
  buckets.forEach((bucket) => {
    const height = (bucket.count / max) * barHeight;
    const rect = svg("rect", {
      x: x(bucket.t),
      width: barWidth,
      y: HEIGHT - AXIS - height,
      height: Math.max(height, bucket.count ? 1 : 0),
      "data-t": bucket.t,
      "data-count": bucket.count,
    });
    const text = `${formatTime(bucket.t)} – ${formatTime(bucket.t + histogram.interval_ms)} ${zoneName()}: ${bucket.count.toLocaleString()} records`;
    rect.append(svg("title"));
    rect.lastChild.textContent = text;
    rect.addEventListener("mouseenter", () => {
      tooltip.textContent = text;
      tooltip.hidden = false;
      tooltip.style.left = `${Math.min(x(bucket.t), width - 260)}px`;
    });
    rect.addEventListener("mouseleave", () => { tooltip.hidden = true; });
    chart.append(rect);
  });

  // Drag to select a range; a click without a drag zooms into the bucket under it.
  const selection = svg("rect", { class: "selection", y: 0, height: HEIGHT - AXIS, x: 0, width: 0, visibility: "hidden" });
  chart.append(selection);
  const timeAt = (clientX) => {
    const left = chart.getBoundingClientRect().left;
    const ratio = Math.min(Math.max((clientX - left - LEFT) / plot, 0), 1);
    return first + ratio * (last - first);
  };
  let start = null;
  chart.addEventListener("mousedown", (event) => {
    event.preventDefault();
    start = event.clientX;
  });
  chart.addEventListener("mousemove", (event) => {
    if (start === null) return;
    const left = chart.getBoundingClientRect().left;
    const from = Math.min(start, event.clientX) - left;
    selection.setAttribute("x", Math.max(from, LEFT));
    selection.setAttribute("width", Math.abs(event.clientX - start));
    selection.setAttribute("visibility", "visible");
  });
  const finish = (event) => {
    if (start === null) return;
    const moved = Math.abs(event.clientX - start);
    const [a, b] = [timeAt(start), timeAt(event.clientX)].sort((p, q) => p - q);
    start = null;
    selection.setAttribute("visibility", "hidden");
    if (moved > 4) {
      onRange(Math.floor(a), Math.ceil(b));
    } else {
      const bucket = buckets.find((candidate) => a >= candidate.t && a < candidate.t + histogram.interval_ms);
      if (bucket) onRange(bucket.t, bucket.t + histogram.interval_ms);
    }
  };
  chart.addEventListener("mouseup", finish);
  chart.addEventListener("mouseleave", (event) => { if (start !== null) finish(event); });
  box.append(chart, tooltip);
}

/// A sparkline of `counts` as a small SVG polyline.
export function sparkline(counts, label) {
  const width = 120;
  const height = 24;
  const max = Math.max(...counts, 1);
  const step = counts.length > 1 ? width / (counts.length - 1) : width;
  const points = counts.map((count, index) => `${(index * step).toFixed(1)},${(height - 2 - (count / max) * (height - 4)).toFixed(1)}`);
  const line = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img" });
  line.append(svg("title"));
  line.lastChild.textContent = label;
  line.append(svg("polyline", { points: points.join(" ") }));
  return line;
}
