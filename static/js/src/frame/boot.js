/**
 * Start the signer frame in its window (`/sdk/frame/<publisher key>`).
 *
 * - Refuses to work as the top-level window (nothing to sign for; `not_embedded`).
 * - Reads `data-publisher`, `data-api-base`, `data-ws-url`, and, when the frame page gives
 *   them, `data-allowed-origins` (a JSON array) and `data-faucet` ("true"/"false") from
 *   `#dropgate-frame`.
 * - The page it answers is its parent, at the parent's origin: `location.ancestorOrigins[0]`,
 *   else the origin of `document.referrer` (the page script asks for `referrerpolicy=origin`).
 *   The frame's CSP `frame-ancestors` already lets the browser embed it only in the
 *   publisher's allowed origins; when the frame page or GET /api/v1/config lists the
 *   allowed origins, the parent must also be one of them. Without a known parent origin, a
 *   request is accepted from a listed origin, and that origin is then the one answered.
 * - Accepts only well-formed requests from `window.parent` at an allowed origin, and posts
 *   replies and events to that exact origin, never "*".
 */
import { acceptFromPage, makeErrorReply, makeEvent, makeReply, originOf } from "../shared/messages.js";
import { parseDrops } from "../shared/drops.js";
import { createApi } from "./api.js";
import { SdkError, toWireError } from "./errors.js";
import { createKeyring } from "./keys.js";
import { probeWorker, workerUrlOf } from "./probe.js";
import { createLock } from "./lock.js";
import { createMeter } from "./meter.js";
import { createSigner } from "./signer.js";
import { openIdbStore } from "./store.js";
import { createTransport } from "./transport.js";
import { createFrameUI } from "./ui.js";
import { selectWallet } from "./wallet/index.js";

/** The embedding page's origin as the browser reports it, or null. */
export function parentOriginOf(win) {
  const ancestors = win.location && win.location.ancestorOrigins;
  if (ancestors && ancestors.length > 0) {
    const first = ancestors[0];
    return first && first !== "null" ? first : null;
  }
  return originOf(win.document.referrer || "");
}

