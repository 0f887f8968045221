/**
 * The page script: finds the publisher's articles, renders their unlock buttons and states,
 * fires `paywall:statechange`, inserts the paid HTML, and hosts the signer frame. It never
 * sees a key, a reader token or a claim: every payment goes through the frame.
 *
 * Contract (shared/DESIGN.md, "Script tag"): each `article[data-paywall-article]` gets
 * `data-paywall-state` = locked → pending → unlocked | blocked (`data-paywall-reason`) |
 * error (`data-paywall-reason` = the error code), a `button[data-paywall-action="unlock"]`,
 * and its `[data-paywall-content]` filled once paid.
 */
import { requestJson } from "../frame/api.js";
import { formatXrp } from "../shared/drops.js";
import { isSlug, originOf } from "../shared/messages.js";
import { createFrameHost } from "./frame-host.js";
import { adoptPaywallStyles } from "./styles.js";
import { startTelemetry } from "./telemetry.js";

export const VERSION = typeof __DROPGATE_VERSION__ === "string" ? __DROPGATE_VERSION__ : "dev";
export const STATE_EVENT = "paywall:statechange";

/** Frame and server codes that mean "refused" rather than "failed", with the page's reason. */
const BLOCKED_REASONS = {
  cap_exceeded: "cap",
  cancelled: "cancelled",
  channel_exhausted: "channel_exhausted",
};

/** A reply's error code → [state, reason]. */
export function classifyError(code) {
  if (Object.hasOwn(BLOCKED_REASONS, code)) return ["blocked", BLOCKED_REASONS[code]];
  if (/(^|_)(risk|fraud|bot)(_|$)/.test(code)) return ["blocked", "risk"];
  if (/(^|_)(compliance|aml|sanctions?|jurisdiction|region)(_|$)/.test(code)) return ["blocked", "compliance"];
  return ["error", code || "internal_error"];
}

const NOTES = {
  cap: "Your spending cap for this site is reached. Raise it under Wallet.",
  cancelled: "Payment cancelled.",
  channel_exhausted: "Your payment channel is empty. Top it up under Wallet.",
  risk: "This payment was refused by the fraud checks.",
  compliance: "This payment is not available for your account or region.",
};

const FATAL_CONFIG_CODES = new Set(["origin_not_allowed", "publisher_not_found", "publisher_inactive"]);

function priceLabel(teaser) {
  if (!teaser || teaser.price_xrp === null || teaser.price_xrp === undefined) return "";
  let label = `${teaser.price_xrp} XRP`;
  const display = teaser.display_price;
  if (display && display.currency && display.currency !== "XRP") {
    label += ` (${display.approximate ? "≈ " : ""}${display.amount} ${display.currency})`;
  }
  return label;
}

/**
 * Start the paywall on a page.
 * @param {{window: Window, script: HTMLScriptElement|null, fetch?: typeof fetch,
 *          createHost?: typeof createFrameHost}} options
 * @returns {object|null} the `window.Dropgate` API, or null when the tag is unusable
 */
