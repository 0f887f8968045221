// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FrameRequestError } from "../../src/paywall/frame-host.js";
import { startPaywall } from "../../src/paywall/page.js";
import { createTelemetryConnection } from "../../src/paywall/telemetry/connection.js";
import { startPageTelemetry } from "../../src/paywall/telemetry/page.js";
import { FakeSocket, errorBody, fakeFetch, flush } from "../helpers.js";
import { at } from "./telemetry/sources.helpers.js";

const ORIGIN = "https://pay.example";
const SESSION = "tls_abcdefghijklmnopqrstuv";
const CHALLENGE = { id: "chl_1", kind: "press_hold", hold_ms: 800 };
const TEASER = { publisher: "pub_a", article: "harbour-tides", title: "Harbour tides", price_drops: "200000", price_xrp: "0.2", display_price: null };
const GRANTED = { article: "harbour-tides", amountDrops: 200000, html: "<p>The full story.</p>" };

/** The telemetry socket as the page sees it. */
function fakeTelemetry({ passed = true, state = "open" } = {}) {
  return {
    state,
    session: SESSION,
    start: vi.fn(),
    flush: vi.fn(async () => true),
    challenge: vi.fn(async () => passed),
    sendNow: vi.fn(),
    close: vi.fn(),
  };
}

const CHUNKS = { challenge: () => import("../../src/paywall/challenge.js"), wallet: () => import("../../src/paywall/wallet.js") };
const loadChunk = (name) => CHUNKS[name]();

function start({ unlock, telemetry = fakeTelemetry(), gate = [200, { publisher: "pub_a", articles: [TEASER] }] } = {}) {
  document.body.innerHTML = `<article data-paywall-article="harbour-tides"><h2>Harbour tides</h2><p>Teaser.</p><div data-paywall-content></div></article>`;
  const script = document.createElement("script");
  script.setAttribute("data-publisher", "pub_a");
  script.src = `${ORIGIN}/static/js/paywall.js`;
  const requests = [];
  const createHost = () => ({
    ready: async () => ({ reader: false, channel: null, capDrops: 2_000_000 }),
    request: async (type, fields) => {
      requests.push({ type, ...fields });
      if (type === "unlock") return unlock(requests.filter((r) => r.type === "unlock").length);
      if (type === "probe") return { worker: null };
      throw new FrameRequestError("not_implemented", type);
    },
  });
  const { fetch } = fakeFetch({ "GET publishers/pub_a/articles?slugs=harbour-tides": gate }, { base: `${ORIGIN}/api/v1/` });
  const idle = [];
  const connectTelemetry = vi.fn(() => telemetry);
  const api = startPaywall({ window, script, fetch, createHost, idle: (fn) => idle.push(fn), connectTelemetry, loadChunk, storage: null });
  return { api, requests, telemetry, idle, connectTelemetry };
}

const article = () => document.querySelector("article");
const unlockButton = () => article().querySelector('button[data-paywall-action="unlock"]');
const challengeButton = () => article().querySelector('button[data-paywall-action="challenge"]');
const note = () => article().querySelector(".dg-note");
const press = (t) => at(new PointerEvent("pointerdown", { clientX: 30, clientY: 40, pointerId: 1, isPrimary: true, button: 0, bubbles: true }), t);
const release = (t) => at(new PointerEvent("pointerup", { clientX: 31, clientY: 40, pointerId: 1, isPrimary: true, button: 0, bubbles: true }), t);

const challenged = (n) => {
  if (n === 1) throw new FrameRequestError("risk_challenge", "Hold the button.", { challenge: CHALLENGE });
  return GRANTED;
};

