// @vitest-environment happy-dom
import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { bootFrame, parentOriginOf } from "../../src/frame/boot.js";
import { makeRequest } from "../../src/shared/messages.js";
import { FakeSocket, errorBody, flush } from "../helpers.js";
import { createFakeServer } from "../fakeServer.js";

const PAGE = "https://news.example";

/** A reader websocket that cannot connect: the frame must fall back to HTTP. */
class RefusedSocket extends FakeSocket {
  constructor(url) {
    super(url);
    setTimeout(() => this.serverClose(1006), 0);
  }
}

/** The frame's window: the real document, a fake parent that records what it is sent. */
function frameWindow({ ancestorOrigins = [PAGE], referrer = "" } = {}) {
  const listeners = [];
  const parent = {
    received: [],
    postMessage(message, targetOrigin) {
      this.received.push({ message, targetOrigin });
    },
  };
  Object.defineProperty(document, "referrer", { configurable: true, get: () => referrer });
  const win = {
    document,
    parent,
    location: { ancestorOrigins, origin: "https://pay.example", pathname: "/sdk/frame/pub_a", protocol: "https:", host: "pay.example" },
    addEventListener: (type, fn) => type === "message" && listeners.push(fn),
  };
  const post = (data, { origin = PAGE, source = parent } = {}) => listeners.forEach((fn) => fn({ data, origin, source }));
  return { win, parent, post };
}

function boot(server = createFakeServer(), options = {}) {
  const extra = options.attributes || "";
  document.body.innerHTML = `<div id="dropgate-frame" data-publisher="pub_a" data-api-base="https://pay.example/api/v1/" data-ws-url="wss://pay.example/ws/reader/" ${extra}></div>`;
  const w = frameWindow(options);
  FakeSocket.reset();
  const started = bootFrame(w.win, {
    fetch: server.fetch,
    indexedDB: new IDBFactory(),
    WebSocket: RefusedSocket,
    locks: null,
    ui: { requireTrusted: false, armDelayMs: 0 },
    Worker: null,
    ...(options.deps || {}),
  });
  return { ...w, server, started };
}

