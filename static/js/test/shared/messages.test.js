import { describe, expect, it } from "vitest";
import {
  acceptFromFrame,
  acceptFromPage,
  errorDetails,
  isAllowedOrigin,
  makeErrorReply,
  makeEvent,
  makeReply,
  makeRequest,
  originOf,
  parseFrameMessage,
  parseRequest,
} from "../../src/shared/messages.js";

describe("requests", () => {
  it("builds every request type with dg: 1", () => {
    expect(makeRequest("hello", 1)).toEqual({ dg: 1, type: "hello", id: 1 });
    expect(makeRequest("unlock", 2, { article: "city-bees" })).toEqual({
      dg: 1,
      type: "unlock",
      id: 2,
      article: "city-bees",
    });
    expect(makeRequest("restore", 3, { articles: ["a", "b-2"] })).toEqual({
      dg: 1,
      type: "restore",
      id: 3,
      articles: ["a", "b-2"],
    });
    for (const type of ["status", "setCap", "topUp", "closeChannel", "rotateClaimKey"]) {
      expect(makeRequest(type, "a-1").type).toBe(type);
    }
  });

  it("refuses to build a malformed request", () => {
    expect(() => makeRequest("pay", 1)).toThrow();
    expect(() => makeRequest("unlock", 1, { article: "../etc" })).toThrow();
    expect(() => makeRequest("hello", -1)).toThrow();
  });

  it("parses only known, well-formed requests and keeps only known fields", () => {
    expect(parseRequest({ dg: 1, type: "unlock", id: 3, article: "a_b-1", amount: 10 ** 9 })).toEqual({
      type: "unlock",
      id: 3,
      article: "a_b-1",
    });
    // a page can never pass an amount, a cap or a price: those fields are dropped
    expect(parseRequest({ dg: 1, type: "setCap", id: 4, capDrops: 1e12 })).toEqual({ type: "setCap", id: 4 });
    const articles = Array.from({ length: 100 }, (_, n) => `a${n}`);
    const restore = parseRequest({ dg: 1, type: "restore", id: 5, articles, amount: 1 });
    expect(restore).toEqual({ type: "restore", id: 5, articles });
    expect(restore.articles).not.toBe(articles); // a copy, not the page's array
  });

  it.each([
    ["no dg", { type: "hello", id: 1 }],
    ["another version", { dg: 2, type: "hello", id: 1 }],
    ["unknown type", { dg: 1, type: "sign", id: 1 }],
    ["inherited type", { dg: 1, type: "toString", id: 1 }],
    ["no id", { dg: 1, type: "hello" }],
    ["float id", { dg: 1, type: "hello", id: 1.5 }],
    ["object id", { dg: 1, type: "hello", id: {} }],
    ["unlock without article", { dg: 1, type: "unlock", id: 1 }],
    ["bad slug", { dg: 1, type: "unlock", id: 1, article: "a b" }],
    ["long slug", { dg: 1, type: "unlock", id: 1, article: "a".repeat(201) }],
    ["restore without articles", { dg: 1, type: "restore", id: 1 }],
    ["restore of a slug, not a list", { dg: 1, type: "restore", id: 1, articles: "a" }],
    ["restore of nothing", { dg: 1, type: "restore", id: 1, articles: [] }],
    ["restore of a bad slug", { dg: 1, type: "restore", id: 1, articles: ["a", "../b"] }],
    ["restore of a number", { dg: 1, type: "restore", id: 1, articles: [1] }],
    ["restore twice the same", { dg: 1, type: "restore", id: 1, articles: ["a", "a"] }],
    ["restore of 101", { dg: 1, type: "restore", id: 1, articles: Array.from({ length: 101 }, (_, n) => `a${n}`) }],
    ["string", "hello"],
    ["null", null],
    ["array", [1]],
  ])("drops %s", (_, data) => {
    expect(parseRequest(data)).toBeNull();
  });
});

