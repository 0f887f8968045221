// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FrameRequestError } from "../../src/paywall/frame-host.js";
import { classifyError, startPaywall } from "../../src/paywall/page.js";
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
function fakeFrame(handlers = {}) {
  const frame = { requests: [], onEvent: null, created: 0 };
  frame.create = ({ origin, publisher, onEvent }) => {
    frame.created++;
    frame.origin = origin;
    frame.publisher = publisher;
    frame.onEvent = onEvent;
    return {
      ready: async () => ({ reader: false, channel: null, capDrops: 2_000_000 }),
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

function start({ handlers, routes } = {}) {
  const script = page();
  const frame = fakeFrame(handlers);
  const events = [];
  document.addEventListener("paywall:statechange", (e) => events.push({ target: e.target, ...e.detail }));
  const { fetch, calls } = fakeFetch(
    {
      "GET config?publisher=pub_a": [200, { publisher: "pub_a", min_channel_drops: "1000000" }],
      "GET publishers/pub_a/articles/harbour-tides": [200, TEASERS["harbour-tides"]],
      "GET publishers/pub_a/articles/city-bees": [200, TEASERS["city-bees"]],
      ...routes,
    },
    { base: BASE },
  );
  const api = startPaywall({ window, script, fetch, createHost: frame.create });
  return { api, frame, events, calls };
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

  it("exposes window.Dropgate", async () => {
    const { frame } = start({ handlers: { status: () => ({ channel: null, capDrops: 1 }), setCap: () => ({ capDrops: 5 }), topUp: () => ({}), closeChannel: () => ({}) } });
    expect(window.Dropgate.version).toBe("0.1.0");
    for (const name of ["unlock", "status", "setCap", "topUp", "closeChannel"]) expect(typeof window.Dropgate[name]).toBe("function");
    expect(await window.Dropgate.status()).toEqual({ channel: null, capDrops: 1 });
    expect(await window.Dropgate.setCap()).toEqual({ capDrops: 5 });
    await window.Dropgate.topUp();
    await window.Dropgate.closeChannel();
    expect(frame.requests.map((r) => r.type)).toEqual(expect.arrayContaining(["status", "setCap", "topUp", "closeChannel"]));
    await expect(window.Dropgate.unlock("nope")).rejects.toThrow(/no article/);
    expect(frame.publisher).toBe("pub_a");
    expect(frame.origin).toBe(ORIGIN);
  });

  it("the wallet menu asks the frame, which owns the cap, top-up and close", async () => {
    const { frame } = start({ handlers: { setCap: () => ({ capDrops: 5 }), status: () => ({ channel: null, capDrops: 5 }) } });
    await flush(30);
    const wallet = article("city-bees").querySelector("details.dg-wallet");
    expect(wallet.querySelector("summary").textContent).toBe("Wallet");
    wallet.querySelector('button[data-paywall-action="set-cap"]').click();
    await flush(30);
    expect(frame.requests.map((r) => r.type)).toContain("setCap");
    expect(wallet.querySelector(".dg-wallet-status").textContent).toBe("No payment channel yet. Cap: 0.000005 XRP.");
  });

  it("shows channel events in the wallet menus", async () => {
    const { frame } = start();
    await flush(30);
    frame.onEvent({ type: "channel", channel: { channelId: "A", fundedDrops: 1_000_000, spentDrops: 200_000, remainingDrops: 800_000, status: "open" } });
    expect(document.querySelector(".dg-wallet-status").textContent).toBe("Channel open: 0.8 of 1 XRP left. Cap: 2 XRP.");
  });

  it("does not load the frame for a site the publisher does not allow", async () => {
    const { frame, events } = start({ routes: { "GET config?publisher=pub_a": [403, errorBody("origin_not_allowed")] } });
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

  it("calls only the public endpoints itself, on the paywall origin", async () => {
    const { calls } = start();
    await flush(30);
    expect(calls.map((c) => c.url).sort()).toEqual([
      `${BASE}config?publisher=pub_a`,
      `${BASE}publishers/pub_a/articles/city-bees`,
      `${BASE}publishers/pub_a/articles/harbour-tides`,
    ]);
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

describe("classifyError", () => {
  it("maps refusals to blocked reasons and everything else to error", () => {
    expect(classifyError("cap_exceeded")).toEqual(["blocked", "cap"]);
    expect(classifyError("fraud_suspected")).toEqual(["blocked", "risk"]);
    expect(classifyError("sanctions_hit")).toEqual(["blocked", "compliance"]);
    expect(classifyError("jurisdiction_blocked")).toEqual(["blocked", "compliance"]);
    expect(classifyError("claim_underpaid")).toEqual(["error", "claim_underpaid"]);
    expect(classifyError(undefined)).toEqual(["error", "internal_error"]);
  });
});