async function until(predicate, rounds = 200) {
  for (let i = 0; i < rounds; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("timed out waiting");
}

const replies = (parent) => parent.received.filter((r) => r.message.type === "reply");

describe("signer frame", () => {
  beforeEach(() => {
    document.body.innerHTML = "";
  });

  it("refuses to run as the top-level window", () => {
    document.body.innerHTML = '<div id="dropgate-frame" data-publisher="pub_a"></div>';
    const started = bootFrame(window);
    expect(started.state).toBe("not_embedded");
    expect(document.querySelector('[role="status"]').textContent).toMatch(/only works inside/);
  });

  it("knows its parent from ancestorOrigins, else from the referrer", () => {
    expect(parentOriginOf({ location: { ancestorOrigins: ["https://a.example"] }, document: { referrer: "" } })).toBe("https://a.example");
    expect(parentOriginOf({ location: {}, document: { referrer: "https://b.example/page?x" } })).toBe("https://b.example");
    expect(parentOriginOf({ location: {}, document: { referrer: "" } })).toBeNull();
    expect(parentOriginOf({ location: { ancestorOrigins: ["null"] }, document: { referrer: "https://b.example/" } })).toBeNull();
  });

  it("answers hello to the parent's exact origin", async () => {
    const { parent, post } = boot();
    post(makeRequest("hello", 1));
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0]).toEqual({
      message: { dg: 1, type: "reply", id: 1, ok: true, result: { reader: false, channel: null, capDrops: 2_000_000 } },
      targetOrigin: PAGE,
    });
  });

  it("unlock end to end: shows itself, waits for the click, pays, hides, replies with the content", async () => {
    const { parent, post, server } = boot();
    post(makeRequest("unlock", 7, { article: "x" }));
    const armed = () => document.querySelector('button[data-paywall-action="confirm"]:not([disabled])');
    await until(armed);
    expect(parent.received.map((r) => r.message.type)).toContain("show");
    expect(replies(parent)).toHaveLength(0);
    document.querySelector('button[data-paywall-action="confirm"]').click();
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message).toEqual({
      dg: 1,
      type: "reply",
      id: 7,
      ok: true,
      result: { article: "x", amountDrops: 200_000, html: "<p>x body</p>" },
    });
    const types = parent.received.map((r) => r.message.type);
    expect(types.indexOf("hide")).toBeGreaterThan(types.indexOf("show"));
    expect(parent.received.every((r) => r.targetOrigin === PAGE)).toBe(true);
    expect(server.state.accepted).toHaveLength(1);
    // the claim went with the reader's token; the frame stored its keys, not the page
    expect(server.calls.find((c) => c.path === "unlocks").headers.Authorization).toBe("Reader rdt_test_1");
  });

  it("restore: a returning reader's paid articles come back with their content, without a click or a claim", async () => {
    const { parent, post, server } = boot();
    post(makeRequest("unlock", 1, { article: "x" }));
    const armed = () => document.querySelector('button[data-paywall-action="confirm"]:not([disabled])');
    await until(armed);
    armed().click();
    await until(() => replies(parent).length === 1);
    const accepted = server.state.accepted.length;
    const shown = parent.received.filter((r) => r.message.type === "show").length;
    post(makeRequest("hello", 2));
    await until(() => replies(parent).length === 2);
    expect(replies(parent)[1].message.result.reader).toBe(true);
    post(makeRequest("restore", 3, { articles: ["x", "y"] }));
    await until(() => replies(parent).length === 3);
    expect(replies(parent)[2]).toEqual({
      message: { dg: 1, type: "reply", id: 3, ok: true, result: { unlocked: [{ article: "x", html: "<p>x body</p>" }] } },
      targetOrigin: PAGE,
    });
    expect(server.state.accepted).toHaveLength(accepted);
    expect(parent.received.filter((r) => r.message.type === "show")).toHaveLength(shown); // no dialog
    // another origin may not ask
    post(makeRequest("restore", 4, { articles: ["x"] }), { origin: "https://evil.example" });
    await until(() => parent.received.some((r) => r.message.id === 4));
    const refused = parent.received.find((r) => r.message.id === 4);
    expect(refused).toMatchObject({ targetOrigin: "https://evil.example", message: { ok: false, error: { code: "origin_not_allowed" } } });
  });

  it("cancel in the frame replies cancelled and signs nothing", async () => {
    const { parent, post, server } = boot();
    post(makeRequest("unlock", 1, { article: "x" }));
    await until(() => document.querySelector('button[data-paywall-action="cancel"]'));
    document.querySelector('button[data-paywall-action="cancel"]').click();
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message.error.code).toBe("cancelled");
    expect(server.calls.some((c) => c.path.startsWith("wallet/"))).toBe(false);
  });

  it("a request from another origin is answered origin_not_allowed, to that origin", async () => {
    const { parent, post, server } = boot();
    post(makeRequest("unlock", 1, { article: "x" }), { origin: "https://evil.example" });
    await flush();
    expect(parent.received).toEqual([
      {
        message: { dg: 1, type: "reply", id: 1, ok: false, error: { code: "origin_not_allowed", message: expect.any(String) } },
        targetOrigin: "https://evil.example",
      },
    ]);
    expect(server.calls.filter((c) => c.path !== "config?publisher=pub_a")).toHaveLength(0);
  });

  it("ignores messages that are not from its parent window, and malformed ones", async () => {
    const { parent, post } = boot();
    post(makeRequest("hello", 1), { source: {} });
    post({ dg: 1, type: "unlock", id: 2, article: "../x" });
    post({ type: "hello", id: 3 });
    await new Promise((r) => setTimeout(r, 20));
    expect(parent.received).toHaveLength(0);
  });

  it("when config lists allowed origins, the parent must be one of them", async () => {
    const server = createFakeServer();
    server.routes.config = [200, { publisher: "pub_a", min_channel_drops: "1000000", allowed_origins: ["https://other.example"] }];
    const { parent, post } = boot(server);
    post(makeRequest("hello", 1));
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message.error.code).toBe("origin_not_allowed");
  });

  it("passes a failing config through as the reply's error", async () => {
    const server = createFakeServer();
    server.routes.config = [404, errorBody("publisher_not_found")];
    const { parent, post } = boot(server);
    post(makeRequest("status", 1));
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message.error.code).toBe("publisher_not_found");
  });

  it("the frame page's data-allowed-origins must list the parent", async () => {
    const { parent, post } = boot(createFakeServer(), { attributes: `data-allowed-origins='["https://other.example"]'` });
    post(makeRequest("hello", 1));
    await until(() => parent.received.length === 1);
    expect(parent.received[0].message.error.code).toBe("origin_not_allowed");
  });

  it("without a known parent origin, answers a listed origin only", async () => {
    const { parent, post } = boot(createFakeServer(), {
      ancestorOrigins: [],
      attributes: `data-allowed-origins='["${PAGE}"]'`,
    });
    post(makeRequest("hello", 1), { origin: "https://evil.example" });
    post(makeRequest("hello", 2));
    await until(() => parent.received.length === 2);
    expect(parent.received).toContainEqual(expect.objectContaining({ targetOrigin: "https://evil.example", message: expect.objectContaining({ id: 1, ok: false }) }));
    expect(parent.received).toContainEqual(expect.objectContaining({ targetOrigin: PAGE, message: expect.objectContaining({ id: 2, ok: true }) }));
  });

  it("skips the faucet when the frame page says it is off", async () => {
    const { parent, post, server } = boot(createFakeServer(), { attributes: 'data-faucet="false"' });
    post(makeRequest("unlock", 1, { article: "x" }));
    const armed = () => document.querySelector('button[data-paywall-action="confirm"]:not([disabled])');
    await until(armed);
    armed().click();
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message.ok).toBe(true);
    expect(server.calls.some((c) => c.path === "wallet/faucet")).toBe(false);
  });

  it("without a known parent origin it answers nobody", async () => {
    const { parent, post } = boot(createFakeServer(), { ancestorOrigins: [], referrer: "" });
    post(makeRequest("hello", 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(parent.received.every((r) => r.message.ok === false)).toBe(true);
  });
});