export function startPaywall({ window: win, script, fetch: fetchImpl, createHost = createFrameHost }) {
  const doc = win.document;
  const doFetch = fetchImpl || win.fetch.bind(win);
  if (win.Dropgate && win.Dropgate.version) return win.Dropgate; // the tag twice: one instance
  const publisher = script ? script.getAttribute("data-publisher") || "" : "";
  const origin = script ? originOf(script.src) : null;
  if (!publisher || !origin) {
    win.console && win.console.warn("Dropgate: the script tag needs src and data-publisher.");
    return null;
  }
  const apiBase = `${origin}/api/v1/`;
  const articles = new Map(); // slug → [entry]
  const inflight = new Map(); // slug → Promise
  let resolveHost;
  const hostReady = new Promise((resolve) => {
    resolveHost = resolve;
  });
  let uid = 0;
  let scanned = false;
  let markScanned;
  const whenScanned = new Promise((resolve) => {
    markScanned = resolve;
  });

  adoptPaywallStyles(doc);
  startTelemetry();

  // --- rendering -------------------------------------------------------------------------------

  function el(tag, attrs = {}, text) {
    const node = doc.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function walletPanel() {
    const details = el("details", { class: "dg-wallet" });
    const summary = el("summary", {}, "Wallet");
    const panel = el("div", { class: "dg-wallet-panel", role: "group", "aria-label": "Reading wallet" });
    const status = el("p", { class: "dg-wallet-status", "aria-live": "polite" }, "Not used on this site yet.");
    panel.append(status);
    for (const [action, label, type] of [
      ["set-cap", "Spending cap…", "setCap"],
      ["top-up", "Top up channel…", "topUp"],
      ["close-channel", "Close channel…", "closeChannel"],
    ]) {
      const button = el("button", { type: "button", "data-paywall-action": action }, label);
      button.addEventListener("click", () => {
        details.open = false;
        walletAction(type).catch(() => undefined); // shown in the menu's status line
      });
      panel.append(button);
    }
    details.append(summary, panel);
    return { details, status };
  }

  function renderArticle(article, slug) {
    const n = ++uid;
    const bar = el("div", { class: "dg-bar", "data-paywall-ui": "" });
    const button = el("button", {
      type: "button",
      class: "dg-unlock",
      "data-paywall-action": "unlock",
      "aria-describedby": `dg-note-${n}`,
    });
    const label = el("span", { class: "dg-unlock-label" }, "Unlock");
    const price = el("span", { class: "dg-price" }, "");
    button.append(label, price);
    const note = el("span", { class: "dg-note", id: `dg-note-${n}`, role: "status", "aria-live": "polite" });
    const wallet = walletPanel();
    bar.append(button, note, wallet.details);
    let content = article.querySelector("[data-paywall-content]");
    if (content) content.before(bar);
    else {
      content = el("div", { "data-paywall-content": "" });
      article.append(bar, content);
    }
    const entry = { article, slug, bar, button, label, price, note, content, wallet, title: "", priceText: "" };
    button.addEventListener("click", () => {
      unlock(slug);
    });
    return entry;
  }

  function paintButton(entry) {
    entry.price.textContent = entry.priceText ? ` for ${entry.priceText}` : "";
    const name = `${entry.label.textContent}${entry.price.textContent}`;
    if (entry.title) entry.button.setAttribute("aria-label", `${name}: ${entry.title}`);
  }

  function setState(entry, state, { reason = null, amountDrops = 0 } = {}) {
    const { article, button, note } = entry;
    article.setAttribute("data-paywall-state", state);
    if (reason) article.setAttribute("data-paywall-reason", reason);
    else article.removeAttribute("data-paywall-reason");
    // Not `disabled` while pending: a disabled button drops keyboard focus, and focus must
    // come back to it when the frame's dialog closes. A second click is ignored instead.
    button.hidden = state === "unlocked";
    if (state === "pending") {
      button.setAttribute("aria-disabled", "true");
      button.setAttribute("aria-busy", "true");
    } else {
      button.removeAttribute("aria-disabled");
      button.removeAttribute("aria-busy");
    }
    entry.label.textContent = state === "pending" ? "Unlocking…" : "Unlock";
    if (state === "pending") entry.price.textContent = "";
    else paintButton(entry);
    if (state === "unlocked") {
      note.textContent = amountDrops > 0 ? `Unlocked: paid ${formatXrp(amountDrops)} XRP.` : "Unlocked: paid before.";
    } else if (state === "blocked") {
      note.textContent = NOTES[reason] || "This payment was refused.";
    } else if (state === "error") {
      note.textContent = `Could not unlock (${reason}). Please try again.`;
    } else if (state === "locked") {
      note.textContent = "";
    }
    article.dispatchEvent(
      new win.CustomEvent(STATE_EVENT, {
        bubbles: true,
        detail: { article: entry.slug, state, amountDrops, reason },
      }),
    );
  }

  function showWallet(view) {
    if (!view) return;
    let text;
    const cap = Number.isSafeInteger(view.capDrops) ? ` Cap: ${formatXrp(view.capDrops)} XRP.` : "";
    const ch = view.channel;
    if (ch && Number.isSafeInteger(ch.remainingDrops)) {
      text = `Channel ${ch.status}: ${formatXrp(ch.remainingDrops)} of ${formatXrp(ch.fundedDrops)} XRP left.${cap}`;
    } else {
      text = `No payment channel yet.${cap}`;
    }
    for (const list of articles.values()) for (const entry of list) entry.wallet.status.textContent = text;
  }

  let lastView = { channel: null, capDrops: null };
  function onFrameEvent(msg) {
    if (msg.type === "channel") {
      lastView = { ...lastView, channel: msg.channel };
      showWallet(lastView);
    }
  }

  // --- actions ---------------------------------------------------------------------------------

  async function frame() {
    const h = await hostReady;
    if (!h) throw Object.assign(new Error("The paywall is not available on this site."), { code: "frame_unavailable" });
    return h;
  }

  function unlock(slug) {
    if (!isSlug(slug)) return Promise.reject(new TypeError("Dropgate.unlock needs an article slug"));
    if (!scanned) return whenScanned.then(() => unlock(slug)); // called before the DOM was read
    const list = articles.get(slug);
    if (!list) return Promise.reject(new Error(`Dropgate: no article "${slug}" on this page.`));
    if (inflight.has(slug)) return inflight.get(slug);
    const run = (async () => {
      for (const entry of list) setState(entry, "pending");
      try {
        const h = await frame();
        const result = await h.request("unlock", { article: slug });
        if (!result || typeof result.html !== "string") {
          throw Object.assign(new Error("bad reply"), { code: "bad_response" });
        }
        const amountDrops =
          Number.isSafeInteger(result.amountDrops) && result.amountDrops >= 0 ? result.amountDrops : 0;
        for (const entry of list) {
          const hadFocus = doc.activeElement === entry.button;
          entry.content.innerHTML = result.html; // sanitised by the server (ContentOut.html)
          setState(entry, "unlocked", { amountDrops });
          if (hadFocus) {
            if (!entry.content.hasAttribute("tabindex")) entry.content.setAttribute("tabindex", "-1");
            entry.content.focus({ preventScroll: true });
          }
        }
        return { article: slug, state: "unlocked", amountDrops, reason: null };
      } catch (err) {
        const [state, reason] = classifyError(err && err.code);
        for (const entry of list) setState(entry, state, { reason });
        return { article: slug, state, amountDrops: 0, reason };
      } finally {
        inflight.delete(slug);
      }
    })();
    inflight.set(slug, run);
    return run;
  }

  async function status() {
    const view = await (await frame()).request("status");
    lastView = view || lastView;
    showWallet(lastView);
    return view;
  }

  async function walletAction(type) {
    try {
      const result = await (await frame()).request(type);
      await status().catch(() => undefined);
      return result;
    } catch (err) {
      if (err && err.code !== "cancelled") {
        for (const list of articles.values()) {
          for (const entry of list) entry.wallet.status.textContent = `Could not finish (${err.code || "error"}).`;
        }
      }
      throw err;
    }
  }

  // --- start -----------------------------------------------------------------------------------

  function scan() {
    for (const article of doc.querySelectorAll("article[data-paywall-article]")) {
      const slug = article.getAttribute("data-paywall-article");
      if (!isSlug(slug) || article.querySelector("[data-paywall-ui]")) continue;
      const entry = renderArticle(article, slug);
      if (!articles.has(slug)) articles.set(slug, []);
      articles.get(slug).push(entry);
      setState(entry, "locked");
    }
  }

  async function loadPrices() {
    await Promise.all(
      [...articles.keys()].map(async (slug) => {
        try {
          const teaser = await requestJson(
            doFetch,
            `${apiBase}publishers/${encodeURIComponent(publisher)}/articles/${encodeURIComponent(slug)}`,
          );
          for (const entry of articles.get(slug)) {
            entry.title = typeof teaser.title === "string" ? teaser.title : "";
            entry.priceText = priceLabel(teaser);
            if (entry.article.getAttribute("data-paywall-state") !== "pending") paintButton(entry);
          }
        } catch {
          /* the button still works: the frame asks the server for the price */
        }
      }),
    );
  }

  async function boot() {
    scan();
    scanned = true;
    markScanned();
    if (articles.size === 0) {
      resolveHost(null);
      return;
    }
    const config = requestJson(doFetch, `${apiBase}config?publisher=${encodeURIComponent(publisher)}`);
    loadPrices();
    try {
      await config;
    } catch (err) {
      if (err && FATAL_CONFIG_CODES.has(err.code)) {
        for (const list of articles.values()) for (const entry of list) setState(entry, "error", { reason: err.code });
        resolveHost(null);
        return;
      }
      // Unreachable right now: the frame will report what is wrong when it is used.
    }
    const host = createHost({ window: win, origin, publisher, onEvent: onFrameEvent });
    resolveHost(host);
    host
      .ready()
      .then((hello) => {
        lastView = { channel: hello && hello.channel, capDrops: hello && hello.capDrops };
        showWallet(lastView);
      })
      .catch(() => undefined);
  }

  const api = Object.freeze({
    version: VERSION,
    publisher,
    unlock,
    status,
    setCap: () => walletAction("setCap"),
    topUp: () => walletAction("topUp"),
    closeChannel: () => walletAction("closeChannel"),
  });
  Object.defineProperty(win, "Dropgate", { value: api, configurable: true, enumerable: false, writable: false });

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot, { once: true });
  else boot();
  return api;
}
