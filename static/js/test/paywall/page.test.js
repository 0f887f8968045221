// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FrameRequestError } from "../../src/paywall/frame-host.js";
import { indexedDB as fakeIndexedDB } from "fake-indexeddb";
import { FRAME_IDLE_TIMEOUT_MS, READER_MARK_PREFIX, classifyError, gateReason, readerMarks, startPaywall } from "../../src/paywall/page.js";
import { errorBody, fakeFetch, flush } from "../helpers.js";

const ORIGIN = "https://pay.example";
const BASE = `${ORIGIN}/api/v1/`;

const TEASERS = {
  "harbour-tides": {
    publisher: "pub_a",
    article: "harbour-tides",
    title: "Harbour tides",
    price_drops: "200000",
    price_xrp: "0.2",
    display_price: { amount: "0.10", currency: "USD", approximate: true, rate: "0.5", rate_source: "demo", rate_as_of: null },
  },
  "city-bees": {
    publisher: "pub_a",
    article: "city-bees",
    title: "City bees",
    price_drops: "100000",
    price_xrp: "0.1",
    display_price: { amount: "0.1", currency: "XRP", approximate: false, rate: null, rate_source: null, rate_as_of: null },
  },
};

function page() {
  document.body.innerHTML = `
    <main>
      <article data-paywall-article="harbour-tides"><h2>Harbour tides</h2><p>Teaser.</p><div data-paywall-content></div></article>
      <article data-paywall-article="city-bees"><h2>City bees</h2><p>Teaser.</p><div data-paywall-content></div></article>
    </main>`;
  const script = document.createElement("script");
  script.setAttribute("data-publisher", "pub_a");
  script.src = `${ORIGIN}/static/js/paywall.js`;
  return script;
}

/** A stand-in for the signer frame: answers requests with the given handlers. */
function fakeFrame(handlers = {}, hello = { reader: false, channel: null, capDrops: 2_000_000 }) {
  const frame = { requests: [], onEvent: null, created: 0 };
  frame.create = ({ origin, publisher, onEvent }) => {
    frame.created++;
    frame.origin = origin;
    frame.publisher = publisher;
    frame.onEvent = onEvent;
    return {
      ready: async () => hello,
      request: async (type, fields) => {
        frame.requests.push({ type, ...fields });
        const handler = handlers[type];
        if (!handler) throw new FrameRequestError("not_implemented", type);
        return handler(fields);
      },
    };
  };
  return frame;
}

const TEASERS_PATH = "GET publishers/pub_a/articles?slugs=harbour-tides,city-bees";
const MARK = `${READER_MARK_PREFIX}pub_a`;

/** The chunks as modules (the built page script loads them as scripts with SRI: chunks.test.js). */
export const CHUNK_MODULES = {
  wallet: () => import("../../src/paywall/wallet.js"),
  challenge: () => import("../../src/paywall/challenge.js"),
};
const loadChunk = (name) => CHUNK_MODULES[name]();

/** Wait (up to 5 s) until `check()` is truthy: a chunk's first import takes a while in vitest. */
async function until(check) {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** The reader marks' stand-in (readerMarks' interface; the real one is tested below). */
function fakeStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    get: async (k) => data.get(k) === "1",
    set: async (k, v) => void (v ? data.set(k, "1") : data.delete(k)),
  };
}

let listening = null;

/**
 * Start the page script on the test page. `idle` schedules the frame's creation: by default
 * at once; `idle: "manual"` keeps the callbacks in `idleQueue` for the test to run.
 */
function start({ handlers, routes, hello, idle, telemetry = null, marked = false } = {}) {
  const script = page();
  const frame = fakeFrame(handlers, hello);
  const events = [];
  if (listening) document.removeEventListener("paywall:statechange", listening);
  listening = (e) => events.push({ target: e.target, ...e.detail });
  document.addEventListener("paywall:statechange", listening);
  const { fetch, calls } = fakeFetch(
    {
      [TEASERS_PATH]: [200, { publisher: "pub_a", articles: [TEASERS["harbour-tides"], TEASERS["city-bees"]] }],
      ...routes,
    },
    { base: BASE },
  );
  const idleQueue = [];
  const schedule = idle === "manual" ? (fn) => idleQueue.push(fn) : idle === null ? undefined : idle || ((fn) => fn());
  // No telemetry socket unless a test brings one (page-challenge.test.js covers it).
  const storage = fakeStorage(marked ? { [MARK]: "1" } : {});
  const api = startPaywall({
    window, script, fetch, createHost: frame.create, idle: schedule, connectTelemetry: () => telemetry, loadChunk, storage,
  });
  return { api, frame, events, calls, idleQueue, storage };
}

