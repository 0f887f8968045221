/**
 * How the frame sends unlocks: the reader websocket (/ws/reader/) when it is up, else
 * POST /api/v1/unlocks (docs/sdk-protocol.md, "Reader websocket").
 *
 * - Socket: first frame `{type: "auth", publisher, token}` → `{type: "ready"}`; then
 *   `{type: "unlock", id, article, claim?, idempotency_key?, telemetry_session?, evidence?}` →
 *   `{type: "unlock.result", id, ...}` or
 *   `{type: "error", id, status, error}`. Close 4401 (bad token), 4403 (origin) and 4413
 *   (oversize) are not healed by reconnecting: the socket stays off and HTTP reports the error.
 * - Any other loss reconnects with exponential backoff and jitter (`backoffDelay`), and the
 *   requests in flight fall back to HTTP.
 * - HTTP retries network errors, 503 and 429 (within `maxRetryAfterMs`) with the same backoff.
 *   An unlock is safe to repeat: a paid article re-enters at 0 and the Idempotency-Key makes
 *   the repeat of a claim answer with the first result.
 */
import { SdkError } from "./errors.js";

/** Exponential backoff with "equal jitter": half fixed, half random, capped at maxMs. */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30_000, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const FATAL_CLOSE_CODES = new Set([4401, 4403, 4413]);

function timeoutError(what) {
  return new SdkError("network_error", `The reader connection timed out (${what}).`, {
    details: { timeout: true },
  });
}

/**
 * @param {object} options
 * @param {string|null} options.wsUrl           ws(s)://…/ws/reader/, or null for HTTP only
 * @param {string} options.publisher
 * @param {{post: Function}} options.api        frame/api.js client
 * @param {() => Promise<string|null>} options.getToken
 */
