/**
 * The registry of telemetry sources and their bounded buffer (docs/sdk-protocol.md,
 * "Telemetry socket").
 *
 * Modelled on FingerprintJS BotD: a *source* collects exactly one signal and nothing else;
 * detectors (pure functions over what the sources collected) live in `detectors/` and on the
 * server. A source is
 *
 *   { name: string, start(emit): (() => void) | void, flush?(): void,
 *     shape?(values: number[], text: (id) => string): unknown }
 *
 * `start` begins collecting and returns a function that stops it; `emit(a, b, …)` records one
 * sample of a few numbers (the source stamps its own time), `emit.amend(…)` replaces the
 * source's last one (coalescing), `emit.text(s)` stands a string in as a number; `shape`, when
 * given, turns a sample's numbers back into what the batch carries (else one number, or the
 * list); `flush`, when given, emits what the source holds back (dwell time) before an unlock. Each source lives in its own module (`telemetry/<name>.js`,
 * its test in `test/paywall/telemetry/`), and `telemetry/sources.js` lists them.
 *
 * The telemetry chunk calls `startTelemetry()` once, after load. Samples go to a bounded ring
 * of records in one Float64Array (oldest dropped first, and counted): an event costs its
 * listener a few reads and one append, no allocation. The telemetry connection reads it with
 * `bufferedTelemetry()` once per batch and trims it with `consumeTelemetry(n)` once sent.
 */

/** The buffer's bound: four default batches (8 s of continuous movement at 60 Hz, and more). */
export const MAX_BUFFERED = 2048;
/** Most numbers one sample holds. */
export const MAX_VALUES = 5;
/** Most distinct strings (article slugs) the samples may name. */
export const MAX_TEXTS = 256;

// The buffer is a ring of fixed-width records in one typed array: [source id, count, values…].
// Recording a sample writes numbers into it and allocates nothing.
const WIDTH = 2 + MAX_VALUES;
const ring = new Float64Array(MAX_BUFFERED * WIDTH);
let head = 0; // the number of the oldest sample kept (samples are numbered from 0, for ever)
let written = 0; // the number the next sample gets
const sourceNames = []; // id → name
const shapes = []; // id → shape(values, text) or null
const texts = [];
const textIds = new Map();

const sources = new Map(); // name → {source, stop}
let started = false;
let dropped = 0; // since the last drainTelemetry()
let droppedTotal = 0;

function put(n, id, count, a, b, c, d, e) {
  const o = (n % MAX_BUFFERED) * WIDTH;
  ring[o] = id;
  ring[o + 1] = count;
  ring[o + 2] = a;
  ring[o + 3] = b;
  ring[o + 4] = c;
  ring[o + 5] = d;
  ring[o + 6] = e;
}

function append(id, count, a, b, c, d, e) {
  if (written - head >= MAX_BUFFERED) {
    head++; // the oldest goes
    dropped++;
    droppedTotal++;
  }
  put(written, id, count, a, b, c, d, e);
  return written++;
}

function textId(text) {
  if (textIds.has(text)) return textIds.get(text);
  if (texts.length >= MAX_TEXTS) return -1;
  textIds.set(text, texts.length);
  texts.push(text);
  return texts.length - 1;
}

const textOf = (id) => (id >= 0 && id < texts.length ? texts[id] : "");

/**
 * The `emit` a source gets: `emit(a, b, …)` records one sample of up to MAX_VALUES numbers;
 * `emit.amend(a, b, …)` replaces this source's last sample while it is still buffered (else
 * records a new one); `emit.text(string)` gives a number that stands for the string in a sample
 * (the source's `shape` turns it back when the batch is built).
 */
function emitterFor(name) {
  let id = sourceNames.indexOf(name);
  if (id < 0) id = sourceNames.push(name) - 1;
  let last = -1;
  function emit(a, b, c, d, e) {
    last = append(id, arguments.length, a, b, c, d, e);
  }
  emit.amend = function amend(a, b, c, d, e) {
    if (last >= head && last < written) put(last, id, arguments.length, a, b, c, d, e);
    else last = append(id, arguments.length, a, b, c, d, e);
  };
  emit.text = textId;
  return { id, emit };
}

/** Sample `n` (absolute) as `{source, data}`: one number, the numbers, or the source's shape. */
function sampleAt(n) {
  const o = (n % MAX_BUFFERED) * WIDTH;
  const id = ring[o];
  const count = ring[o + 1];
  const values = [];
  for (let k = 0; k < count; k++) values.push(ring[o + 2 + k]);
  const shape = shapes[id];
  const data = shape ? shape(values, textOf) : count === 1 ? values[0] : values;
  return { source: sourceNames[id], data };
}

function startSource(entry) {
  try {
    const { id, emit } = emitterFor(entry.source.name);
    shapes[id] = typeof entry.source.shape === "function" ? entry.source.shape : null;
    const stop = entry.source.start(emit);
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
  const samples = bufferedTelemetry();
  head = written;
  const lost = dropped;
  dropped = 0;
  return { samples, dropped: lost };
}

/**
 * The samples not sent yet, oldest first, as `{source, data}` (made from the typed array when
 * called: the connection calls it once per batch, never per event).
 */
export function bufferedTelemetry() {
  const out = [];
  for (let n = head; n < written; n++) out.push(sampleAt(n));
  return out;
}

/** How many samples are buffered. */
export function bufferedTelemetryCount() {
  return written - head;
}

/** Remove the `n` oldest samples (they went out in a batch). */
export function consumeTelemetry(n) {
  head = Math.min(written, head + Math.max(0, n));
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
