/**
 * The telemetry socket of the page script: `ws(s)://<paywall host>/ws/telemetry/?publisher=…`
 * (docs/sdk-protocol.md, "Telemetry socket").
 *
 * - The server's first frame is `hello` with the session id and the limits; the session is
 *   kept for the page's lifetime and named again (`&session=`) when reconnecting.
 * - Batches go out at most once per `min_interval_ms` (every FLUSH_EVERY_MS when there is
 *   something to send), each within `max_events` and `max_batch_bytes`; the first batch of a
 *   connection carries the fingerprint (it waits up to FINGERPRINT_WAIT_MS for it) and, when
 *   any built-in was replaced, `integrity`. The server acks each batch.
 * - Close 4403 (origin or publisher refused) ends telemetry for the page; 4413 halves the
 *   batch size, 4429 doubles the interval, 4400 three times ends it; anything else reconnects
 *   with backoff and jitter, up to `maxReconnects` times in a row (then a flush or a challenge
 *   tries again).
 * - `flush()` (before an unlock) sends what is buffered at once and waits for the ack;
 *   `challenge()` sends a challenge trace and waits for its `challenge.result`.
 *
 * Nothing here throws into the publisher's page: every handler is guarded, and the promises
 * it returns resolve (false/null on failure), never reject.
 */
import { backoffDelay } from "../../frame/transport.js";
import { NativeWebSocket, integrityReport, nowMs, parseJson, stringify } from "../natives.js";
import { bufferedTelemetry, consumeTelemetry } from "../telemetry.js";
import { createBatcher } from "./batch.js";

export const CLOSE_CODES = Object.freeze({ malformed: 4400, origin: 4403, oversize: 4413, tooFast: 4429 });
export const DEFAULT_LIMITS = Object.freeze({ maxBytes: 16384, maxEvents: 512, minIntervalMs: 250 });
export const FLUSH_EVERY_MS = 1000;
export const FINGERPRINT_WAIT_MS = 5000;
const SESSION_RE = /^tls_[A-Za-z0-9_-]{22,64}$/;
const CHALLENGE_ID_RE = /^chl_[A-Za-z0-9_-]{1,64}$/;

function clampInt(value, low, high, fallback) {
  return Number.isSafeInteger(value) && value >= low && value <= high ? value : fallback;
}

/** The socket URL for a paywall origin ("https://pay.example") and publisher. */
export function telemetryUrl(origin, publisher) {
  return `${origin.replace(/^http/, "ws")}/ws/telemetry/?publisher=${encodeURIComponent(publisher)}`;
}

/** A `hello` frame, checked, as `{session, maxBytes, maxEvents, minIntervalMs}`, or null. */
export function parseHello(msg) {
  if (!msg || msg.type !== "hello" || typeof msg.session !== "string" || !SESSION_RE.test(msg.session)) return null;
  return {
    session: msg.session,
    maxBytes: clampInt(msg.max_batch_bytes, 256, 1 << 20, DEFAULT_LIMITS.maxBytes),
    maxEvents: clampInt(msg.max_events, 1, 100_000, DEFAULT_LIMITS.maxEvents),
    minIntervalMs: clampInt(msg.min_interval_ms, 0, 60_000, DEFAULT_LIMITS.minIntervalMs),
  };
}

/**
 * @param {object} options
 * @param {string} options.url  from telemetryUrl()
 * @param {() => object|null} [options.fingerprint]  the fingerprint once computed, else null
 */