describe("replies and events", () => {
  it("round-trips replies", () => {
    expect(parseFrameMessage(makeReply(1, { ok: 1 }))).toEqual({ type: "reply", id: 1, ok: true, result: { ok: 1 } });
    expect(parseFrameMessage(makeErrorReply(2, "cap_exceeded", "too much"))).toEqual({
      type: "reply",
      id: 2,
      ok: false,
      error: { code: "cap_exceeded", message: "too much" },
    });
  });

  it("never sends an error code that is not snake_case", () => {
    expect(makeErrorReply(1, "<b>x</b>", "m").error.code).toBe("internal_error");
  });

  it("round-trips events", () => {
    expect(parseFrameMessage(makeEvent("show"))).toEqual({ type: "show" });
    expect(parseFrameMessage(makeEvent("hide"))).toEqual({ type: "hide" });
    const channel = { channelId: "AB", fundedDrops: 1, spentDrops: 0, remainingDrops: 1, status: "open" };
    expect(parseFrameMessage(makeEvent("channel", { channel }))).toEqual({ type: "channel", channel });
    expect(() => makeEvent("reply")).toThrow();
  });

  it.each([
    { dg: 1, type: "reply", id: 1 },
    { dg: 1, type: "reply", id: 1, ok: false, error: { code: "Bad Code" } },
    { dg: 1, type: "reply", id: 1, ok: false },
    { dg: 1, type: "channel", channel: 5 },
    { dg: 1, type: "unlock", id: 1, article: "x" },
    { type: "show" },
  ])("drops %j", (data) => {
    expect(parseFrameMessage(data)).toBeNull();
  });
});

describe("origins", () => {
  it("extracts origins", () => {
    expect(originOf("https://pay.example:8443/static/js/paywall.js?x=1")).toBe("https://pay.example:8443");
    expect(originOf("http://127.0.0.1:8000/")).toBe("http://127.0.0.1:8000");
    expect(originOf("data:text/html,hi")).toBeNull();
    expect(originOf("not a url")).toBeNull();
    expect(originOf("")).toBeNull();
  });

  it("matches exactly", () => {
    const allowed = ["https://news.example", "http://127.0.0.1:8001"];
    expect(isAllowedOrigin("https://news.example", allowed)).toBe(true);
    expect(isAllowedOrigin("http://127.0.0.1:8001", allowed)).toBe(true);
    expect(isAllowedOrigin("https://news.example.evil", allowed)).toBe(false);
    expect(isAllowedOrigin("https://evil.news.example", allowed)).toBe(false);
    expect(isAllowedOrigin("http://news.example", allowed)).toBe(false);
    expect(isAllowedOrigin("https://NEWS.example", allowed)).toBe(false);
    expect(isAllowedOrigin("http://127.0.0.1:8002", allowed)).toBe(false);
    expect(isAllowedOrigin("null", [...allowed, "null"])).toBe(false);
    expect(isAllowedOrigin(undefined, allowed)).toBe(false);
    expect(isAllowedOrigin("https://news.example", "https://news.example")).toBe(false);
  });

  it("frame side: needs the parent window and an allowed origin", () => {
    const parent = {};
    const data = makeRequest("hello", 1);
    const allowedOrigins = ["https://news.example"];
    expect(acceptFromPage({ source: parent, origin: "https://news.example", data }, { parent, allowedOrigins })).toEqual({
      request: { type: "hello", id: 1 },
    });
    expect(acceptFromPage({ source: parent, origin: "https://evil.example", data }, { parent, allowedOrigins })).toEqual({
      refused: { type: "hello", id: 1 },
    });
    expect(acceptFromPage({ source: {}, origin: "https://news.example", data }, { parent, allowedOrigins })).toBeNull();
    expect(
      acceptFromPage({ source: parent, origin: "https://news.example", data: { ...data, dg: 0 } }, { parent, allowedOrigins }),
    ).toBeNull();
  });

  it("page side: needs our frame's window and the paywall origin", () => {
    const frameWindow = {};
    const data = makeEvent("show");
    const options = { frameWindow, paywallOrigin: "https://pay.example" };
    expect(acceptFromFrame({ source: frameWindow, origin: "https://pay.example", data }, options)).toEqual({ type: "show" });
    expect(acceptFromFrame({ source: frameWindow, origin: "https://news.example", data }, options)).toBeNull();
    expect(acceptFromFrame({ source: {}, origin: "https://pay.example", data }, options)).toBeNull();
    expect(acceptFromFrame({ source: null, origin: "https://pay.example", data }, { ...options, frameWindow: null })).toBeNull();
  });
});