function defaultWsUrl(location) {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/reader/`;
}

function publisherFromPath(pathname) {
  const m = /\/sdk\/frame\/([^/]+)\/?$/.exec(pathname || "");
  return m ? decodeURIComponent(m[1]) : "";
}

/** `data-allowed-origins`: a JSON array of origins, or null when absent or unreadable. */
export function parseOriginList(text) {
  if (typeof text !== "string" || !text) return null;
  try {
    const list = JSON.parse(text);
    return Array.isArray(list) ? list.filter((o) => typeof o === "string" && originOf(o) === o) : null;
  } catch {
    return null;
  }
}

/** `origins` kept only where `list` (when there is one) has them too. */
function narrow(origins, list) {
  return list ? origins.filter((origin) => list.includes(origin)) : origins;
}

const HANDLERS = {
  hello: (signer) => signer.hello(),
  unlock: (signer, request) => signer.unlock(request.article, { telemetrySession: request.telemetrySession }),
  restore: (signer, request) => signer.restore(request.articles),
  status: (signer) => signer.status(),
  setCap: (signer) => signer.setCap(),
  topUp: (signer) => signer.topUp(),
  closeChannel: (signer) => signer.closeChannel(),
  rotateClaimKey: (signer) => signer.replaceClaimKey(),
  probe: (signer, request, probe) => probe(),
  dispute: (signer, request) => signer.dispute(request.article, { reason: request.reason, message: request.message }),
};

/**
 * @param {Window} win
 * @param {object} [deps] injectable platform pieces (tests)
 * @returns {{ready: Promise<object|null>, state: string}}
 */
export function bootFrame(win, deps = {}) {
  const doc = win.document;
  const el = doc.getElementById("dropgate-frame");
  const data = el ? el.dataset : {};
  let pageOrigin = null;
  const post = (message) => {
    if (pageOrigin) win.parent.postMessage(message, pageOrigin);
  };
  const ui = createFrameUI({
    document: doc,
    mount: el || doc.body,
    onVisibility: (visible) => post(makeEvent(visible ? "show" : "hide")),
    ...(deps.ui || {}),
  });

  if (!win.parent || win.parent === win) {
    ui.notice("This payment frame only works inside a publisher's page.");
    return { state: "not_embedded", ready: Promise.resolve(null) };
  }

  const publisher = data.publisher || publisherFromPath(win.location.pathname);
  const apiBase = data.apiBase || `${win.location.origin}/api/v1/`;
  const wsUrl = data.wsUrl || defaultWsUrl(win.location);
  const parentOrigin = parentOriginOf(win);
  pageOrigin = parentOrigin;
  const listed = parseOriginList(data.allowedOrigins);
  let allowedOrigins = narrow(parentOrigin ? [parentOrigin] : listed || [], listed);
  const faucet = data.faucet !== "false";
  const workerUrl = deps.workerUrl || workerUrlOf(doc, win.location, data.version);
  let probed = null;
  // The worker half of the page's fingerprint: started on the page's first `probe`, once.
  const probe = () => {
    probed = probed || probeWorker({ url: workerUrl, Worker: deps.Worker === undefined ? win.Worker : deps.Worker });
    return probed;
  };

  const ready = (async () => {
    if (!publisher) throw new SdkError("publisher_not_found", "The frame was opened without a publisher.");
    const store = await openIdbStore({ namespace: publisher, indexedDB: deps.indexedDB });
    const getToken = async () => {
      const reader = await store.get("reader");
      return reader && typeof reader.token === "string" ? reader.token : null;
    };
    const api = createApi({ base: apiBase, fetch: deps.fetch, getToken });
    const config = await api.get(`config?publisher=${encodeURIComponent(publisher)}`);
    allowedOrigins = narrow(allowedOrigins, Array.isArray(config.allowed_origins) ? config.allowed_origins : null);
    const keyring = createKeyring({ store, subtle: deps.subtle });
    const meter = createMeter({ store });
    const transport = createTransport({ wsUrl, publisher, api, getToken, WebSocket: deps.WebSocket });
    const signer = createSigner({
      publisher,
      config: {
        minChannelDrops: parseDrops(config.min_channel_drops ?? "1000000"),
        // What the funding wallet may sign a channel to (wallet/txcheck.js).
        platformAddress: typeof config.platform_address === "string" ? config.platform_address : undefined,
        destinationTag: Number.isInteger(config.destination_tag) ? config.destination_tag : undefined,
        settleDelaySeconds: Number.isInteger(config.channel_settle_delay_seconds)
          ? config.channel_settle_delay_seconds
          : undefined,
        cancelAfterDays: Number.isInteger(config.channel_cancel_after_days) ? config.channel_cancel_after_days : undefined,
      },
      subtle: deps.subtle,
      api,
      store,
      keyring,
      wallet: selectWallet({ keyring, subtle: deps.subtle, faucet }),
      meter,
      transport,
      ui,
      lock: createLock(`dropgate:${publisher}`, deps.locks ? { locks: deps.locks } : undefined),
      emit: post,
    });
    if (await getToken()) transport.connect();
    return signer;
  })();
  ready.catch(() => undefined); // reported to each request below

  async function handle(event, request, refused) {
    const id = (request || refused).id;
    if (refused) {
      const wire = makeErrorReply(id, "origin_not_allowed", "This site may not use the payment frame.");
      win.parent.postMessage(wire, event.origin);
      return;
    }
    try {
      const signer = await ready;
      if (!allowedOrigins.includes(event.origin)) {
        win.parent.postMessage(
          makeErrorReply(id, "origin_not_allowed", "This site may not use the payment frame."),
          event.origin,
        );
        return;
      }
      if (!pageOrigin) pageOrigin = event.origin; // no ancestorOrigins nor referrer: a listed origin
      const result = await HANDLERS[request.type](signer, request, probe);
      post(makeReply(id, result));
    } catch (err) {
      const wire = toWireError(err);
      post(makeErrorReply(id, wire.code, wire.message, wire.details));
    }
  }

  win.addEventListener("message", (event) => {
    const accepted = acceptFromPage(event, { parent: win.parent, allowedOrigins });
    if (!accepted) return;
    handle(event, accepted.request, accepted.refused);
  });

  return { state: "running", ready };
}