export function createTelemetryConnection({
  url,
  fingerprint = () => null,
  integrity = integrityReport,
  samples = bufferedTelemetry,
  consume = consumeTelemetry,
  WebSocket: Socket = NativeWebSocket,
  setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
  now = nowMs,
  random = Math.random,
  flushEveryMs = FLUSH_EVERY_MS,
  fingerprintWaitMs = FINGERPRINT_WAIT_MS,
  maxReconnects = 10,
  backoff = { baseMs: 1000, maxMs: 60_000 },
} = {}) {
  const batcher = createBatcher();
  let state = Socket ? "idle" : "disabled"; // idle | connecting | open | disabled
  let socket = null;
  let session = null;
  let limits = { ...DEFAULT_LIMITS };
  let bytesFactor = 1; // halved by each 4413
  let intervalFactor = 1; // doubled by each 4429
  let malformed = 0;
  let failures = 0;
  let timer = null; // reconnect or periodic send
  let helloAt = 0;
  let lastSendAt = -Infinity;
  let lastSentSeq = -1;
  let ackedSeq = -1;
  let fingerprintSent = false;
  let integritySent = "";
  let openWaiters = [];
  let ackWaiters = [];
  const challenges = new Map(); // id → resolve(passed)

  const maxBytes = () => Math.max(256, Math.floor(limits.maxBytes * bytesFactor));
  const minInterval = () => limits.minIntervalMs * intervalFactor;
  const sleep = (ms) => new Promise((resolve) => setTimer(resolve, Math.max(0, ms)));

  function guard(fn) {
    return (...args) => {
      try {
        return fn(...args);
      } catch {
        return undefined; // never into the publisher's page
      }
    };
  }

  function settleOpen(ok) {
    const waiters = openWaiters;
    openWaiters = [];
    for (const resolve of waiters) resolve(ok);
  }

  function settleAcks(all) {
    const keep = [];
    for (const w of ackWaiters) {
      if (all || w.seq <= ackedSeq) w.resolve(!all);
      else keep.push(w);
    }
    ackWaiters = keep;
  }

  function waitOpen(ms) {
    if (state === "open") return Promise.resolve(true);
    if (state === "disabled") return Promise.resolve(false);
    if (state === "idle") connect();
    return new Promise((resolve) => {
      openWaiters.push(resolve);
      setTimer(() => resolve(false), ms);
    });
  }

  function schedule(fn, ms) {
    if (timer !== null) clearTimer(timer);
    timer = setTimer(() => {
      timer = null;
      fn();
    }, ms);
  }

  const tick = guard(() => {
    if (state !== "open") return;
    send(false);
    schedule(tick, Math.max(flushEveryMs, minInterval()));
  });

  /** Send one batch if the interval allows and there is something to send. */
  function send(force) {
    if (state !== "open" || !socket) return false;
    if (now() - lastSendAt < minInterval()) return false;
    const extra = {};
    if (!fingerprintSent) {
      const fp = fingerprint();
      if (fp) extra.fingerprint = fp;
      else if (!force && now() - helloAt < fingerprintWaitMs) return false; // the first batch waits for it
    }
    const replaced = integrity();
    const key = replaced.join(",");
    if (replaced.length > 0 && key !== integritySent) extra.integrity = { replaced };
    const buffered = samples();
    const limit = { maxEvents: limits.maxEvents, maxBytes: maxBytes() };
    let batch = batcher.build(buffered, { ...limit, extra });
    if (!batch && (extra.fingerprint || extra.integrity)) batch = batcher.build(buffered, limit);
    if (!batch) return false;
    try {
      socket.send(batch.text);
    } catch {
      return false;
    }
    batch.commit();
    consume(batch.taken);
    lastSendAt = now();
    lastSentSeq = batch.seq;
    if (batch.text.includes('"fingerprint":')) fingerprintSent = true;
    if (extra.integrity && batch.text.includes('"integrity":')) integritySent = key;
    return true;
  }

  function onHello(hello) {
    session = hello.session;
    limits = { maxBytes: hello.maxBytes, maxEvents: hello.maxEvents, minIntervalMs: hello.minIntervalMs };
    state = "open";
    failures = 0;
    helloAt = now();
    batcher.resetSeq();
    lastSentSeq = -1;
    ackedSeq = -1;
    lastSendAt = -Infinity;
    fingerprintSent = false; // "in the batch after hello (and on resume)"
    integritySent = "";
    settleOpen(true);
    schedule(tick, 0);
  }

  const onMessage = guard((event) => {
    if (typeof event.data !== "string" || event.data.length > 65536) return;
    let msg;
    try {
      msg = parseJson(event.data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "hello" && state === "connecting") {
      const hello = parseHello(msg);
      if (hello) onHello(hello);
    } else if (msg.type === "ack" && Number.isSafeInteger(msg.seq)) {
      if (msg.seq > ackedSeq) ackedSeq = msg.seq;
      settleAcks(false);
    } else if (msg.type === "challenge.result" && typeof msg.id === "string" && challenges.has(msg.id)) {
      const resolve = challenges.get(msg.id);
      challenges.delete(msg.id);
      resolve(msg.passed === true);
    }
  });

  function onClose(ws, code) {
    if (socket !== ws) return;
    socket = null;
    settleAcks(true);
    for (const resolve of challenges.values()) resolve(false);
    challenges.clear();
    if (code === CLOSE_CODES.origin || (code === CLOSE_CODES.malformed && ++malformed >= 3)) {
      state = "disabled";
      settleOpen(false);
      if (timer !== null) clearTimer(timer);
      timer = null;
      return;
    }
    if (code === CLOSE_CODES.oversize) bytesFactor = Math.max(bytesFactor / 2, 1 / 16);
    if (code === CLOSE_CODES.tooFast) intervalFactor = Math.min(intervalFactor * 2, 16);
    state = "idle";
    failures++;
    if (timer !== null) clearTimer(timer);
    timer = null;
    if (failures <= maxReconnects) schedule(connect, backoffDelay(failures - 1, { ...backoff, random }));
  }

  const connect = guard(() => {
    if (state !== "idle") return;
    state = "connecting";
    let ws;
    try {
      ws = new Socket(session ? `${url}&session=${encodeURIComponent(session)}` : url);
    } catch {
      state = "idle";
      failures++;
      if (failures <= maxReconnects) schedule(connect, backoffDelay(failures - 1, { ...backoff, random }));
      return;
    }
    socket = ws;
    ws.onmessage = onMessage;
    ws.onerror = () => undefined; // onclose follows
    ws.onclose = guard((event) => onClose(ws, event ? event.code : 0));
  });

  async function flushImpl(timeoutMs) {
    const deadline = now() + timeoutMs;
    if (!(await waitOpen(timeoutMs))) return false;
    let rounds = Math.ceil(samples().length / Math.max(1, limits.maxEvents)) + 1;
    while (rounds-- > 0 && (samples().length > 0 || (!fingerprintSent && fingerprint()))) {
      const wait = lastSendAt + minInterval() - now();
      if (wait > 0) {
        if (now() + wait > deadline) return false;
        await sleep(wait);
      }
      if (!send(true)) break;
    }
    if (lastSentSeq < 0 || ackedSeq >= lastSentSeq) return true;
    const seq = lastSentSeq;
    return new Promise((resolve) => {
      ackWaiters.push({ seq, resolve });
      setTimer(() => resolve(false), Math.max(0, deadline - now()));
    });
  }

  async function challengeImpl(id, events, timeoutMs) {
    if (typeof id !== "string" || !CHALLENGE_ID_RE.test(id)) return false;
    const deadline = now() + timeoutMs;
    if (!(await waitOpen(timeoutMs))) return false;
    const wait = lastSendAt + minInterval() - now();
    if (wait > 0) await sleep(wait);
    // At most MAX_TRACE_EVENTS (challenge.js) short arrays: well within max_batch_bytes.
    const text = stringify({ type: "challenge", id, events });
    if (state !== "open" || !socket) return false;
    const result = new Promise((resolve) => {
      challenges.set(id, resolve);
      setTimer(() => {
        challenges.delete(id);
        resolve(false);
      }, Math.max(0, deadline - now()));
    });
    try {
      socket.send(text);
    } catch {
      challenges.delete(id);
      return false;
    }
    lastSendAt = now();
    return result;
  }

  return {
    /** Open the socket (idempotent). */
    start: () => connect(),
    get state() {
      return state;
    },
    /** The telemetry session id from the server's hello, or null before it. */
    get session() {
      return session;
    },
    /** The limits in force: the server's, reduced after a 4413 or 4429. */
    get limits() {
      return { maxEvents: limits.maxEvents, maxBytes: maxBytes(), minIntervalMs: minInterval() };
    },
    /** Send what is buffered now and wait for its ack; false on timeout or no socket. */
    flush(timeoutMs = 1500) {
      return flushImpl(timeoutMs).catch(() => false);
    },
    /** Send a challenge trace; resolves with `passed` from `challenge.result`, false on timeout. */
    challenge(id, events, timeoutMs = 10_000) {
      return challengeImpl(id, events, timeoutMs).catch(() => false);
    },
    /** A last batch, at once if the interval allows (page hide). */
    sendNow: guard(() => send(true)),
    close: guard(() => {
      state = "disabled";
      if (timer !== null) clearTimer(timer);
      timer = null;
      const ws = socket;
      socket = null;
      settleOpen(false);
      settleAcks(true);
      if (ws) ws.close(1000);
    }),
  };
}
