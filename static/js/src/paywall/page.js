/**
 * The page script: finds the publisher's articles, renders their unlock buttons and states,
 * fires `paywall:statechange`, inserts the paid HTML, and hosts the signer frame. It never
 * sees a key, a reader token or a claim: every payment goes through the frame.
 *
 * Contract (shared/DESIGN.md, "Script tag"): each `article[data-paywall-article]` gets
 * `data-paywall-state` = locked → pending → unlocked | blocked (`data-paywall-reason`) |
 * error (`data-paywall-reason` = the error code), a `button[data-paywall-action="unlock"]`,
 * and its `[data-paywall-content]` filled once paid.
 *
 * Load is kept light for the publisher's page (benchmarks/sdk_load.py):
 * - each article's bar is cloned from one template, built off-document and inserted once,
 *   already showing the locked state (the bar's space is reserved by the stylesheet);
 * - ONE request reads every article's price (`GET publishers/{pub}/articles?slugs=…`); it is
 *   also the gate: when it fails, every article shows `error` at once (the code when the
 *   answer is readable, `origin_not_allowed` when there was no readable answer, as for an
 *   origin the publisher did not allow, whose 403 carries no CORS header) and no frame is made;
 * - the signer frame is created when the browser is idle (`requestIdleCallback`, with a
 *   timeout; `setTimeout` where there is none) or at the reader's first interaction with the
 *   page, whichever comes first. When its hello says the reader exists, the page asks it to
 *   `restore` the articles this reader paid before: they unlock without a click, at 0.
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

/** Most slugs per request (the server's limit for teasers and restores). */
export const MAX_SLUGS = 100;
/** The idle callback's deadline: a returning reader's articles are restored soon after load. */
export const FRAME_IDLE_TIMEOUT_MS = 1500;
/** Where there is no requestIdleCallback. */
export const FRAME_FALLBACK_DELAY_MS = 50;

function chunks(list) {
  const out = [];
  for (let i = 0; i < list.length; i += MAX_SLUGS) out.push(list.slice(i, i + MAX_SLUGS));
  return out;
}

/** What to show when the first request fails: the server's code, else `origin_not_allowed`. */
export function gateReason(err) {
  if (err && err.status > 0) return err.code || `http_${err.status}`;
  if (err && err.details && err.details.timeout) return "network_error";
  return "origin_not_allowed"; // no readable answer: refused by CORS, or unreachable
}

function defaultIdle(win) {
  return (fn) =>
    typeof win.requestIdleCallback === "function"
      ? win.requestIdleCallback(fn, { timeout: FRAME_IDLE_TIMEOUT_MS })
      : win.setTimeout(fn, FRAME_FALLBACK_DELAY_MS);
}

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
 *          createHost?: typeof createFrameHost, idle?: (fn: Function) => void}} options
 *   `idle` schedules the frame's creation (default: requestIdleCallback, else setTimeout)
 * @returns {object|null} the `window.Dropgate` API, or null when the tag is unusable
 */
