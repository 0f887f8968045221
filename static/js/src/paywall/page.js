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
 *
 * Telemetry (docs/sdk-protocol.md, "Telemetry socket"): the sources (`telemetry/sources.js`)
 * listen from the start, passively, and only push numbers; the telemetry socket opens when the
 * browser is idle after the gate, and the fingerprint is computed in a later idle callback.
 * An unlock first flushes the buffered telemetry (bounded wait), and names the telemetry
 * session to the frame; an unlock answered with `risk_challenge` shows the press-and-hold
 * challenge (`challenge.js`) and is retried once if the server says it passed.
 */
import { requestJson } from "../frame/api.js";
import { createHoldButton, parseChallenge } from "./challenge.js";
import { formatXrp } from "../shared/drops.js";
import { isSlug, originOf } from "../shared/messages.js";
import { createFrameHost } from "./frame-host.js";
import { adoptPaywallStyles } from "./styles.js";
import {
  flushTelemetrySources,
  registerTelemetrySource,
  startTelemetry,
  stopTelemetry,
  telemetrySources,
} from "./telemetry.js";
import { createTelemetryConnection, telemetryUrl } from "./telemetry/connection.js";
import { collectFingerprint } from "./telemetry/fingerprint/index.js";
import { workerFingerprint } from "./telemetry/fingerprint/worker.js";
import { pageSources } from "./telemetry/sources.js";

export const VERSION = typeof __DROPGATE_VERSION__ === "string" ? __DROPGATE_VERSION__ : "dev";
export const STATE_EVENT = "paywall:statechange";

/** Frame and server codes that mean "refused" rather than "failed", with the page's reason. */
const BLOCKED_REASONS = {
  cap_exceeded: "cap",
  cancelled: "cancelled",
  channel_exhausted: "channel_exhausted",
  velocity_limited: "risk",
  jurisdiction_blocked: "jurisdiction",
  reader_limit_reached: "limit",
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
  velocity: "Too many payments in a short time.",
  compliance: "This payment is not available for your account or region.",
};

/** Most slugs per request (the server's limit for teasers and restores). */
export const MAX_SLUGS = 100;
/** The idle callback's deadline: a returning reader's articles are restored soon after load. */
export const FRAME_IDLE_TIMEOUT_MS = 1500;
/** Where there is no requestIdleCallback. */
export const FRAME_FALLBACK_DELAY_MS = 50;
/** The longest an unlock waits for the buffered telemetry to be acknowledged. */
export const FLUSH_BEFORE_UNLOCK_MS = 1500;
/** How long the challenge waits for the reader's hold, then for the server's result. */
export const CHALLENGE_WAIT_MS = 60_000;
/** Presses released too early before the challenge counts as failed (a script clicking it). */
export const MAX_SHORT_HOLDS = 5;
export const CHALLENGE_RESULT_TIMEOUT_MS = 15_000;

/** The real telemetry socket for a page (tests pass their own factory). */
function defaultTelemetry({ origin, publisher, fingerprint }) {
  return createTelemetryConnection({ url: telemetryUrl(origin, publisher), fingerprint });
}

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

