/**
 * The page's side of the signer frame: the <iframe> from the paywall origin, inside a
 * <dialog> that stays closed (so the frame is invisible) until the frame asks to be shown,
 * and the request/reply bookkeeping of the postMessage protocol.
 *
 * Only messages from that iframe's window at the paywall origin are read; requests are posted
 * to that exact origin.
 */
import { PROTOCOL_VERSION, acceptFromFrame } from "../shared/messages.js";

/**
 * A page → frame request. The page sends only what it built from checked values (a slug that
 * passed `isSlug`, the session id the telemetry hello passed); the frame parses every request
 * with `parseRequest` anyway. `makeRequest` (shared/messages.js) checks too, but brings the
 * whole request grammar into the first script.
 */
function requestMessage(type, id, fields) {
  const msg = { dg: PROTOCOL_VERSION, type, id };
  for (const name in fields) if (fields[name] !== undefined && fields[name] !== null) msg[name] = fields[name];
  return msg;
}

export class FrameRequestError extends Error {
  constructor(code, message, details = null) {
    super(message || code);
    this.name = "FrameRequestError";
    this.code = code;
    this.details = details || {}; // the checked error details (a challenge, retry_after)
  }
}

/** Wait for a reply this long (an unlock may wait for the reader's confirmation). */
export const TIMEOUTS = Object.freeze({ hello: 20_000, status: 30_000, restore: 60_000, probe: 10_000, default: 15 * 60_000 });

/**
 * @param {object} options
 * @param {Window} options.window
 * @param {string} options.origin     the paywall origin
 * @param {string} options.publisher
 * @param {(event: object) => void} [options.onEvent]  `channel` events
 */
export function createFrameHost({ window: win, origin, publisher, onEvent = () => {} }) {
  const doc = win.document;
  const dialog = doc.createElement("dialog");
  dialog.className = "dg-host";
  dialog.setAttribute("aria-label", "Payment confirmation");
  const iframe = doc.createElement("iframe");
  iframe.title = "Dropgate payment";
  iframe.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  iframe.setAttribute("referrerpolicy", "origin");
  iframe.setAttribute("loading", "eager");
  iframe.src = `${origin}/sdk/frame/${encodeURIComponent(publisher)}`;

  const loaded = new Promise((resolve) => iframe.addEventListener("load", () => resolve(), { once: true }));
  const pending = new Map();
  let nextId = 1;
  let returnFocus = null;
  let hello = null;

  // Escape on the page side must not hide a frame that is waiting for an answer; the frame's
  // own Cancel (or Escape inside it) answers, and the frame then asks to be hidden.
  dialog.addEventListener("cancel", (event) => event.preventDefault());

  function show() {
    if (dialog.open) return;
    returnFocus = doc.activeElement;
    try {
      dialog.showModal();
    } catch {
      dialog.setAttribute("open", "");
    }
    iframe.focus();
  }

  function hide() {
    if (!dialog.open && !dialog.hasAttribute("open")) return;
    if (typeof dialog.close === "function") dialog.close();
    dialog.removeAttribute("open");
    if (returnFocus && typeof returnFocus.focus === "function" && returnFocus.isConnected) {
      returnFocus.focus();
    }
    returnFocus = null;
  }

  win.addEventListener("message", (event) => {
    const msg = acceptFromFrame(event, { frameWindow: iframe.contentWindow, paywallOrigin: origin });
    if (!msg) return;
    if (msg.type === "reply") {
      const entry = pending.get(msg.id);
      if (!entry) return;
      pending.delete(msg.id);
      win.clearTimeout(entry.timer);
      if (msg.ok) entry.resolve(msg.result);
      else entry.reject(new FrameRequestError(msg.error.code, msg.error.message, msg.error.details));
    } else if (msg.type === "show") {
      show();
    } else if (msg.type === "hide") {
      hide();
    } else {
      onEvent(msg);
    }
  });

  function send(type, fields = {}) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      const timeoutMs = TIMEOUTS[type] || TIMEOUTS.default;
      const timer = win.setTimeout(() => {
        pending.delete(id);
        reject(new FrameRequestError("frame_unavailable", "The payment frame did not answer."));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      iframe.contentWindow.postMessage(requestMessage(type, id, fields), origin);
    });
  }

  /** The frame's hello, once per frame (retried after a failure). */
  function ready() {
    if (!hello) {
      hello = loaded.then(() => send("hello"));
      hello.catch(() => {
        hello = null;
      });
    }
    return hello;
  }

  dialog.append(iframe);
  doc.body.append(dialog);

  return {
    dialog,
    iframe,
    ready,
    /** Send a request once the frame is up; resolves with its result or rejects with its error. */
    async request(type, fields) {
      await ready();
      return type === "hello" ? hello : send(type, fields);
    },
  };
}