const article = (slug) => document.querySelector(`article[data-paywall-article="${slug}"]`);
const button = (slug) => article(slug).querySelector('button[data-paywall-action="unlock"]');
const content = (slug) => article(slug).querySelector("[data-paywall-content]");

describe("page script", () => {
  beforeEach(() => {
    delete window.Dropgate;
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("locks every article, with an accessible unlock button and an empty content slot", async () => {
    const { events } = start();
    for (const slug of ["harbour-tides", "city-bees"]) {
      expect(article(slug).getAttribute("data-paywall-state")).toBe("locked");
      expect(button(slug).tagName).toBe("BUTTON");
      expect(button(slug).type).toBe("button");
      expect(content(slug).innerHTML).toBe("");
    }
    expect(events.map((e) => [e.article, e.state, e.amountDrops])).toEqual([
      ["harbour-tides", "locked", 0],
      ["city-bees", "locked", 0],
    ]);
    expect(events[0].target).toBe(article("harbour-tides"));
  });

  it("labels the button with the price in XRP and the display currency", async () => {
    start();
    await flush(30);
    expect(button("harbour-tides").textContent).toBe("Unlock for 0.2 XRP (≈ 0.10 USD)");
    expect(button("harbour-tides").getAttribute("aria-label")).toBe("Unlock for 0.2 XRP (≈ 0.10 USD): Harbour tides");
    expect(button("city-bees").textContent).toBe("Unlock for 0.1 XRP");
    // the status note is a polite live region tied to the button
    const note = document.getElementById(button("city-bees").getAttribute("aria-describedby"));
    expect(note.getAttribute("role")).toBe("status");
  });

  it("unlocks: pending, then unlocked with amountDrops as a number and the paid HTML inserted", async () => {
    const { frame, events } = start({
      handlers: { unlock: ({ article: slug }) => ({ article: slug, amountDrops: 200000, html: "<p>The full story.</p>" }) },
    });
    await flush(30);
    button("harbour-tides").click();
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe("pending");
    expect(button("harbour-tides").getAttribute("aria-disabled")).toBe("true");
    expect(button("harbour-tides").getAttribute("aria-busy")).toBe("true");
    button("harbour-tides").click(); // a second click while pending changes nothing
    await flush(30);
    expect(frame.requests.filter((r) => r.type === "unlock")).toEqual([{ type: "unlock", article: "harbour-tides" }]);
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe("unlocked");
    expect(article("harbour-tides").hasAttribute("data-paywall-reason")).toBe(false);
    expect(content("harbour-tides").innerHTML).toBe("<p>The full story.</p>");
    const mine = events.filter((e) => e.article === "harbour-tides");
    expect(mine.map((e) => e.state)).toEqual(["locked", "pending", "unlocked"]);
    expect(mine.at(-1).amountDrops).toBe(200000);
    expect(typeof mine.at(-1).amountDrops).toBe("number");
    // the other article is untouched
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("locked");
    expect(content("city-bees").innerHTML).toBe("");
  });

  it("re-entry reports 0", async () => {
    const { api, events } = start({ handlers: { unlock: () => ({ article: "city-bees", amountDrops: 0, html: "<p>x</p>" }) } });
    expect(await api.unlock("city-bees")).toEqual({ article: "city-bees", state: "unlocked", amountDrops: 0, reason: null });
    expect(events.at(-1)).toMatchObject({ article: "city-bees", state: "unlocked", amountDrops: 0 });
  });

  it.each([
    ["cap_exceeded", "blocked", "cap"],
    ["cancelled", "blocked", "cancelled"],
    ["channel_exhausted", "blocked", "channel_exhausted"],
    ["risk_blocked", "blocked", "risk"],
    ["compliance_blocked", "blocked", "compliance"],
    ["network_error", "error", "network_error"],
    ["ledger_unavailable", "error", "ledger_unavailable"],
  ])("a %s reply moves the article to %s (%s)", async (code, state, reason) => {
    const { api, events } = start({
      handlers: {
        unlock: () => {
          throw new FrameRequestError(code, "no");
        },
      },
    });
    const result = await api.unlock("harbour-tides");
    expect(result).toMatchObject({ state, reason, amountDrops: 0 });
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe(state);
    expect(article("harbour-tides").getAttribute("data-paywall-reason")).toBe(reason);
    expect(events.at(-1)).toMatchObject({ article: "harbour-tides", state, amountDrops: 0 });
    expect(content("harbour-tides").innerHTML).toBe("");
    expect(button("harbour-tides").hasAttribute("aria-disabled")).toBe(false); // the reader may try again
  });

  it("Dropgate.dispute asks the frame to open its Report a problem form for the article", async () => {
    const filed = { id: 3, article: "harbour-tides", reason: "accidental", status: "won_by_reader", outcome: "reader", refundDrops: 100 };
    const { frame } = start({ handlers: { dispute: () => filed } });
    expect(await window.Dropgate.dispute("harbour-tides", { reason: "accidental", message: "m" })).toEqual(filed);
    expect(frame.requests.filter((r) => r.type === "dispute")).toEqual([
      { type: "dispute", article: "harbour-tides", reason: "accidental", message: "m" },
    ]);
  });

  it("exposes window.Dropgate", async () => {
    const { frame } = start({ handlers: { status: () => ({ channel: null, capDrops: 1 }), setCap: () => ({ capDrops: 5 }), topUp: () => ({}), closeChannel: () => ({}), rotateClaimKey: () => ({ claimPublicKey: "ED00", closingChannels: [] }) } });
    expect(window.Dropgate.version).toBe("0.3.0");
    for (const name of ["unlock", "status", "setCap", "topUp", "closeChannel", "rotateClaimKey"]) expect(typeof window.Dropgate[name]).toBe("function");
    expect(await window.Dropgate.status()).toEqual({ channel: null, capDrops: 1 });
    expect(await window.Dropgate.setCap()).toEqual({ capDrops: 5 });
    await window.Dropgate.topUp();
    await window.Dropgate.closeChannel();
    expect(await window.Dropgate.rotateClaimKey()).toEqual({ claimPublicKey: "ED00", closingChannels: [] });
    expect(frame.requests.map((r) => r.type)).toEqual(
      expect.arrayContaining(["status", "setCap", "topUp", "closeChannel", "rotateClaimKey"]),
    );
    await expect(window.Dropgate.unlock("nope")).rejects.toThrow(/no article/);
    expect(frame.publisher).toBe("pub_a");
    expect(frame.origin).toBe(ORIGIN);
  });

  it("the wallet menu comes with its chunk when first opened, and asks the frame, which owns the cap, top-up and close", async () => {
    const { frame } = start({ handlers: { setCap: () => ({ capDrops: 5 }), status: () => ({ channel: null, capDrops: 5 }) } });
    await flush(30);
    const wallet = article("city-bees").querySelector("details.dg-wallet");
    expect(wallet.querySelector("summary").textContent).toBe("Wallet");
    expect(wallet.querySelector("button")).toBeNull(); // not at load
    wallet.querySelector("summary").click();
    await until(() => wallet.querySelector("button")); // the chunk's import
    await flush(30);
    expect(frame.created).toBe(1); // opening the menu is a sign of intent
    expect([...wallet.querySelectorAll("button")].map((b) => b.getAttribute("data-paywall-action"))).toEqual([
      "set-cap", "top-up", "close-channel", "rotate-key",
    ]);
    expect(article("harbour-tides").querySelectorAll("details.dg-wallet button")).toHaveLength(4); // every bar's
    expect(wallet.querySelector(".dg-wallet-status").textContent).toBe("No payment channel yet. Cap: 2 XRP.");
    wallet.querySelector('button[data-paywall-action="set-cap"]').click();
    await flush(30);
    expect(frame.requests.map((r) => r.type)).toContain("setCap");
    expect(wallet.querySelector(".dg-wallet-status").textContent).toBe("No payment channel yet. Cap: 0.000005 XRP.");
  });

  it("shows channel events in the wallet menus", async () => {
    const { frame } = start();
    await flush(30);
    document.querySelector("summary").click();
    await until(() => document.querySelector(".dg-wallet-status")); // the chunk's import
    await flush(30);
    frame.onEvent({ type: "channel", channel: { channelId: "A", fundedDrops: 1_000_000, spentDrops: 200_000, remainingDrops: 800_000, status: "open" } });
    expect(document.querySelector(".dg-wallet-status").textContent).toBe("Channel open: 0.8 of 1 XRP left. Cap: 2 XRP.");
  });

  it("does not load the frame for a site the publisher does not allow", async () => {
    const { frame, events } = start({ routes: { [TEASERS_PATH]: [403, errorBody("origin_not_allowed")] } });
    await flush(30);
    expect(frame.created).toBe(0);
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe("error");
    expect(article("harbour-tides").getAttribute("data-paywall-reason")).toBe("origin_not_allowed");
    expect(events.at(-1)).toMatchObject({ state: "error" });
  });

  it("uses no inline styles: a constructed stylesheet", async () => {
    start();
    await flush(30);
    expect(document.querySelectorAll("[style]")).toHaveLength(0);
    expect(document.querySelectorAll("style")).toHaveLength(0);
    expect(document.adoptedStyleSheets.length).toBeGreaterThan(0);
  });

  it("calls only the public teaser endpoint itself, once for every article, on the paywall origin", async () => {
    const { calls } = start();
    await flush(30);
    expect(calls.map((c) => c.url)).toEqual([`${BASE}publishers/pub_a/articles?slugs=harbour-tides,city-bees`]);
    for (const c of calls) expect(c.headers.Authorization).toBeUndefined();
  });

  it("starts once even if the tag is on the page twice", () => {
    const first = start().api;
    const again = startPaywall({ window, script: document.createElement("script"), createHost: () => null });
    expect(again).toBe(first);
  });

  it("refuses a tag without data-publisher", () => {
    page();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const script = document.createElement("script");
    script.src = `${ORIGIN}/static/js/paywall.js`;
    expect(startPaywall({ window, script })).toBeNull();
    expect(warn).toHaveBeenCalled();
  });
});

describe("page script at load", () => {
  beforeEach(() => {
    delete window.Dropgate;
  });
  afterEach(() => {
    document.body.innerHTML = "";
    vi.useRealTimers();
  });

  it("renders each article's bar with one insertion, already locked, and its price from one request", async () => {
    const script = page();
    const inserted = [];
    const observer = new MutationObserver((records) => {
      for (const r of records) for (const node of r.addedNodes) if (node.nodeType === 1) inserted.push(node);
    });
    observer.observe(document.body, { childList: true, subtree: true });
    const { fetch, calls } = fakeFetch(
      { [TEASERS_PATH]: [200, { publisher: "pub_a", articles: [TEASERS["city-bees"]] }] },
      { base: BASE },
    );
    startPaywall({ window, script, fetch, createHost: fakeFrame().create, idle: () => {}, connectTelemetry: () => null });
    await flush(30);
    observer.disconnect();
    // one bar per article, inserted whole (its button, note and the wallet menu's summary were
    // built off-document; the menu's entries come with the wallet chunk)
    expect(inserted.map((n) => n.className)).toEqual(["dg-bar", "dg-bar"]);
    expect(inserted[0].querySelectorAll("button")).toHaveLength(1);
    expect(inserted[0].querySelectorAll("details.dg-wallet > summary")).toHaveLength(1);
    expect(calls).toHaveLength(1);
    // an article the server does not know keeps a working button without a price
    expect(button("harbour-tides").textContent).toBe("Unlock");
    expect(button("city-bees").textContent).toBe("Unlock for 0.1 XRP");
    // the note ids are unique and tie each button to its own note
    const ids = [button("harbour-tides"), button("city-bees")].map((b) => b.getAttribute("aria-describedby"));
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(document.getElementById(id).className).toBe("dg-note");
  });

  it("asks for at most 100 slugs per request", async () => {
    const script = page();
    document.querySelector("main").innerHTML = Array.from(
      { length: 150 },
      (_, n) => `<article data-paywall-article="s-${n}"><div data-paywall-content></div></article>`,
    ).join("");
    const { fetch, calls } = fakeFetch(
      {
        "GET publishers/pub_a/articles": (call) => {
          const slugs = new URL(call.url).searchParams.get("slugs").split(",");
          return [200, { publisher: "pub_a", articles: slugs.map((slug) => ({ ...TEASERS["city-bees"], article: slug })) }];
        },
      },
      { base: BASE },
    );
    startPaywall({ window, script, fetch, createHost: fakeFrame().create, idle: () => {}, connectTelemetry: () => null });
    await flush(50);
    expect(calls.map((c) => new URL(c.url).searchParams.get("slugs").split(",").length)).toEqual([100, 50]);
    expect(document.querySelector('article[data-paywall-article="s-149"] button').textContent).toBe("Unlock for 0.1 XRP");
  });

  it("makes no frame for a new reader, neither at load nor when idle: only at a sign of intent", async () => {
    const { frame, idleQueue } = start({ idle: "manual" });
    await flush(30);
    expect(idleQueue).toHaveLength(2); // the mark's check and the telemetry's start, after load
    for (const fn of idleQueue.splice(0)) fn();
    await flush(30);
    expect(frame.created).toBe(0);
    document.querySelector("main").dispatchEvent(new Event("pointerover", { bubbles: true })); // not an article
    await new Promise((r) => setTimeout(r, 5));
    expect(frame.created).toBe(0);
    article("city-bees").querySelector("h2").dispatchEvent(new Event("pointerover", { bubbles: true }));
    expect(frame.created).toBe(0); // not inside the reader's event
    await new Promise((r) => setTimeout(r, 5));
    expect(frame.created).toBe(1);
    article("harbour-tides").dispatchEvent(new Event("focusin", { bubbles: true }));
    await new Promise((r) => setTimeout(r, 5));
    expect(frame.created).toBe(1);
  });

  it("a returning reader's mark makes the frame when idle after load", async () => {
    const { frame, idleQueue } = start({ idle: "manual", marked: true });
    await flush(30);
    expect(frame.created).toBe(0);
    expect(idleQueue).toHaveLength(2); // the mark's check (then the frame), the telemetry
    idleQueue[0]();
    await flush(30);
    expect(frame.created).toBe(1);
  });

  it.each([
    ["focus", "focusin"],
    ["a touch", "touchstart"],
    ["a press", "pointerdown"],
  ])("%s in a paywalled article is a sign of intent too", async (_, type) => {
    const { frame } = start({ idle: "manual" });
    await flush(30);
    article("harbour-tides").querySelector("p").dispatchEvent(new Event(type, { bubbles: true }));
    await new Promise((r) => setTimeout(r, 5));
    expect(frame.created).toBe(1);
  });

  it("uses requestIdleCallback with a deadline, else setTimeout", async () => {
    const ric = vi.fn();
    window.requestIdleCallback = ric;
    try {
      start({ idle: null, marked: true });
      await flush(30);
      expect(ric).toHaveBeenCalledWith(expect.any(Function), { timeout: FRAME_IDLE_TIMEOUT_MS });
    } finally {
      delete window.requestIdleCallback;
    }
    document.body.innerHTML = "";
    delete window.Dropgate;
    const { frame } = start({ idle: null, marked: true });
    await flush(30);
    expect(frame.created).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(frame.created).toBe(1);
  });

  it("a returning reader's sign of intent before idle time makes the frame once", async () => {
    const { frame, idleQueue } = start({ idle: "manual", marked: true });
    await flush(30);
    article("city-bees").dispatchEvent(new Event("pointerover", { bubbles: true }));
    await new Promise((r) => setTimeout(r, 5));
    expect(frame.created).toBe(1);
    idleQueue[0]();
    expect(frame.created).toBe(1);
  });

  it("an unlock click before idle time creates the frame and unlocks", async () => {
    const { frame } = start({
      idle: "manual",
      handlers: { unlock: ({ article: slug }) => ({ article: slug, amountDrops: 100000, html: "<p>Bees.</p>" }) },
    });
    await flush(30);
    button("city-bees").click();
    await flush(30);
    expect(frame.created).toBe(1);
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("unlocked");
  });

  it.each([
    ["an unreadable refusal (no CORS header)", () => new TypeError("Failed to fetch"), "origin_not_allowed"],
    ["a readable refusal", [403, errorBody("origin_not_allowed")], "origin_not_allowed"],
    ["an unknown publisher", [404, errorBody("publisher_not_found")], "publisher_not_found"],
    ["an inactive publisher", [403, errorBody("publisher_inactive")], "publisher_inactive"],
    ["rate limiting", [429, errorBody("rate_limited")], "rate_limited"],
    ["a 500 without an envelope", () => new Response("oops", { status: 500 }), "http_500"],
  ])("when the first request fails (%s) every article shows error at once and no frame is made", async (_, answer, reason) => {
    const { frame, events, idleQueue, api } = start({
      idle: "manual",
      routes: { [TEASERS_PATH]: typeof answer === "function" ? () => answer() : answer },
    });
    await flush(30);
    for (const slug of ["harbour-tides", "city-bees"]) {
      expect(article(slug).getAttribute("data-paywall-state")).toBe("error");
      expect(article(slug).getAttribute("data-paywall-reason")).toBe(reason);
    }
    expect(events.map((e) => e.state)).toEqual(["locked", "locked", "error", "error"]);
    expect(events.at(-1)).toMatchObject({ state: "error", reason, amountDrops: 0 });
    expect(idleQueue).toHaveLength(0);
    // neither an interaction nor a click makes a frame on that page
    document.body.dispatchEvent(new Event("pointerdown", { bubbles: true }));
    expect(await api.unlock("city-bees")).toMatchObject({ state: "error", reason });
    await expect(api.status()).rejects.toMatchObject({ code: reason });
    expect(frame.created).toBe(0);
  });

  it("gateReason: the server's code when readable, origin_not_allowed without an answer", () => {
    expect(gateReason({ code: "origin_not_allowed", status: 403 })).toBe("origin_not_allowed");
    expect(gateReason({ code: "ledger_unavailable", status: 503 })).toBe("ledger_unavailable");
    expect(gateReason({ status: 502 })).toBe("http_502");
    expect(gateReason({ code: "network_error", status: 0, details: { timeout: false } })).toBe("origin_not_allowed");
    expect(gateReason({ code: "network_error", status: 0, details: { timeout: true } })).toBe("network_error");
    expect(gateReason(undefined)).toBe("origin_not_allowed");
  });
});

describe("returning readers", () => {
  beforeEach(() => {
    delete window.Dropgate;
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  const READER = { reader: true, channel: null, capDrops: 2_000_000 };

  it("restores the articles the reader paid before, without a click, at 0", async () => {
    const { frame, events, storage } = start({
      hello: READER,
      marked: true,
      handlers: { restore: () => ({ unlocked: [{ article: "harbour-tides", html: "<p>The tides.</p>" }] }) },
    });
    await flush(40);
    expect(frame.requests).toEqual([{ type: "restore", articles: ["harbour-tides", "city-bees"] }]);
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe("unlocked");
    expect(content("harbour-tides").innerHTML).toBe("<p>The tides.</p>");
    expect(button("harbour-tides").hidden).toBe(true);
    const mine = events.filter((e) => e.article === "harbour-tides");
    expect(mine.map((e) => [e.state, e.amountDrops])).toEqual([
      ["locked", 0],
      ["unlocked", 0],
    ]);
    expect(mine.at(-1).target).toBe(article("harbour-tides"));
    // not paid: stays locked
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("locked");
    expect(content("city-bees").innerHTML).toBe("");
    expect(events.filter((e) => e.article === "city-bees").map((e) => e.state)).toEqual(["locked"]);
    expect(storage.data.get(MARK)).toBe("1");
  });

  it("a reader the frame knows, met at a sign of intent, is restored and marked for the next page", async () => {
    const { frame, storage } = start({
      hello: READER,
      handlers: { restore: () => ({ unlocked: [{ article: "city-bees", html: "<p>Bees.</p>" }] }) },
    });
    await flush(30);
    expect(frame.created).toBe(0);
    article("harbour-tides").dispatchEvent(new Event("pointerover", { bubbles: true }));
    await new Promise((r) => setTimeout(r, 5));
    await flush(30);
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("unlocked");
    expect(storage.data.get(MARK)).toBe("1");
  });

  it("asks nothing for a new reader, and forgets a stale mark", async () => {
    const { frame, storage } = start({ marked: true, handlers: { restore: () => ({ unlocked: [] }) } });
    await flush(40);
    expect(frame.created).toBe(1);
    expect(frame.requests).toEqual([]);
    expect(storage.data.has(MARK)).toBe(false);
  });

  it("marks the reader after an unlock went to the frame, paid or not, and keeps working without storage", async () => {
    const { storage } = start({
      handlers: { unlock: ({ article: slug }) => ({ article: slug, amountDrops: 100000, html: "<p>Bees.</p>" }) },
    });
    await flush(30);
    button("city-bees").click();
    await flush(30);
    expect(storage.data.get(MARK)).toBe("1");
    document.body.innerHTML = "";
    delete window.Dropgate;
    const failed = start({
      handlers: {
        unlock: () => {
          throw new FrameRequestError("network_error", "the answer was lost");
        },
      },
    });
    await flush(30);
    button("city-bees").click();
    await flush(30);
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("error");
    expect(failed.storage.data.get(MARK)).toBe("1"); // e.g. a pending channel to resume
    document.body.innerHTML = "";
    delete window.Dropgate;
    const script = page();
    const { fetch } = fakeFetch({ [TEASERS_PATH]: [200, { publisher: "pub_a", articles: [] }] }, { base: BASE });
    const broken = { get: async () => { throw new Error("SecurityError"); }, set: async () => { throw new Error("QuotaExceeded"); } };
    startPaywall({ window, script, fetch, createHost: fakeFrame().create, idle: (fn) => fn(), connectTelemetry: () => null, loadChunk, storage: broken });
    await flush(30);
    expect(article("city-bees").getAttribute("data-paywall-state")).toBe("locked");
  });

  it("ignores what it did not ask for and malformed items; a failed restore leaves articles locked", async () => {
    const { events } = start({
      hello: READER,
      marked: true,
      handlers: {
        restore: () => ({
          unlocked: [{ article: "elsewhere", html: "<p>x</p>" }, { article: "city-bees", html: 5 }, null, "harbour-tides"],
        }),
      },
    });
    await flush(40);
    expect(events.map((e) => e.state)).toEqual(["locked", "locked"]);
    document.body.innerHTML = "";
    delete window.Dropgate;
    const failing = start({
      hello: READER,
      marked: true,
      handlers: {
        restore: () => {
          throw new FrameRequestError("network_error", "down");
        },
      },
    });
    await flush(40);
    expect(failing.events.map((e) => e.state)).toEqual(["locked", "locked"]);
  });

  it("leaves an article the reader is unlocking meanwhile to that unlock", async () => {
    let answerRestore;
    let answerUnlock;
    const { events } = start({
      hello: READER,
      idle: "manual",
      handlers: {
        restore: () => new Promise((resolve) => (answerRestore = resolve)),
        unlock: () => new Promise((resolve) => (answerUnlock = resolve)),
      },
    });
    await flush(30);
    button("harbour-tides").click(); // creates the frame, which restores meanwhile
    await flush(30);
    expect(typeof answerRestore).toBe("function");
    answerRestore({ unlocked: [{ article: "harbour-tides", html: "<p>Restored.</p>" }] });
    await flush(30);
    expect(article("harbour-tides").getAttribute("data-paywall-state")).toBe("pending");
    answerUnlock({ article: "harbour-tides", amountDrops: 0, html: "<p>Re-entered.</p>" });
    await flush(30);
    const mine = events.filter((e) => e.article === "harbour-tides").map((e) => e.state);
    // the click's own unlock decides, once
    expect(mine).toEqual(["locked", "pending", "unlocked"]);
    expect(content("harbour-tides").innerHTML).toBe("<p>Re-entered.</p>");
  });
});

describe("classifyError", () => {
  it("maps refusals to blocked reasons and everything else to error", () => {
    expect(classifyError("cap_exceeded")).toEqual(["blocked", "cap"]);
    expect(classifyError("fraud_suspected")).toEqual(["blocked", "risk"]);
    expect(classifyError("sanctions_hit")).toEqual(["blocked", "compliance"]);
    expect(classifyError("jurisdiction_blocked")).toEqual(["blocked", "jurisdiction"]);
    expect(classifyError("reader_limit_reached")).toEqual(["blocked", "limit"]);
    expect(classifyError("jurisdiction_unknown")).toEqual(["blocked", "compliance"]);
    expect(classifyError("claim_underpaid")).toEqual(["error", "claim_underpaid"]);
    expect(classifyError(undefined)).toEqual(["error", "internal_error"]);
  });
});

describe("readerMarks", () => {
  it("keeps a mark per key in the page's IndexedDB, asynchronously", async () => {
    const marks = readerMarks({ indexedDB: fakeIndexedDB });
    expect(await marks.get(MARK)).toBe(false);
    await marks.set(MARK, true);
    expect(await marks.get(MARK)).toBe(true);
    expect(await marks.get(`${READER_MARK_PREFIX}pub_other`)).toBe(false);
    await marks.set(MARK, false);
    expect(await marks.get(MARK)).toBe(false);
    expect(readerMarks({})).toBeNull(); // no IndexedDB: no marks, nothing breaks
  });
});