describe("telemetry on the page", () => {
  beforeEach(() => {
    delete window.Dropgate;
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("starts the telemetry when idle after load, and its probe waits for the frame (never makes it)", async () => {
    const { idle, connectTelemetry, requests } = start({ unlock: () => GRANTED });
    await flush(30);
    expect(connectTelemetry).not.toHaveBeenCalled(); // nothing of it at load
    expect(idle).toHaveLength(1);
    idle.shift()();
    await flush(30);
    expect(connectTelemetry).toHaveBeenCalledTimes(1);
    const options = connectTelemetry.mock.calls[0][0];
    expect(options).toMatchObject({ origin: ORIGIN, publisher: "pub_a", window });
    expect(typeof options.idle).toBe("function");
    let answered = null;
    options.probe().then((r) => (answered = r));
    await flush(30);
    expect(answered).toBeNull(); // no frame yet: the probe waits
    article().dispatchEvent(new Event("pointerover", { bubbles: true })); // a sign of intent
    await new Promise((r) => setTimeout(r, 5));
    await flush(30);
    expect(answered).toEqual({ worker: null });
    expect(requests.map((r) => r.type)).toEqual(["probe"]);
  });

  it("a failed gate starts no telemetry (nothing to protect on this page)", async () => {
    const { idle, connectTelemetry } = start({ unlock: () => GRANTED, gate: [403, errorBody("origin_not_allowed")] });
    await flush(30);
    expect(idle).toHaveLength(0);
    expect(connectTelemetry).not.toHaveBeenCalled();
  });

  it("an unlock before idle time starts the telemetry itself, then flushes it", async () => {
    const { api, connectTelemetry, telemetry } = start({ unlock: () => GRANTED });
    await flush(30);
    expect(await api.unlock("harbour-tides")).toMatchObject({ state: "unlocked" });
    expect(connectTelemetry).toHaveBeenCalledTimes(1);
    expect(telemetry.flush).toHaveBeenCalledTimes(1);
  });

  it("flushes the telemetry before an unlock and names the session to the frame", async () => {
    const { api, requests, telemetry } = start({ unlock: () => GRANTED });
    expect(await api.unlock("harbour-tides")).toMatchObject({ state: "unlocked" });
    expect(telemetry.flush).toHaveBeenCalledTimes(1);
    expect(requests.filter((r) => r.type === "unlock")).toEqual([{ type: "unlock", article: "harbour-tides", telemetrySession: SESSION }]);
  });
});

describe("the press-and-hold challenge", () => {
  beforeEach(() => {
    delete window.Dropgate;
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("risk_challenge: shows the hold button, streams the trace, retries once on a pass", async () => {
    const { api, requests, telemetry } = start({ unlock: challenged });
    const run = api.unlock("harbour-tides");
    await until(() => challengeButton(), 2500); // the challenge chunk's first import
    await flush(30);
    expect(article().getAttribute("data-paywall-state")).toBe("pending");
    expect(article().getAttribute("data-paywall-challenge")).toBe("press_hold");
    expect(challengeButton()).not.toBeNull();
    expect(unlockButton().hidden).toBe(true);
    expect(challengeButton().getAttribute("aria-describedby")).toBe(note().id);
    expect(note().textContent).toMatch(/press and hold/i);

    challengeButton().dispatchEvent(press(5000));
    challengeButton().dispatchEvent(release(5900));
    expect(await run).toMatchObject({ state: "unlocked", amountDrops: 200000 });
    expect(telemetry.challenge).toHaveBeenCalledWith(
      "chl_1",
      [
        [5000, 30, 40, 0],
        [5900, 31, 40, 2],
      ],
      expect.any(Number),
    );
    expect(requests.filter((r) => r.type === "unlock")).toHaveLength(2);
    expect(challengeButton()).toBeNull();
    expect(article().hasAttribute("data-paywall-challenge")).toBe(false);
    expect(article().getAttribute("data-paywall-state")).toBe("unlocked");
  });

  it("a failed challenge blocks with reason risk, and puts the unlock button back", async () => {
    const { api, requests } = start({ unlock: challenged, telemetry: fakeTelemetry({ passed: false }) });
    const run = api.unlock("harbour-tides");
    await until(() => challengeButton(), 2500); // the challenge chunk's first import
    await flush(30);
    challengeButton().dispatchEvent(press(5000));
    challengeButton().dispatchEvent(release(5900));
    expect(await run).toMatchObject({ state: "blocked", reason: "risk" });
    expect(article().getAttribute("data-paywall-reason")).toBe("risk");
    expect(requests.filter((r) => r.type === "unlock")).toHaveLength(1); // no retry
    expect(challengeButton()).toBeNull();
    expect(unlockButton().hidden).toBe(false);
  });

  it("a second challenge after a pass blocks: the unlock is retried once only", async () => {
    const always = () => {
      throw new FrameRequestError("risk_challenge", "Hold.", { challenge: CHALLENGE });
    };
    const { api, telemetry } = start({ unlock: always });
    const run = api.unlock("harbour-tides");
    await until(() => challengeButton(), 2500); // the challenge chunk's first import
    await flush(30);
    challengeButton().dispatchEvent(press(5000));
    challengeButton().dispatchEvent(release(5900));
    expect(await run).toMatchObject({ state: "blocked", reason: "risk" });
    expect(telemetry.challenge).toHaveBeenCalledTimes(1);
  });

  it("without a telemetry socket (or an unusable challenge) it blocks at once", async () => {
    const { api } = start({ unlock: challenged, telemetry: fakeTelemetry({ state: "disabled" }) });
    expect(await api.unlock("harbour-tides")).toMatchObject({ state: "blocked", reason: "risk" });
    expect(challengeButton()).toBeNull();
  });

  it("a script clicking the hold button (presses too short) fails after MAX_SHORT_HOLDS", async () => {
    const { api, telemetry } = start({ unlock: challenged });
    const run = api.unlock("harbour-tides");
    await until(() => challengeButton(), 2500); // the challenge chunk's first import
    await flush(30);
    for (let i = 0; i < 4; i++) {
      challengeButton().dispatchEvent(press(5000 + i * 100));
      challengeButton().dispatchEvent(release(5000 + i * 100 + 20));
    }
    await flush(10);
    expect(note().textContent).toMatch(/keep holding/i);
    expect(article().getAttribute("data-paywall-state")).toBe("pending");
    challengeButton().dispatchEvent(press(6000));
    challengeButton().dispatchEvent(release(6020));
    expect(await run).toMatchObject({ state: "blocked", reason: "risk" });
    expect(telemetry.challenge).not.toHaveBeenCalled();
  });

  it("gives up after CHALLENGE_WAIT_MS without a hold", async () => {
    vi.useFakeTimers();
    try {
      const { api } = start({ unlock: challenged });
      const run = api.unlock("harbour-tides");
      await vi.advanceTimersByTimeAsync(10);
      expect(challengeButton()).not.toBeNull();
      await vi.advanceTimersByTimeAsync(59_000);
      expect(article().getAttribute("data-paywall-state")).toBe("pending");
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await run).toMatchObject({ state: "blocked", reason: "risk" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("moves keyboard focus to the hold button and back", async () => {
    const { api } = start({ unlock: challenged, telemetry: fakeTelemetry({ passed: false }) });
    await flush(30);
    unlockButton().focus();
    const run = api.unlock("harbour-tides");
    await until(() => challengeButton(), 2500); // the challenge chunk's first import
    await flush(30);
    expect(document.activeElement).toBe(challengeButton());
    challengeButton().dispatchEvent(at(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }), 100));
    challengeButton().dispatchEvent(at(new KeyboardEvent("keyup", { key: "Enter", bubbles: true, cancelable: true }), 1000));
    await run;
    expect(document.activeElement).toBe(unlockButton());
  });

  it.each([
    ["risk_refused", {}, /refused by the fraud checks/],
    ["velocity_limited", { retry_after: 30 }, /Too many payments.*30 s/],
    ["velocity_limited", {}, /Too many payments.*later/],
  ])("%s blocks with reason risk", async (code, details, text) => {
    const { api } = start({
      unlock: () => {
        throw new FrameRequestError(code, "no", details);
      },
    });
    expect(await api.unlock("harbour-tides")).toMatchObject({ state: "blocked", reason: "risk" });
    expect(note().textContent).toMatch(text);
    expect(challengeButton()).toBeNull();
  });
});

describe("the real telemetry connection on the page", () => {
  beforeEach(() => {
    delete window.Dropgate;
    FakeSocket.reset();
  });
  afterEach(() => {
    document.body.innerHTML = "";
  });

  it("opens the socket to the paywall, streams the hand, and names the session in the unlock", async () => {
    let conn = null;
    // The telemetry chunk's own start, with a fake socket under it.
    const connectTelemetry = (options) =>
      startPageTelemetry({ ...options, connect: (o) => (conn = createTelemetryConnection({ ...o, WebSocket: FakeSocket })) });
    document.body.innerHTML = `<article data-paywall-article="harbour-tides"><p>Teaser.</p><div data-paywall-content></div></article>`;
    const script = document.createElement("script");
    script.setAttribute("data-publisher", "pub_a");
    script.src = `${ORIGIN}/static/js/paywall.js`;
    const requests = [];
    const createHost = () => ({
      ready: async () => ({ reader: false, channel: null, capDrops: 1 }),
      request: async (type, fields) => {
        requests.push({ type, ...fields });
        return type === "probe" ? { worker: null } : GRANTED;
      },
    });
    const { fetch } = fakeFetch({ "GET publishers/pub_a/articles?slugs=harbour-tides": [200, { articles: [TEASER] }] }, { base: `${ORIGIN}/api/v1/` });
    const api = startPaywall({ window, script, fetch, createHost, idle: (fn) => fn(), connectTelemetry, loadChunk, storage: null });
    await flush(30);
    const ws = FakeSocket.instances[0];
    expect(ws.url).toBe("wss://pay.example/ws/telemetry/?publisher=pub_a");
    ws.open();
    ws.receive({ type: "hello", session: SESSION, max_batch_bytes: 16384, max_events: 512, min_interval_ms: 0 });
    window.dispatchEvent(at(new PointerEvent("pointermove", { clientX: 10, clientY: 20, pointerType: "mouse" }), 500));
    window.dispatchEvent(at(new PointerEvent("pointermove", { clientX: 14, clientY: 26, pointerType: "mouse" }), 516));
    const run = api.unlock("harbour-tides");
    await until(() => ws.sent.length > 0);
    const batch = ws.sent.find((m) => m.type === "batch" && m.mouse.length);
    expect(batch.mouse.slice(-6)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number), 16, 4, 6]);
    for (const m of ws.sent) ws.receive({ type: "ack", seq: m.seq });
    expect(await run).toMatchObject({ state: "unlocked" });
    expect(requests.filter((r) => r.type === "unlock")).toEqual([{ type: "unlock", article: "harbour-tides", telemetrySession: SESSION }]);
    conn.close();
  });
});

async function until(predicate, rounds = 200) {
  for (let i = 0; i < rounds; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("timed out waiting");
}