describe("telemetry additions", () => {
  const SESSION = "tls_abcdefghijklmnopqrstuvwxyz";

  it("unlock carries an optional telemetrySession, checked", () => {
    expect(makeRequest("unlock", 1, { article: "x", telemetrySession: SESSION })).toEqual({
      dg: 1,
      type: "unlock",
      id: 1,
      article: "x",
      telemetrySession: SESSION,
    });
    expect(makeRequest("unlock", 1, { article: "x" })).toEqual({ dg: 1, type: "unlock", id: 1, article: "x" });
    expect(parseRequest({ dg: 1, type: "unlock", id: 1, article: "x", telemetrySession: SESSION })).toEqual({
      type: "unlock",
      id: 1,
      article: "x",
      telemetrySession: SESSION,
    });
    for (const bad of ["tls_short", "rdt_abcdefghijklmnopqrstuvwxyz", 5, {}, `tls_${"a".repeat(65)}`, "tls_abcdefghijklmnopqrstuv<z"]) {
      expect(parseRequest({ dg: 1, type: "unlock", id: 1, article: "x", telemetrySession: bad })).toBeNull();
    }
  });

  it("probe is a request without fields", () => {
    expect(makeRequest("probe", 3)).toEqual({ dg: 1, type: "probe", id: 3 });
    expect(parseRequest({ dg: 1, type: "probe", id: 3, extra: 1 })).toEqual({ type: "probe", id: 3 });
  });

  it("error replies carry only a checked challenge and retry_after", () => {
    const challenge = { id: "chl_Ab-1", kind: "press_hold", hold_ms: 800 };
    const wire = makeErrorReply(4, "risk_challenge", "Hold.", { challenge: { ...challenge, secret: "x" }, retry_after: 5, reader: "r" });
    expect(wire.error).toEqual({ code: "risk_challenge", message: "Hold.", details: { challenge, retry_after: 5 } });
    expect(parseFrameMessage(wire).error.details).toEqual({ challenge, retry_after: 5 });
    expect(makeErrorReply(4, "cap_exceeded", "x", {}).error).not.toHaveProperty("details");
    expect(errorDetails({ challenge: { id: "nope", kind: "press_hold", hold_ms: 800 } })).toBeNull();
    expect(errorDetails({ challenge: { id: "chl_1", kind: "press_hold", hold_ms: -1 } })).toBeNull();
    expect(errorDetails({ retry_after: "5" })).toBeNull();
    const forged = { dg: 1, type: "reply", id: 1, ok: false, error: { code: "x", message: "", details: { challenge: "<img>" } } };
    expect(parseFrameMessage(forged).error).toEqual({ code: "x", message: "" });
  });
});

describe("dispute request", () => {
  it("carries the article and, optionally, one of the five reasons and a message", () => {
    expect(makeRequest("dispute", 1, { article: "x" })).toEqual({ dg: 1, type: "dispute", id: 1, article: "x" });
    expect(makeRequest("dispute", 2, { article: "x", reason: "accidental", message: "oops" })).toEqual({
      dg: 1,
      type: "dispute",
      id: 2,
      article: "x",
      reason: "accidental",
      message: "oops",
    });
    expect(() => makeRequest("dispute", 3, { article: "x", reason: "refund_me" })).toThrow(TypeError);
    expect(() => makeRequest("dispute", 4, { article: "../x" })).toThrow(TypeError);
    expect(() => makeRequest("dispute", 5, { article: "x", message: "a".repeat(4001) })).toThrow(TypeError);
    expect(parseRequest({ dg: 1, type: "dispute", id: 6, article: "x", message: { toString: () => "x" } })).toBeNull();
  });
});
