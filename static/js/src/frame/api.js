/**
 * fetch wrapper for the paywall's HTTP API (/api/v1/).
 *
 * - JSON in, JSON out; `credentials: "omit"` (the API takes bearer credentials only).
 * - Errors become SdkError: the server's envelope `{"error": {"code", "message", ...}}` keeps
 *   its code (extra fields such as a 402's price land in `details`); a 503 without an envelope
 *   is `ledger_unavailable`, a 429 `rate_limited`; an unreachable server or a timeout is
 *   `network_error`.
 * - `auth: "reader"` adds `Authorization: Reader <token>`; `bearer` adds a grant.
 */
import { SdkError } from "./errors.js";

export const DEFAULT_TIMEOUT_MS = 15_000;

function statusCode(status) {
  if (status === 503) return "ledger_unavailable";
  if (status === 429) return "rate_limited";
  if (status === 401) return "not_authenticated";
  if (status === 404) return "not_found";
  return `http_${status}`;
}

function retryAfterSeconds(response) {
  const value = response.headers && response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/**
 * One request. Resolves with the parsed JSON body of a 2xx answer, or rejects with SdkError.
 * @param {typeof fetch} fetchImpl
 * @param {string} url absolute URL
 */
export async function requestJson(
  fetchImpl,
  url,
  { method = "GET", headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS } = {},
) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (controller) controller.abort();
  }, timeoutMs);
  const init = {
    method,
    headers: { Accept: "application/json", ...headers },
    credentials: "omit",
    cache: "no-store",
    signal: controller ? controller.signal : undefined,
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetchImpl(url, init);
  } catch (cause) {
    throw new SdkError(
      "network_error",
      timedOut ? "The paywall service did not answer in time." : "The paywall service could not be reached.",
      { details: { timeout: timedOut }, cause },
    );
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  let parsed = false;
  try {
    const text = await response.text();
    if (text) {
      data = JSON.parse(text);
      parsed = true;
    }
  } catch {
    parsed = false;
  }
  if (response.ok) {
    if (!parsed || typeof data !== "object" || data === null) {
      throw new SdkError("bad_response", "The paywall service sent an unreadable answer.", {
        status: response.status,
      });
    }
    return data;
  }
  const envelope = parsed && data && typeof data.error === "object" ? data.error : null;
  const code =
    envelope && typeof envelope.code === "string" && /^[a-z0-9_]{1,64}$/.test(envelope.code)
      ? envelope.code
      : statusCode(response.status);
  const message =
    envelope && typeof envelope.message === "string"
      ? envelope.message
      : `The paywall service answered ${response.status}.`;
  const details = {};
  if (envelope) {
    for (const [key, value] of Object.entries(envelope)) {
      if (key !== "code" && key !== "message") details[key] = value;
    }
  }
  throw new SdkError(code, message, {
    status: response.status,
    details,
    retryAfter: retryAfterSeconds(response),
  });
}

/**
 * The frame's API client, bound to an API base ("https://pay.example/api/v1/") and the reader.
 * @param {{base: string, fetch?: typeof fetch, getToken?: () => Promise<string|null>}} options
 */
export function createApi({ base, fetch: fetchImpl = globalThis.fetch.bind(globalThis), getToken }) {
  const root = base.endsWith("/") ? base : `${base}/`;

  async function call(method, path, { body, auth, bearer, headers = {}, timeoutMs } = {}) {
    const url = /^https?:\/\//.test(path) ? path : root + path.replace(/^\//, "");
    const all = { ...headers };
    if (auth === "reader") {
      const token = getToken ? await getToken() : null;
      if (!token) throw new SdkError("not_authenticated", "The reader is not registered yet.");
      all.Authorization = `Reader ${token}`;
    } else if (bearer) {
      all.Authorization = `Bearer ${bearer}`;
    }
    return requestJson(fetchImpl, url, { method, headers: all, body, timeoutMs });
  }

  return {
    base: root,
    origin: new URL(root).origin,
    get: (path, options) => call("GET", path, options),
    post: (path, body, options = {}) => call("POST", path, { ...options, body }),
  };
}
