/**
 * The postMessage protocol between the page script and the signer frame
 * (docs/sdk-protocol.md, "postMessage protocol").
 *
 * Every message is an object `{dg: 1, type, ...}`. The page sends requests with an `id`; the
 * frame answers each with a `reply` carrying the same id, and sends events (`show`, `hide`,
 * `channel`) on its own. Both sides parse what they receive with the functions below, which
 * return a clean copy holding only the known fields, or null for anything else: an unknown
 * message is dropped, never half-understood.
 */

export const PROTOCOL_VERSION = 1;

/** Requests the page may send, each with the fields it carries. */
export const REQUESTS = /* @__PURE__ */ Object.freeze({
  hello: [],
  unlock: ["article", "telemetrySession"],
  restore: ["articles"],
  status: [],
  setCap: [],
  topUp: [],
  closeChannel: [],
  rotateClaimKey: [],
  probe: [],
  dispute: ["article", "reason", "message"],
});

/** Request fields that may be left out. */
const OPTIONAL = new Set(["telemetrySession", "reason", "message"]);

/** The reasons a reader may give for a dispute (issue 11). */
export const DISPUTE_REASONS = /* @__PURE__ */ Object.freeze(["not_delivered", "charged_twice", "not_as_described", "accidental", "unauthorized"]);
/** The longest dispute message, in characters (code points, as the server counts). */
export const MAX_DISPUTE_MESSAGE = 2000;

// UTF-16 units: at most twice the code points the server counts (the frame counts exactly).
const isDisputeMessage = (value) => typeof value === "string" && value.length <= 2 * MAX_DISPUTE_MESSAGE;

/** Events the frame may send. */
export const EVENTS = /* @__PURE__ */ Object.freeze(["show", "hide", "channel"]);

/** The frame's own error codes (the server's codes are passed through unchanged). */
export const FRAME_ERRORS = /* @__PURE__ */ Object.freeze([
  "cap_exceeded",
  "cancelled",
  "not_embedded",
  "origin_not_allowed",
  "network_error",
  "channel_exhausted",
]);

const SLUG_RE = /^[-a-zA-Z0-9_]{1,200}$/;
/** Most articles one `restore` request may name (the server's limit). */
export const MAX_RESTORE_ARTICLES = 100;
const CODE_RE = /^[a-z0-9_]{1,64}$/;
const STRING_ID_RE = /^[-\w]{1,64}$/;
/** A telemetry session id, as the telemetry socket's hello gives it. */
export const TELEMETRY_SESSION_RE = /^tls_[A-Za-z0-9_-]{22,64}$/;
const CHALLENGE_ID_RE = /^chl_[A-Za-z0-9_-]{1,64}$/;

export function isSlug(value) {
  return typeof value === "string" && SLUG_RE.test(value);
}

/** 1 to MAX_RESTORE_ARTICLES distinct slugs. */
export function isSlugList(value) {
  return (
    Array.isArray(value) &&
    value.length >= 1 &&
    value.length <= MAX_RESTORE_ARTICLES &&
    value.every(isSlug) &&
    new Set(value).size === value.length
  );
}

