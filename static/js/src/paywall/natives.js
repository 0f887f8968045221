/**
 * The native built-ins the page script relies on, captured when paywall.js starts (this module
 * is imported first by the entry), and the integrity report over them.
 *
 * The telemetry code calls the captured references, never the globals, so a script that
 * replaces `JSON.stringify`, `WebSocket` or `performance.now` after load cannot rewrite what the
 * SDK sends; and `integrityReport()` names every built-in that was replaced since start-up, or
 * did not look native (`Function.prototype.toString` → `[native code]`) already at start-up,
 * which is what a stealth plugin injected before the page's scripts leaves behind. The names go
 * to the server as `integrity.replaced`; the detector is `detectors/integrity.js`.
 */
import { looksNative, replacedBuiltins } from "./detectors/integrity.js";

const g = globalThis;

/**
 * [name, owner at start-up, key, getter?]. A getter entry watches the accessor on the
 * prototype (what stealth plugins patch to hide `navigator.webdriver` and friends).
 */
function specs() {
  const nav = g.Navigator && g.Navigator.prototype;
  const proto = (name) => g[name] && g[name].prototype;
  const out = [
    ["Function.prototype.toString", Function.prototype, "toString"],
    ["JSON.stringify", g.JSON, "stringify"],
    ["JSON.parse", g.JSON, "parse"],
    ["WebSocket", g, "WebSocket"],
    ["EventTarget.prototype.addEventListener", proto("EventTarget"), "addEventListener"],
    ["Date.now", g.Date, "now"],
    ["Date.prototype.getTimezoneOffset", proto("Date"), "getTimezoneOffset"],
    ["performance.now", g.performance, "now"],
    ["crypto.subtle.digest", g.crypto && g.crypto.subtle, "digest"],
    ["postMessage", g, "postMessage"],
    ["HTMLCanvasElement.prototype.toDataURL", proto("HTMLCanvasElement"), "toDataURL"],
    ["WebGLRenderingContext.prototype.getParameter", proto("WebGLRenderingContext"), "getParameter"],
  ];
  for (const key of ["webdriver", "hardwareConcurrency", "languages", "platform"]) {
    out.push([`Navigator.prototype.${key}`, nav, key, true]);
  }
  return out;
}

function read(owner, key, getter) {
  if (!owner) return undefined;
  try {
    if (getter) {
      const desc = Object.getOwnPropertyDescriptor(owner, key);
      return desc && desc.get;
    }
    return owner[key];
  } catch {
    return undefined;
  }
}

const toString = Function.prototype.toString;
const watched = [];
for (const [name, owner, key, getter] of specs()) {
  const captured = read(owner, key, getter);
  if (captured === undefined) continue; // not in this browser: nothing to watch
  watched.push({ name, owner, key, getter: Boolean(getter), captured, native: null });
}

// Whether a captured built-in looked native is asked of its source text only when the report is
// made (after load, by the telemetry), not at start-up: the captured function and the captured
// `toString` are the same objects then as now, so the answer is the same, and the page's
// start-up does not pay for 16 source-text reads.
function nativeAtStart(entry) {
  if (entry.native === null) entry.native = looksNative(entry.captured, toString);
  return entry.native;
}

function captured(name) {
  const entry = watched.find((w) => w.name === name);
  return entry ? entry.captured : undefined;
}

const apply = Reflect.apply;
const perf = g.performance;
const perfNow = captured("performance.now");
const dateNow = captured("Date.now") || Date.now;
const addListener = captured("EventTarget.prototype.addEventListener");
const removeListener = g.EventTarget && g.EventTarget.prototype.removeEventListener;
const digest = captured("crypto.subtle.digest");
const subtle = g.crypto && g.crypto.subtle;

/** JSON, as it was at start-up. */
export const stringify = captured("JSON.stringify") || JSON.stringify;
export const parseJson = captured("JSON.parse") || JSON.parse;
/** The WebSocket constructor as it was at start-up (undefined where there is none). */
export const NativeWebSocket = captured("WebSocket");

/** Milliseconds since the page started (the time origin), as an integer. */
export function nowMs() {
  const t = perf && perfNow ? apply(perfNow, perf, []) : apply(dateNow, Date, []) - START_EPOCH;
  return Math.round(t);
}
const START_EPOCH = apply(dateNow, Date, []);

/** `target.addEventListener(...)` through the captured method (falls back to the target's own). */
export function listen(target, type, fn, options) {
  if (addListener && g.EventTarget && target instanceof g.EventTarget) apply(addListener, target, [type, fn, options]);
  else target.addEventListener(type, fn, options);
}

export function unlisten(target, type, fn, options) {
  if (removeListener && g.EventTarget && target instanceof g.EventTarget) apply(removeListener, target, [type, fn, options]);
  else target.removeEventListener(type, fn, options);
}

const HEX = "0123456789abcdef";

/** Lowercase hex SHA-256 of a string (UTF-8), with the captured `crypto.subtle.digest`. */
export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const buf = digest && subtle ? await apply(digest, subtle, ["SHA-256", bytes]) : await subtle.digest("SHA-256", bytes);
  let out = "";
  for (const b of new Uint8Array(buf)) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

/**
 * The names of the built-ins replaced since start-up or non-native at start-up
 * (`integrity.replaced`).
 */
export function integrityReport() {
  return replacedBuiltins(
    watched.map((w) => ({ name: w.name, captured: w.captured, current: read(w.owner, w.key, w.getter), native: nativeAtStart(w) })),
  );
}

/** The watched names (tests and docs). */
export function watchedBuiltins() {
  return watched.map((w) => w.name);
}
