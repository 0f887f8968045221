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
 * Load is kept light for the publisher's page (benchmarks/sdk_load.py; docs/sdk-protocol.md,
 * "The page script at load"):
 * - this file is the whole first script; the telemetry and the challenge are chunks loaded
 *   later, each from a versioned file with its SRI hash (`chunks.js`);
 * - each article's bar is cloned from one template, built off-document and inserted once,
 *   already showing the locked state (the bar's space is reserved by the stylesheet);
 * - ONE request reads every article's price (`GET publishers/{pub}/articles?slugs=…`); it is
 *   also the gate: when it fails, every article shows `error` at once (the code when the
 *   answer is readable, `origin_not_allowed` when there was no readable answer, as for an
 *   origin the publisher did not allow, whose 403 carries no CORS header) and no frame is made;
 * - the signer frame is created at the first sign of intent — the pointer over, or focus in, a
 *   paywalled article (or a touch or press on one), an unlock or wallet click, a
 *   `window.Dropgate` call — or, for a returning reader (a mark this page stored in its
 *   IndexedDB when the frame said the reader exists, or after an unlock went to it), when the
 *   browser is idle after load: its hello then says the
 *   reader exists and the page asks it to `restore` the articles paid before, which unlock
 *   without a click, at 0. The mark holds nothing secret (keys, claims and the cap stay in the
 *   frame).
 *
 * Telemetry (docs/sdk-protocol.md, "Telemetry socket"): after the page's `load` event, when
 * the browser is idle, the telemetry chunk starts the sources (passive listeners that append
 * numbers to a typed array), opens the socket and collects the fingerprint in idle slices.
 * An unlock first flushes the buffered telemetry (bounded wait), and names the telemetry
 * session to the frame; an unlock answered with `risk_challenge` loads the challenge chunk and
 * shows the press-and-hold button, and is retried once if the server says it passed.
 */
import { formatXrp } from "../shared/drops.js";
import { isSlug, originOf } from "../shared/messages.js";
import { chunkLoader } from "./chunks.js";
import { createFrameHost } from "./frame-host.js";
import { adoptPaywallStyles } from "./styles.js";

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
/** The key of a returning reader's mark (the page's own IndexedDB; nothing secret). */
export const READER_MARK_PREFIX = "dropgate:reader:";
/** Where there is no requestIdleCallback. */
export const FRAME_FALLBACK_DELAY_MS = 50;
/** The longest an unlock waits for the buffered telemetry to be acknowledged. */
export const FLUSH_BEFORE_UNLOCK_MS = 1500;

/**
 * The returning reader's marks, in the page's own IndexedDB (`dropgate`, store `marks`): async,
 * so reading one never blocks the main thread, where localStorage's first use is a synchronous
 * round trip to the browser (1–40 ms measured here). Null where there is no IndexedDB.
 * @returns {{get(key): Promise<boolean>, set(key, value: boolean): Promise<void>} | null}
 */
export function readerMarks(win) {
  const idb = win.indexedDB;
  if (!idb) return null;
  const run = (mode, act) =>
    new Promise((resolve, reject) => {
      const open = idb.open("dropgate", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("marks");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction("marks", mode);
        const req = act(tx.objectStore("marks"));
        tx.oncomplete = () => {
          db.close();
          resolve(req.result);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      };
    });
  return {
    get: (key) => run("readonly", (store) => store.get(key)).then((v) => v === 1),
    set: (key, value) => run("readwrite", (store) => (value ? store.put(1, key) : store.delete(key))),
  };
}

/** The page's telemetry, from the telemetry chunk (tests pass their own factory). */
function defaultTelemetry(options) {
  return options.loadChunk("telemetry").then((chunk) => chunk.startPageTelemetry(options));
}

function chunks(list) {
  const out = [];
  for (let i = 0; i < list.length; i += MAX_SLUGS) out.push(list.slice(i, i + MAX_SLUGS));
  return out;
}

/** The teaser request's timeout. */
export const TEASER_TIMEOUT_MS = 15_000;

/**
 * GET a JSON object from the paywall (no credentials). A failure rejects with an Error whose
 * `status` is the answer's (0: no readable answer), `code` the envelope's code (else from the
 * status) and `details.timeout` whether the request timed out.
 */
export async function getJson(doFetch, url, win) {
  const controller = typeof win.AbortController === "function" ? new win.AbortController() : null;
  let timedOut = false;
  const timer = win.setTimeout(() => {
    timedOut = true;
    if (controller) controller.abort();
  }, TEASER_TIMEOUT_MS);
  const fail = (status, code) => Object.assign(new Error(code), { status, code, details: { timeout: timedOut } });
  let response;
  try {
    response = await doFetch(url, {
      headers: { Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
      signal: controller ? controller.signal : undefined,
    });
  } catch {
    throw fail(0, "network_error");
  } finally {
    win.clearTimeout(timer);
  }
  let data = null;
  try {
    data = JSON.parse(await response.text());
  } catch {
    data = null;
  }
  const ok = data && typeof data === "object";
  if (response.ok && ok) return data;
  const code = ok && data.error && typeof data.error.code === "string" ? data.error.code : "";
  throw fail(
    response.status,
    response.ok ? "bad_response" : /^[a-z0-9_]{1,64}$/.test(code) ? code : `http_${response.status}`,
  );
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
  loadChunk,
  storage,
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
  const chunk = loadChunk || chunkLoader(doc, script.src);
  const markKey = READER_MARK_PREFIX + publisher;
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
  let telemetry = null; // once the telemetry chunk started it, after load
  let telemetryStarted = null; // Promise of it
  let telemetryEnded = false;
  let hostMade;
  const whenHost = new Promise((resolve) => {
    hostMade = resolve;
  });

  const marks = storage === undefined ? readerMarks(win) : storage;
  /** Set (true) or clear (false) the returning reader's mark; never throws, never waits. */
  function readerMark(value) {
    if (marks) marks.set(markKey, value).catch(() => undefined);
  }

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
    // The menu's panel comes with the wallet chunk, when a reader first opens a menu.
    const details = el("details", { class: "dg-wallet" });
    details.append(el("summary", {}, "Wallet"));
    bar.append(button, el("span", { class: "dg-note", role: "status", "aria-live": "polite" }), details);
    return bar;
  }

  function renderArticle(article, slug) {
    const n = ++uid;
    template = template || barTemplate();
    const bar = template.cloneNode(true);
    const [button, note, details] = bar.children;
    const [label, price] = button.children;
    button.setAttribute("aria-describedby", `dg-note-${n}`);
    note.id = `dg-note-${n}`;
    const entry = {
      article, slug, bar, button, label, price, note, state: null,
      details, title: "", priceText: "", content: null,
    };
    // One listener per bar: the unlock button, the wallet menu and its entries.
    bar.addEventListener("click", (event) => {
      const found = event.target && event.target.closest;
      const target = found && event.target.closest("[data-paywall-action]");
      if (!target || !bar.contains(target)) {
        if (found && event.target.closest("summary")) openWallet();
        return;
      }
      const action = target.getAttribute("data-paywall-action");
      const request = action !== "unlock" && wallet && wallet.action(action);
      if (action === "unlock") {
        unlock(slug);
      } else if (request) {
        details.open = false;
        walletAction(request).catch(() => undefined); // shown in the status line
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

  let wallet = null; // the wallet chunk's menus, once loaded
  let walletLoading = null;
  /** A wallet menu opened: load the menus (once) and say hello to the frame for the status. */
  function openWallet() {
    frame().catch(() => undefined);
    if (!walletLoading) {
      walletLoading = chunk("wallet").then((w) => {
        const menus = [];
        eachEntry((entry) => menus.push(entry.details));
        wallet = w.mountWallet({ document: doc, menus });
        if (lastView) wallet.show(lastView);
      });
      walletLoading.catch(() => {
        walletLoading = null;
      });
    }
    return walletLoading;
  }

  function showWallet(view) {
    lastView = view;
    if (wallet) wallet.show(view);
  }

  let lastView = null; // the frame's last {channel, capDrops}
  function onFrameEvent(msg) {
    if (msg.type === "channel") {
      readerMark(true);
      showWallet({ capDrops: null, ...lastView, channel: msg.channel });
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

  // Signs of intent: the pointer over, focus in, or a touch or press on a paywalled article.
  const INTENTS = ["pointerover", "focusin", "touchstart", "pointerdown"];
  let intentTimer = null;
  const onIntent = (event) => {
    const target = event.target;
    if (intentTimer !== null || !target || typeof target.closest !== "function") return;
    if (!target.closest("article[data-paywall-article]")) return;
    // Made in a task of its own, not inside the reader's event: the event stays short.
    intentTimer = win.setTimeout(ensureHost, 0);
  };

  function watchIntent(on) {
    for (const type of INTENTS) {
      if (on) doc.addEventListener(type, onIntent, { capture: true, passive: true });
      else doc.removeEventListener(type, onIntent, { capture: true, passive: true });
    }
  }

  /** The frame host, made on first need (a sign of intent, a returning reader, a request). */
  function ensureHost() {
    if (host) return host;
    watchIntent(false);
    host = createHost({ window: win, origin, publisher, onEvent: onFrameEvent });
    hostMade(host);
    host
      .ready()
      .then((hello) => {
        showWallet({ channel: hello && hello.channel, capDrops: hello && hello.capDrops });
        const returning = Boolean(hello && hello.reader === true);
        readerMark(returning);
        if (returning) return restore();
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
    // Paid, refused or failed, the frame most likely holds a reader now (it registers one to
    // ask): the next page makes the frame when idle, to restore its articles or resume its
    // pending channel. A wrong mark costs one early frame; the next hello removes it.
    return h.request("unlock", fields).finally(() => readerMark(true));
  }

  /** Flush the telemetry (started now if a click came before idle time), within the bound. */
  function flushTelemetry() {
    const started = telemetryStarted || startTelemetryNow();
    if (!started) return Promise.resolve(false);
    let timer = null;
    const bound = new Promise((resolve) => {
      timer = win.setTimeout(() => resolve(false), FLUSH_BEFORE_UNLOCK_MS);
    });
    const flushed = started.then((t) => (t ? t.flush(FLUSH_BEFORE_UNLOCK_MS) : false));
    return Promise.race([flushed, bound]).finally(() => win.clearTimeout(timer));
  }

  function velocityNote(err) {
    const after = err.details && err.details.retry_after;
    return Number.isSafeInteger(after) && after > 0
      ? `${NOTES.velocity} Please try again in ${after} s.`
      : `${NOTES.velocity} Please try again later.`;
  }

  /**
   * The press-and-hold challenge (the challenge chunk's `runChallenge`): true when the server
   * says the hold passed, false otherwise (and when the chunk cannot be loaded).
   */
  async function challenge(list, details) {
    if (!telemetry || telemetry.state === "disabled") return false;
    try {
      const ui = await chunk("challenge");
      return await ui.runChallenge({ document: doc, window: win, list, details, telemetry });
    } catch {
      return false; // the challenge cannot be shown: the unlock stays refused
    }
  }

  async function status() {
    const view = await (await frame()).request("status");
    if (view) showWallet(view);
    return view;
  }

  async function walletAction(type, fields) {
    try {
      const result = await (await frame()).request(type, fields);
      await status().catch(() => undefined);
      return result;
    } catch (err) {
      if (err && err.code !== "cancelled" && wallet) wallet.fail(err.code);
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
        chunks([...articles.keys()]).map((part) => getJson(doFetch, base + part.join(","), win)),
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
      watchIntent(true);
      // A returning reader: made when idle after load, to restore without a click. The mark is
      // read asynchronously (IndexedDB), never on the load's critical path.
      if (marks) afterLoad(() => marks.get(markKey).then((marked) => marked && ensureHost(), () => undefined));
    }
    afterLoad(startTelemetryNow);
  }

  /** `fn` when the browser is idle after the page's load event. */
  function afterLoad(fn) {
    if (doc.readyState === "complete") whenIdle(fn);
    else win.addEventListener("load", () => whenIdle(fn), { once: true, passive: true });
  }

  // --- telemetry -------------------------------------------------------------------------------

  /** Start the telemetry (once): load its chunk, start the sources and the socket. */
  function startTelemetryNow() {
    if (telemetryStarted || telemetryEnded) return telemetryStarted;
    telemetryStarted = Promise.resolve()
      .then(() =>
        connectTelemetry({
          window: win,
          origin,
          publisher,
          loadChunk: chunk,
          idle: whenIdle,
          // The fingerprint's worker part waits for the frame: it is never made for it.
          probe: () => whenHost.then((h) => h.request("probe")),
        }),
      )
      .then(
        (t) => {
          telemetry = t || null;
          return telemetry;
        },
        () => null, // no telemetry: unlocks still work, scored as a session that sent nothing
      );
    return telemetryStarted;
  }

  function endTelemetry() {
    telemetryEnded = true;
    if (telemetryStarted) telemetryStarted.then((t) => t && safe(() => t.close()));
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
    dispute: (article, { reason, message } = {}) => walletAction("dispute", { article, reason, message }),
  });
  Object.defineProperty(win, "Dropgate", { value: api, configurable: true, enumerable: false, writable: false });

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot, { once: true });
  else boot();
  return api;
}
