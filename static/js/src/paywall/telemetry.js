/**
 * Telemetry sources: the extension point for the fraud work (bot scoring).
 *
 * Modelled on FingerprintJS BotD: a *source* collects exactly one signal and nothing else;
 * detectors (pure functions over what the sources collected) live on the server. A source is
 *
 *   { name: string, start(emit: (data) => void): (() => void) | void }
 *
 * `start` begins collecting and returns a function that stops it; `emit` records one sample.
 * Each source lives in its own module (`paywall/telemetry/<name>.js`, with its test beside it)
 * and is registered with `registerTelemetrySource(source)` from this module's callers.
 *
 * The page script calls `startTelemetry()` once at start. Samples go to a bounded buffer that
 * the telemetry transport (the fraud websocket, not built yet) drains with `drainTelemetry()`.
 * Today no source is registered, so nothing is collected: this module is the registry and
 * its lifecycle, not a signal.
 */

const MAX_BUFFERED = 512;

const sources = new Map(); // name → {source, stop}
const buffer = [];
let started = false;
let dropped = 0;
let now = () => Date.now();

function emitterFor(name) {
  return (data) => {
    if (buffer.length >= MAX_BUFFERED) {
      buffer.shift();
      dropped++;
    }
    buffer.push({ source: name, t: now(), data });
  };
}

function startSource(entry) {
  try {
    const stop = entry.source.start(emitterFor(entry.source.name));
    entry.stop = typeof stop === "function" ? stop : null;
  } catch {
    // A failing source must never break the paywall; it simply collects nothing.
    entry.stop = null;
  }
}

/**
 * Add a source. Started at once if telemetry is already running. Returns an unregister
 * function that also stops it.
 */
export function registerTelemetrySource(source) {
  if (!source || typeof source.name !== "string" || !source.name || typeof source.start !== "function") {
    throw new TypeError("a telemetry source is {name, start(emit)}");
  }
  if (sources.has(source.name)) throw new Error(`telemetry source ${source.name} is registered already`);
  const entry = { source, stop: null };
  sources.set(source.name, entry);
  if (started) startSource(entry);
  return () => {
    if (sources.get(source.name) !== entry) return;
    if (entry.stop) entry.stop();
    sources.delete(source.name);
  };
}

/** Start every registered source (idempotent). Returns the names of the running sources. */
export function startTelemetry({ clock } = {}) {
  if (clock) now = clock;
  if (!started) {
    started = true;
    for (const entry of sources.values()) startSource(entry);
  }
  return [...sources.keys()];
}

/** Stop every source; the buffer is kept for a last drain. */
export function stopTelemetry() {
  for (const entry of sources.values()) {
    if (entry.stop) entry.stop();
    entry.stop = null;
  }
  started = false;
}

/** Take the buffered samples (oldest first) and how many were dropped since the last drain. */
export function drainTelemetry() {
  const samples = buffer.splice(0, buffer.length);
  const lost = dropped;
  dropped = 0;
  return { samples, dropped: lost };
}

export function telemetrySources() {
  return [...sources.keys()];
}