export function startPaywall({ window: win, script, fetch: fetchImpl, createHost = createFrameHost, idle }) {
  const doc = win.document;
  const doFetch = fetchImpl || win.fetch.bind(win);
  const whenIdle = idle || defaultIdle(win);
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
  let host = null;
  let uid = 0;
  let scanned = false;
  let markScanned;
  const whenScanned = new Promise((resolve) => {
    markScanned = resolve;
  });
  let openGate;
  // Resolves with null once the page may use the frame, else with the reason it may not.
  const gate = new Promise((resolve) => {
    openGate = resolve;
  });

  adoptPaywallStyles(doc);
  startTelemetry();

  // --- rendering -------------------------------------------------------------------------------

  function el(tag, attrs = {}, text) {
    const node = doc.createElement(tag);
    for (const name in attrs) node.setAttribute(name, attrs[name]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** One unlock bar, built once; every article gets a deep clone of it. */
  let template = null;
  function barTemplate() {
    const bar = el("div", { class: "dg-bar", "data-paywall-ui": "" });
    const button = el("button", { type: "button", class: "dg-unlock", "data-paywall-action": "unlock" });
    button.append(el("span", { class: "dg-unlock-label" }, "Unlock"), el("span", { class: "dg-price" }, ""));
    const details = el("details", { class: "dg-wallet" });
    const panel = el("div", { class: "dg-wallet-panel", role: "group", "aria-label": "Reading wallet" });
    panel.append(el("p", { class: "dg-wallet-status", "aria-live": "polite" }, "Not used on this site yet."));
    for (const [action, label] of [
      ["set-cap", "Spending cap…"],
      ["top-up", "Top up channel…"],
      ["close-channel", "Close channel…"],
    ]) {
      panel.append(el("button", { type: "button", "data-paywall-action": action }, label));
    }
    details.append(el("summary", {}, "Wallet"), panel);
    bar.append(button, el("span", { class: "dg-note", role: "status", "aria-live": "polite" }), details);
    return bar;
  }

  const WALLET_ACTIONS = { "set-cap": "setCap", "top-up": "topUp", "close-channel": "closeChannel" };

  function renderArticle(article, slug) {
    const n = ++uid;
    template = template || barTemplate();
    const bar = template.cloneNode(true);
    const [button, note, details] = bar.children;
    const [label, price] = button.children;
    const status = details.lastChild.firstChild;
    button.setAttribute("aria-describedby", `dg-note-${n}`);
    note.id = `dg-note-${n}`;
    const entry = {
      article, slug, bar, button, label, price, note, state: null,
      wallet: { details, status }, title: "", priceText: "", content: null,
    };
    // One listener per bar: the unlock button and the wallet menu's entries.
    bar.addEventListener("click", (event) => {
      const target = event.target && event.target.closest && event.target.closest("[data-paywall-action]");
      if (!target || !bar.contains(target)) return;
      const action = target.getAttribute("data-paywall-action");
      if (action === "unlock") {
        unlock(slug);
      } else if (Object.hasOwn(WALLET_ACTIONS, action)) {
        details.open = false;
        walletAction(WALLET_ACTIONS[action]).catch(() => undefined); // shown in the status line
      }
    });
    let content = article.querySelector("[data-paywall-content]");
    if (content) {
      content.before(bar); // the one insertion
    } else {
      content = el("div", { "data-paywall-content": "" });
      const both = doc.createDocumentFragment();
      both.append(bar, content);
      article.append(both);
    }
    entry.content = content;
    return entry;
  }

  function paintButton(entry) {
    entry.price.textContent = entry.priceText ? ` for ${entry.priceText}` : "";
    const name = `${entry.label.textContent}${entry.price.textContent}`;
    if (entry.title) entry.button.setAttribute("aria-label", `${name}: ${entry.title}`);
  }

  function setState(entry, state, { reason = null, amountDrops = 0 } = {}) {
    const { article, button, note } = entry;
    const first = entry.state === null && state === "locked"; // the template shows it already
    entry.state = state;
    article.setAttribute("data-paywall-state", state);
    if (reason) article.setAttribute("data-paywall-reason", reason);
    else article.removeAttribute("data-paywall-reason");
    if (!first) {
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
      } else {
        note.textContent = "";
      }
    }
    article.dispatchEvent(
      new win.CustomEvent(STATE_EVENT, {
        bubbles: true,
        detail: { article: entry.slug, state, amountDrops, reason },
      }),
    );
  }

  function eachEntry(fn) {
    for (const list of articles.values()) for (const entry of list) fn(entry);
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
    eachEntry((entry) => {
      entry.wallet.status.textContent = text;
    });
  }

  let lastView = { channel: null, capDrops: null };
  function onFrameEvent(msg) {
    if (msg.type === "channel") {
      lastView = { ...lastView, channel: msg.channel };
      showWallet(lastView);
    }
  }

  /** The paid body goes in; the article moves to unlocked (focus follows the reader's click). */
  function reveal(entry, html, amountDrops) {
    const hadFocus = doc.activeElement === entry.button;
    entry.content.innerHTML = html; // sanitised by the server (ContentOut.html)
    setState(entry, "unlocked", { amountDrops });
    if (hadFocus) {
      if (!entry.content.hasAttribute("tabindex")) entry.content.setAttribute("tabindex", "-1");
      entry.content.focus({ preventScroll: true });
    }
  }

  // --- the signer frame ------------------------------------------------------------------------

  const INTERACTIONS = ["pointerdown", "keydown", "touchstart"];
  const onInteraction = () => ensureHost();

  function watchInteraction(on) {
    for (const type of INTERACTIONS) {
      if (on) doc.addEventListener(type, onInteraction, { capture: true, passive: true });
      else doc.removeEventListener(type, onInteraction, { capture: true, passive: true });
    }
  }

  /** The frame host, made on first need (idle time, an interaction, or a request). */
  function ensureHost() {
    if (host) return host;
    watchInteraction(false);
    host = createHost({ window: win, origin, publisher, onEvent: onFrameEvent });
    host
      .ready()
      .then((hello) => {
        lastView = { channel: hello && hello.channel, capDrops: hello && hello.capDrops };
        showWallet(lastView);
        if (hello && hello.reader === true) return restore();
        return undefined;
      })
      .catch(() => undefined);
    return host;
  }

  async function frame() {
    const reason = await gate;
    if (reason) throw Object.assign(new Error("The paywall is not available on this site."), { code: reason });
    return ensureHost();
  }

  /** A returning reader: the frame re-enters every article it paid before, at no charge. */
  async function restore() {
    const slugs = [...articles.keys()].filter(
      (slug) => !inflight.has(slug) && articles.get(slug).every((entry) => entry.state === "locked"),
    );
    await Promise.all(
      chunks(slugs).map(async (part) => {
        const result = await host.request("restore", { articles: part });
        const items = result && Array.isArray(result.unlocked) ? result.unlocked : [];
        for (const item of items) {
          if (!item || !part.includes(item.article) || typeof item.html !== "string") continue;
          if (inflight.has(item.article)) continue; // a click got there first: it re-enters at 0
          for (const entry of articles.get(item.article)) {
            if (entry.state === "locked") reveal(entry, item.html, 0);
          }
        }
      }),
    );
  }

  // --- actions ---------------------------------------------------------------------------------

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
        for (const entry of list) reveal(entry, result.html, amountDrops);
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
        eachEntry((entry) => {
          entry.wallet.status.textContent = `Could not finish (${err.code || "error"}).`;
        });
      }
      throw err;
    }
  }

  // --- start -----------------------------------------------------------------------------------

  function scan() {
    const found = [];
    for (const article of doc.querySelectorAll("article[data-paywall-article]")) {
      const slug = article.getAttribute("data-paywall-article");
      if (!isSlug(slug) || article.querySelector("[data-paywall-ui]")) continue;
      const entry = renderArticle(article, slug);
      if (!articles.has(slug)) articles.set(slug, []);
      articles.get(slug).push(entry);
      found.push(entry);
    }
    for (const entry of found) setState(entry, "locked");
  }

  function showPrices(body) {
    const teasers = body && Array.isArray(body.articles) ? body.articles : [];
    for (const teaser of teasers) {
      const list = teaser && articles.get(teaser.article);
      if (!list) continue;
      for (const entry of list) {
        entry.title = typeof teaser.title === "string" ? teaser.title : "";
        entry.priceText = priceLabel(teaser);
        if (entry.state !== "pending") paintButton(entry);
      }
    }
  }

  async function boot() {
    scan();
    scanned = true;
    markScanned();
    if (articles.size === 0) {
      openGate("frame_unavailable");
      return;
    }
    const base = `${apiBase}publishers/${encodeURIComponent(publisher)}/articles?slugs=`;
    try {
      const bodies = await Promise.all(
        chunks([...articles.keys()]).map((part) => requestJson(doFetch, base + part.join(","))),
      );
      bodies.forEach(showPrices);
    } catch (err) {
      const reason = gateReason(err);
      openGate(reason);
      eachEntry((entry) => {
        if (entry.state === "locked") setState(entry, "error", { reason });
      });
      return;
    }
    openGate(null);
    if (!host) {
      watchInteraction(true);
      whenIdle(ensureHost);
    }
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
