/**
 * The registry of telemetry sources and their bounded buffer (docs/sdk-protocol.md,
 * "Telemetry socket").
 *
 * Modelled on FingerprintJS BotD: a *source* collects exactly one signal and nothing else;
 * detectors (pure functions over what the sources collected) live in `detectors/` and on the
 * server. A source is
 *
 *   { name: string, start(emit: (data) => void): (() => void) | void, flush?(): void }
 *
 * `start` begins collecting and returns a function that stops it; `emit` records one sample
 * (the source stamps its own time); `flush`, when given, emits what the source holds back
 * (dwell time) before an unlock. Each source lives in its own module (`telemetry/<name>.js`,
 * its test in `test/paywall/telemetry/`), and `telemetry/sources.js` lists them.
 *
 * The page script calls `startTelemetry()` once at start. Samples go to a bounded buffer
 * (oldest dropped first, and counted) that the telemetry connection reads with
 * `bufferedTelemetry()` and trims with `consumeTelemetry(n)` once a batch is sent.
 */

/** The buffer's bound: four default batches (8 s of continuous movement at 60 Hz, and more). */
export const MAX_BUFFERED = 2048;

const sources = new Map(); // name → {source, stop}
const buffer = [];
let started = false;
let dropped = 0; // since the last drainTelemetry()
let droppedTotal = 0;

function emitterFor(name) {
  return (data) => {
    if (buffer.length >= MAX_BUFFERED) {
      buffer.shift();
      dropped++;
      droppedTotal++;
    }
    buffer.push({ source: name, data });
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
export function startTelemetry() {
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

/** The samples not sent yet, oldest first (the live buffer: read it, do not change it). */
export function bufferedTelemetry() {
  return buffer;
}

/** Remove the `n` oldest samples (they went out in a batch). */
export function consumeTelemetry(n) {
  buffer.splice(0, n);
}

/** How many samples were dropped because the buffer was full, since the page started. */
export function droppedTelemetry() {
  return droppedTotal;
}

/** Ask each running source to emit what it holds back (before an unlock). */
export function flushTelemetrySources() {
  for (const entry of sources.values()) {
    try {
      if (typeof entry.source.flush === "function") entry.source.flush();
    } catch {
      /* a failing source never breaks the page */
    }
  }
}

export function telemetrySources() {
  return [...sources.keys()];
}