describe("telemetry in the frame", () => {
  beforeEach(() => {
    document.body.innerHTML = "";
  });

  it("probe: runs the fingerprint worker (same origin, versioned file) once and answers its report", async () => {
    const facts = { hw_concurrency: 8, languages: ["en"], platform: "Linux x86_64", tz: "UTC", webgl_renderer: "ANGLE" };
    const made = [];
    class FakeWorker {
      constructor(url) {
        made.push(url);
        setTimeout(() => this.onmessage({ data: { dg: 1, type: "probe", worker: facts } }), 0);
      }
      terminate() {}
    }
    const { parent, post } = boot(createFakeServer(), { attributes: 'data-version="0.2.0"', deps: { Worker: FakeWorker } });
    post(makeRequest("probe", 1));
    post(makeRequest("probe", 2));
    await until(() => replies(parent).length === 2);
    expect(replies(parent).map((r) => r.message.result)).toEqual([{ worker: facts, graphics: null }, { worker: facts, graphics: null }]);
    expect(made).toEqual(["https://pay.example/static/js/worker.0.2.0.js"]);
  });

  it("probe without Worker support answers worker: null", async () => {
    const { parent, post } = boot();
    post(makeRequest("probe", 1));
    await until(() => replies(parent).length === 1);
    expect(replies(parent)[0].message.result).toEqual({ worker: null, graphics: null });
  });

  it("unlock sends the page's telemetry session to the server", async () => {
    const server = createFakeServer();
    const { post } = boot(server);
    post(makeRequest("unlock", 1, { article: "x", telemetrySession: "tls_abcdefghijklmnopqrstuv" }));
    await until(() => server.calls.some((c) => c.path === "unlocks")); // the 402 that asks for the price
    const unlocks = server.calls.filter((c) => c.path === "unlocks");
    expect(unlocks.length).toBeGreaterThan(0);
    for (const call of unlocks) expect(call.body.telemetry_session).toBe("tls_abcdefghijklmnopqrstuv");
  });
});