/** Run `fn`; a failure in the telemetry never reaches the publisher's page. */
function safe(fn) {
  try {
    return fn();
  } catch {
    return null;
  }
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
export function startPaywall({
  window: win,
  script,
  fetch: fetchImpl,
  createHost = createFrameHost,
  idle,
  connectTelemetry = defaultTelemetry,
}) {
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
  const running = telemetrySources();
  for (const source of pageSources(win)) {
    if (!running.includes(source.name)) registerTelemetrySource(source);
  }
  startTelemetry();
  let fingerprint = null; // computed once, when idle
  const telemetry = safe(() => connectTelemetry({ window: win, origin, publisher, fingerprint: () => fingerprint }));

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
      ["rotate-key", "Replace claim key…"],
    ]) {
      panel.append(el("button", { type: "button", "data-paywall-action": action }, label));
    }
    details.append(el("summary", {}, "Wallet"), panel);
    bar.append(button, el("span", { class: "dg-note", role: "status", "aria-live": "polite" }), details);
    return bar;
  }

  const WALLET_ACTIONS = {
    "set-cap": "setCap",
    "top-up": "topUp",
    "close-channel": "closeChannel",
    "rotate-key": "rotateClaimKey",
  };

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

  function setState(entry, state, { reason = null, amountDrops = 0, note: noteText = null } = {}) {
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
        note.textContent = noteText || NOTES[reason] || "This payment was refused.";
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
        let result;
        try {
          result = await requestUnlock(slug);
        } catch (err) {
          if (!err || err.code !== "risk_challenge") throw err;
          if (!(await challenge(list, err.details && err.details.challenge))) throw err;
          result = await requestUnlock(slug); // once: a second challenge blocks
        }
        if (!result || typeof result.html !== "string") {
          throw Object.assign(new Error("bad reply"), { code: "bad_response" });
        }
        const amountDrops =
          Number.isSafeInteger(result.amountDrops) && result.amountDrops >= 0 ? result.amountDrops : 0;
        for (const entry of list) reveal(entry, result.html, amountDrops);
        return { article: slug, state: "unlocked", amountDrops, reason: null };
      } catch (err) {
        const [state, reason] = classifyError(err && err.code);
        const note = err && err.code === "velocity_limited" ? velocityNote(err) : null;
        for (const entry of list) setState(entry, state, { reason, note });
        return { article: slug, state, amountDrops: 0, reason };
      } finally {
        inflight.delete(slug);
      }
    })();
    inflight.set(slug, run);
    return run;
  }

  /** The unlock request, after the buffered telemetry went out (or the wait ran out). */
  async function requestUnlock(slug) {
    const [h] = await Promise.all([frame(), flushTelemetry()]);
    const fields = { article: slug };
    const session = telemetry && telemetry.session;
    if (session) fields.telemetrySession = session;
    return h.request("unlock", fields);
  }

  function flushTelemetry() {
    flushTelemetrySources();
    return telemetry ? telemetry.flush(FLUSH_BEFORE_UNLOCK_MS) : Promise.resolve(false);
  }

  function velocityNote(err) {
    const after = err.details && err.details.retry_after;
    return Number.isSafeInteger(after) && after > 0
      ? `${NOTES.velocity} Please try again in ${after} s.`
      : `${NOTES.velocity} Please try again later.`;
  }

  /**
   * The press-and-hold challenge in each of the article's bars (in place of its unlock
   * button). Resolves true when the server says the hold passed; false when the challenge is
   * unusable, the reader does not hold within CHALLENGE_WAIT_MS or lets go too early
   * MAX_SHORT_HOLDS times, or the result is a fail or does not come.
   */
  async function challenge(list, details) {
    const spec = parseChallenge(details);
    if (!spec || !telemetry || telemetry.state === "disabled") return false;
    const holds = [];
    let timer = null;
    let giveUp;
    const gaveUp = new Promise((resolve) => {
      giveUp = () => resolve(null);
    });
    let shorts = 0;
    try {
      for (const entry of list) {
        const hold = createHoldButton({
          document: doc,
          holdMs: spec.holdMs,
          onShort: () => {
            entry.note.textContent = "Keep holding until the button is full.";
            if (++shorts >= MAX_SHORT_HOLDS) giveUp();
          },
        });
        const hadFocus = doc.activeElement === entry.button;
        hold.button.setAttribute("aria-describedby", entry.note.id);
        entry.button.after(hold.button);
        entry.button.hidden = true;
        entry.article.setAttribute("data-paywall-challenge", spec.kind);
        entry.note.textContent = "Press and hold the button to confirm you are a person.";
        if (hadFocus) hold.button.focus();
        holds.push([entry, hold]);
      }
      timer = win.setTimeout(giveUp, CHALLENGE_WAIT_MS);
      const events = await Promise.race([...holds.map(([, hold]) => hold.done), gaveUp]);
      if (!events) return false;
      for (const [entry] of holds) entry.note.textContent = "Checking…";
      return (await telemetry.challenge(spec.id, events, CHALLENGE_RESULT_TIMEOUT_MS)) === true;
    } finally {
      if (timer !== null) win.clearTimeout(timer);
      for (const [entry, hold] of holds) {
        const hadFocus = doc.activeElement === hold.button;
        hold.button.remove();
        entry.button.hidden = false;
        entry.article.removeAttribute("data-paywall-challenge");
        if (hadFocus) entry.button.focus();
      }
    }
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
      endTelemetry();
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
      endTelemetry();
      return;
    }
    openGate(null);
    if (!host) {
      watchInteraction(true);
      whenIdle(ensureHost);
    }
    if (telemetry) whenIdle(startTelemetrySocket);
  }

  // --- telemetry -------------------------------------------------------------------------------

  function startTelemetrySocket() {
    safe(() => telemetry.start());
    // The fingerprint is the heaviest thing the page script measures: one more idle callback.
    whenIdle(() => {
      collectFingerprint({
        window: win,
        worker: () => workerFingerprint(() => frame().then((h) => h.request("probe"))),
      }).then(
        (value) => {
          fingerprint = value;
        },
        () => undefined,
      );
    });
    win.addEventListener(
      "pagehide",
      () => {
        flushTelemetrySources();
        safe(() => telemetry.sendNow());
      },
      { passive: true },
    );
  }

  function endTelemetry() {
    stopTelemetry();
    if (telemetry) safe(() => telemetry.close());
  }

  const api = Object.freeze({
    version: VERSION,
    publisher,
    unlock,
    status,
    setCap: () => walletAction("setCap"),
    topUp: () => walletAction("topUp"),
    closeChannel: () => walletAction("closeChannel"),
    rotateClaimKey: () => walletAction("rotateClaimKey"),
    // "Report a problem": the form opens in the signer frame, which files it on the reader's click.
    dispute: (slug, { reason, message } = {}) => frame().then((h) => h.request("dispute", { article: slug, reason, message })),
  });
  Object.defineProperty(win, "Dropgate", { value: api, configurable: true, enumerable: false, writable: false });

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot, { once: true });
  else boot();
  return api;
}
