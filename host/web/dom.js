// What every view of the page shares: building elements (values always inserted as text,
// never as HTML), calling the API with the user's token, the error line, and times shown in
// the zone the user chose (UTC unless they chose their browser's).

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export const session = {
  token: localStorage.getItem("opsloop-token") || "",
  // "utc" or "local"
  zone: localStorage.getItem("opsloop-zone") === "local" ? "local" : "utc",
  // What the token may do, from /api/whoami.
  may: { read: false, ingest: false, admin: false },
};

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

export const svg = (tag, attributes = {}) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
};

export function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

/// An API error: the server's code and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${session.token}`, ...(options.headers || {}) },
  });
  if (!response.ok) {
    let code = String(response.status);
    let message = response.statusText;
    try {
      const body = await response.json();
      code = body.error.code;
      message = body.error.message;
    } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, code, message);
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

// ---- time, in the chosen zone -------------------------------------------------------------

const pad = (number, width = 2) => String(number).padStart(width, "0");

/// The parts of an instant in the chosen zone.
function parts(ms) {
  const date = new Date(ms);
  if (session.zone === "utc") {
    return { y: date.getUTCFullYear(), mo: date.getUTCMonth() + 1, d: date.getUTCDate(), h: date.getUTCHours(), mi: date.getUTCMinutes(), s: date.getUTCSeconds(), ms: date.getUTCMilliseconds() };
  }
  return { y: date.getFullYear(), mo: date.getMonth() + 1, d: date.getDate(), h: date.getHours(), mi: date.getMinutes(), s: date.getSeconds(), ms: date.getMilliseconds() };
}

export function zoneName() {
  if (session.zone === "utc") return "UTC";
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

/// `2026-12-06 03:01:00.250` in the chosen zone (milliseconds only when there are some).
export function formatTime(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  const p = parts(ms);
  const fraction = p.ms ? `.${pad(p.ms, 3)}` : "";
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${fraction}`;
}

/// A short label for an axis tick `step` ms wide.
export function tickLabel(ms, step) {
  const p = parts(ms);
  if (step >= 86_400_000) return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
  if (p.h === 0 && p.mi === 0 && p.s === 0) return `${pad(p.mo)}-${pad(p.d)}`;
  if (step >= 60_000) return `${pad(p.h)}:${pad(p.mi)}`;
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/// The value of a `datetime-local` input for an instant, in the chosen zone.
export function inputValue(ms) {
  const p = parts(ms);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/// The instant a `datetime-local` input's value names, in the chosen zone.
export function fromInput(value) {
  if (!value) return null;
  const ms = session.zone === "utc" ? Date.parse(`${value}Z`) : new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

/// A zone offset in ms at `ms` (0 in UTC): what axis ticks are aligned to.
export function zoneOffset(ms) {
  return session.zone === "utc" ? 0 : -new Date(ms).getTimezoneOffset() * 60_000;
}

/// "3 s", "2 h 5 min": a duration for people.
export function duration(ms) {
  const units = [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000]];
  const out = [];
  let rest = Math.abs(ms);
  for (const [name, size] of units) {
    if (rest >= size && out.length < 2) {
      out.push(`${Math.floor(rest / size)} ${name}`);
      rest %= size;
    }
  }
  return out.length ? out.join(" ") : `${Math.round(ms)} ms`;
}

/// Makes a list's entries reachable by keyboard: each entry focusable, Enter runs `open`.
export function focusable(node, open) {
  node.tabIndex = 0;
  node.classList.add("entry");
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === node) {
      event.preventDefault();
      open(event);
    }
  });
  return node;
}