export function createTransport({
  wsUrl,
  publisher,
  api,
  getToken,
  WebSocket: WebSocketImpl = globalThis.WebSocket,
  setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
  random = Math.random,
  connectTimeoutMs = 3_000,
  requestTimeoutMs = 20_000,
  httpAttempts = 3,
  maxRetryAfterMs = 5_000,
  backoff = { baseMs: 500, maxMs: 30_000 },
  maxReconnects = 8,
} = {}) {
  let socket = null;
  let state = wsUrl && WebSocketImpl ? "idle" : "disabled"; // idle|connecting|ready|disabled
  let connecting = null; // Promise<boolean> while connecting
  let reconnectTimer = null;
  let failures = 0;
  let nextId = 1;
  let closedByUs = false;
  const inflight = new Map(); // id → {resolve, reject, timer}

  const sleep = (ms) => new Promise((resolve) => setTimer(resolve, ms));

  function failInflight(error) {
    for (const [id, entry] of inflight) {
      clearTimer(entry.timer);
      entry.reject(error);
      inflight.delete(id);
    }
  }

  function scheduleReconnect() {
    if (state === "disabled" || closedByUs || reconnectTimer !== null) return;
    if (failures >= maxReconnects) return; // dormant until the next unlock tries again
    const delay = backoffDelay(failures, { ...backoff, random });
    reconnectTimer = setTimer(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function onMessage(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    const entry = msg.id !== undefined ? inflight.get(msg.id) : undefined;
    if (!entry) return;
    inflight.delete(msg.id);
    clearTimer(entry.timer);
    if (msg.type === "unlock.result") {
      const { type, id, ...body } = msg;
      entry.resolve(body);
    } else if (msg.type === "error") {
      const err = msg.error && typeof msg.error === "object" ? msg.error : {};
      const { code, message, ...details } = err;
      entry.reject(
        new SdkError(typeof code === "string" ? code : "request_error", message || "The request was refused.", {
          status: Number(msg.status) || 0,
          details,
        }),
      );
    } else {
      entry.reject(new SdkError("bad_response", "The reader connection sent an unexpected answer."));
    }
  }

  /** Open and authenticate the socket. Resolves true when ready, false when it is not usable. */
  function connect() {
    if (state === "disabled") return Promise.resolve(false);
    if (state === "ready") return Promise.resolve(true);
    if (connecting) return connecting;
    closedByUs = false;
    state = "connecting";
    connecting = (async () => {
      const token = await getToken();
      if (!token) {
        state = "idle";
        return false;
      }
      return new Promise((resolve) => {
        let settled = false;
        let timer = null;
        const settle = (ok) => {
          if (settled) return;
          settled = true;
          if (timer !== null) clearTimer(timer);
          resolve(ok);
        };
        let ws;
        try {
          ws = new WebSocketImpl(wsUrl);
        } catch {
          state = "idle";
          failures++;
          scheduleReconnect();
          settle(false);
          return;
        }
        socket = ws;
        timer = setTimer(() => {
          try {
            ws.close();
          } catch {
            /* already closing */
          }
          onClose({ code: 0 });
        }, connectTimeoutMs);
        ws.onopen = () => {
          ws.send(JSON.stringify({ type: "auth", publisher, token }));
        };
        ws.onmessage = (event) => {
          if (state === "connecting") {
            let msg = null;
            try {
              msg = JSON.parse(event.data);
            } catch {
              /* ignored below */
            }
            if (msg && msg.type === "ready") {
              state = "ready";
              failures = 0;
              settle(true);
            }
            return;
          }
          onMessage(event.data);
        };
        ws.onerror = () => {
          /* onclose follows and decides */
        };
        ws.onclose = (event) => onClose(event);

        function onClose(event) {
          if (socket !== ws) return;
          socket = null;
          const code = event && event.code;
          failInflight(new SdkError("network_error", "The reader connection was lost."));
          if (FATAL_CLOSE_CODES.has(code)) {
            state = "disabled";
          } else {
            state = "idle";
            if (!closedByUs) {
              failures++;
              scheduleReconnect();
            }
          }
          settle(false);
        }
      });
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  function sendOverSocket(article, claim, idempotencyKey, telemetrySession, evidence) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimer(() => {
        inflight.delete(id);
        reject(timeoutError("unlock"));
      }, requestTimeoutMs);
      inflight.set(id, { resolve, reject, timer });
      const msg = { type: "unlock", id, article };
      if (claim) msg.claim = claim;
      if (idempotencyKey) msg.idempotency_key = idempotencyKey;
      // Always named, "" when the page has none: the server tells a reader whose page sent
      // no telemetry apart from an agent paying over plain HTTP (which names none).
      msg.telemetry_session = telemetrySession || "";
      if (evidence) msg.evidence = evidence;
      try {
        socket.send(JSON.stringify(msg));
      } catch {
        clearTimer(timer);
        inflight.delete(id);
        reject(new SdkError("network_error", "The reader connection could not send."));
      }
    });
  }

  async function sendOverHttp(article, claim, idempotencyKey, telemetrySession, evidence) {
    const body = { publisher, article };
    if (claim) body.claim = claim;
    body.telemetry_session = telemetrySession || "";
    if (evidence) body.evidence = evidence;
    const headers = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
    for (let attempt = 0; ; attempt++) {
      try {
        return await api.post("unlocks", body, { auth: "reader", headers });
      } catch (err) {
        const last = attempt + 1 >= httpAttempts;
        if (last || !(err instanceof SdkError)) throw err;
        let delay;
        if (err.code === "network_error") {
          delay = backoffDelay(attempt, { ...backoff, random });
        } else if (err.status === 503 || err.status === 429) {
          const hinted = err.retryAfter === null ? null : err.retryAfter * 1000;
          if (hinted !== null && hinted > maxRetryAfterMs) throw err;
          delay = hinted ?? backoffDelay(attempt, { ...backoff, random });
        } else {
          throw err;
        }
        await sleep(delay);
      }
    }
  }

  return {
    get state() {
      return state;
    },
    connect,

    /**
     * One unlock request. Resolves with the body of a 2xx POST /api/v1/unlocks (or the same
     * over the socket); rejects with SdkError (402 `payment_required` carries the price in
     * `details`). `evidence` (compliance: time zone, languages, declared country) goes along.
     */
    async unlock({ article, claim = null, idempotencyKey = null, telemetrySession = null, evidence = null }) {
      if (state === "idle" && failures >= maxReconnects) failures = maxReconnects - 1;
      if (state === "idle" && !connecting) connect(); // in the background; HTTP serves now
      if (state === "connecting" && connecting) await connecting;
      if (state === "ready" && socket) {
        try {
          return await sendOverSocket(article, claim, idempotencyKey, telemetrySession, evidence);
        } catch (err) {
          if (!(err instanceof SdkError) || err.code !== "network_error") throw err;
          // Lost or timed out: HTTP repeats it, which is safe (see above).
        }
      }
      return sendOverHttp(article, claim, idempotencyKey, telemetrySession, evidence);
    },

    close() {
      closedByUs = true;
      if (reconnectTimer !== null) clearTimer(reconnectTimer);
      reconnectTimer = null;
      failInflight(new SdkError("network_error", "The reader connection was closed."));
      if (socket) {
        const ws = socket;
        socket = null;
        try {
          ws.close(1000);
        } catch {
          /* already closed */
        }
      }
      if (state !== "disabled") state = "idle";
    },
  };
}