function isId(value) {
  return (
    (Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === "string" && STRING_ID_RE.test(value))
  );
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// --- building ---------------------------------------------------------------------------------

export function makeRequest(type, id, fields = {}) {
  const names = REQUESTS[type];
  if (!names) throw new TypeError(`unknown request type ${type}`);
  if (!isId(id)) throw new TypeError("bad request id");
  const msg = { dg: PROTOCOL_VERSION, type, id };
  for (const name of names) {
    if (fields[name] !== undefined && fields[name] !== null) msg[name] = fields[name];
  }
  if (!parseRequest(msg)) throw new TypeError(`invalid ${type} request`);
  return msg;
}

export function makeReply(id, result) {
  return { dg: PROTOCOL_VERSION, type: "reply", id, ok: true, result: result ?? null };
}

export function makeErrorReply(id, code, message, details) {
  const error = { code: CODE_RE.test(code) ? code : "internal_error", message: String(message || "") };
  const kept = errorDetails(details);
  if (kept) error.details = kept;
  return { dg: PROTOCOL_VERSION, type: "reply", id, ok: false, error };
}

/**
 * The error details that cross to the page, checked, or null: a challenge
 * (`{id, kind, hold_ms}` of a `risk_challenge`) and `retry_after` (seconds, of a
 * `velocity_limited`). Nothing else of the server's error does.
 */
export function errorDetails(details) {
  if (!isObject(details)) return null;
  const out = {};
  const c = details.challenge;
  if (
    isObject(c) &&
    typeof c.id === "string" &&
    CHALLENGE_ID_RE.test(c.id) &&
    typeof c.kind === "string" &&
    CODE_RE.test(c.kind) &&
    Number.isSafeInteger(c.hold_ms) &&
    c.hold_ms > 0 &&
    c.hold_ms <= 60_000
  ) {
    out.challenge = { id: c.id, kind: c.kind, hold_ms: c.hold_ms };
  }
  if (Number.isSafeInteger(details.retry_after) && details.retry_after >= 0) out.retry_after = details.retry_after;
  return Object.keys(out).length ? out : null;
}

export function makeEvent(type, fields = {}) {
  if (!EVENTS.includes(type)) throw new TypeError(`unknown event type ${type}`);
  return type === "channel"
    ? { dg: PROTOCOL_VERSION, type, channel: fields.channel ?? null }
    : { dg: PROTOCOL_VERSION, type };
}

// --- parsing ----------------------------------------------------------------------------------

/** A page → frame request, or null. */
export function parseRequest(data) {
  if (!isObject(data) || data.dg !== PROTOCOL_VERSION) return null;
  const names = Object.hasOwn(REQUESTS, data.type) ? REQUESTS[data.type] : null;
  if (!names || !isId(data.id)) return null;
  const msg = { type: data.type, id: data.id };
  for (const name of names) {
    if (OPTIONAL.has(name) && (data[name] === undefined || data[name] === null)) continue;
    if (name === "article" && !isSlug(data.article)) return null;
    if (name === "articles" && !isSlugList(data.articles)) return null;
    if (name === "telemetrySession" && !(typeof data[name] === "string" && TELEMETRY_SESSION_RE.test(data[name]))) {
      return null;
    }
    if (name === "reason" && !DISPUTE_REASONS.includes(data.reason)) return null;
    if (name === "message" && !isDisputeMessage(data.message)) return null;
    msg[name] = name === "articles" ? [...data.articles] : data[name];
  }
  return msg;
}

/** A frame → page reply or event, or null. */
export function parseFrameMessage(data) {
  if (!isObject(data) || data.dg !== PROTOCOL_VERSION) return null;
  if (data.type === "reply") {
    if (!isId(data.id) || typeof data.ok !== "boolean") return null;
    if (data.ok) return { type: "reply", id: data.id, ok: true, result: data.result ?? null };
    const err = data.error;
    if (!isObject(err) || typeof err.code !== "string" || !CODE_RE.test(err.code)) return null;
    const error = { code: err.code, message: typeof err.message === "string" ? err.message : "" };
    const details = errorDetails(err.details);
    if (details) error.details = details;
    return { type: "reply", id: data.id, ok: false, error };
  }
  if (data.type === "show" || data.type === "hide") return { type: data.type };
  if (data.type === "channel") {
    return isObject(data.channel) || data.channel === null
      ? { type: "channel", channel: data.channel }
      : null;
  }
  return null;
}

// --- origins ----------------------------------------------------------------------------------

/** The origin of an absolute URL, or null (also for opaque origins such as `data:`). */
export function originOf(url) {
  try {
    const origin = new URL(url).origin;
    return origin && origin !== "null" ? origin : null;
  } catch {
    return null;
  }
}

/** Exact, case-sensitive match of a serialised origin against a list; "null" never matches. */
export function isAllowedOrigin(origin, allowed) {
  return (
    typeof origin === "string" &&
    origin !== "null" &&
    origin !== "" &&
    Array.isArray(allowed) &&
    allowed.includes(origin)
  );
}

/**
 * Frame side: the request in a MessageEvent, if it comes from the embedding window and an
 * allowed origin. Returns `{request}` to act on, `{refused: request}` for a well-formed request
 * from an origin that is not allowed (to answer with `origin_not_allowed`), or null to drop.
 */
export function acceptFromPage(event, { parent, allowedOrigins }) {
  if (!event || event.source !== parent) return null;
  const request = parseRequest(event.data);
  if (!request) return null;
  return isAllowedOrigin(event.origin, allowedOrigins) ? { request } : { refused: request };
}

/** Page side: the reply or event in a MessageEvent, if it comes from our frame and origin. */
export function acceptFromFrame(event, { frameWindow, paywallOrigin }) {
  if (!event || !frameWindow || event.source !== frameWindow) return null;
  if (event.origin !== paywallOrigin) return null;
  return parseFrameMessage(event.data);
}
