import { afterEach, describe, expect, it, vi } from "vitest";
import { createApi, requestJson } from "../../src/frame/api.js";
import { SdkError, toWireError } from "../../src/frame/errors.js";
import { errorBody, fakeFetch } from "../helpers.js";

const BASE = "https://pay.example/api/v1/";

describe("requestJson", () => {
  afterEach(() => vi.useRealTimers());

  it("returns the JSON body of a 2xx", async () => {
    const { fetch, calls } = fakeFetch({ "GET config?publisher=pub_a": [200, { publisher: "pub_a" }] });
    expect(await requestJson(fetch, `${BASE}config?publisher=pub_a`)).toEqual({ publisher: "pub_a" });
    expect(calls[0].init.credentials).toBe("omit");
    expect(calls[0].headers.Accept).toBe("application/json");
  });

  it("sends JSON bodies", async () => {
    const { fetch, calls } = fakeFetch({ "POST readers": [201, { reader_token: "rdt_x" }] });
    await requestJson(fetch, `${BASE}readers`, { method: "POST", body: { claim_public_key: "ED00" } });
    expect(calls[0].headers["Content-Type"]).toBe("application/json");
    expect(calls[0].body).toEqual({ claim_public_key: "ED00" });
  });

  it("turns the error envelope into a typed error with its details", async () => {
    const { fetch } = fakeFetch({
      "POST unlocks": [402, errorBody("payment_required", "Pay first.", { price_drops: "200000", article: "x" })],
    });
    const err = await requestJson(fetch, `${BASE}unlocks`, { method: "POST", body: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: "payment_required", message: "Pay first.", status: 402 });
    expect(err.details).toEqual({ price_drops: "200000", article: "x" });
  });

  it("maps a bare 503 to ledger_unavailable and keeps Retry-After", async () => {
    const fetch = async () => new Response("Service Unavailable", { status: 503, headers: { "Retry-After": "3" } });
    await expect(requestJson(fetch, `${BASE}unlocks`)).rejects.toMatchObject({ code: "ledger_unavailable", status: 503, retryAfter: 3 });
  });

  it("keeps a 503's own code when it has one", async () => {
    const { fetch } = fakeFetch({ "GET x": [503, errorBody("exchange_rate_unavailable")] });
    await expect(requestJson(fetch, `${BASE}x`)).rejects.toMatchObject({ code: "exchange_rate_unavailable" });
  });

  it("maps a bare 429 and other statuses", async () => {
    await expect(requestJson(async () => new Response("", { status: 429 }), `${BASE}x`)).rejects.toMatchObject({ code: "rate_limited" });
    await expect(requestJson(async () => new Response("<html>", { status: 500 }), `${BASE}x`)).rejects.toMatchObject({ code: "http_500" });
  });

  it("reports an unreachable server as network_error", async () => {
    const fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    await expect(requestJson(fetch, `${BASE}x`)).rejects.toMatchObject({ code: "network_error" });
  });

  it("times out", async () => {
    vi.useFakeTimers();
    const fetch = (url, init) =>
      new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    const pending = requestJson(fetch, `${BASE}x`, { timeoutMs: 1000 });
    const check = expect(pending).rejects.toMatchObject({ code: "network_error", details: { timeout: true } });
    await vi.advanceTimersByTimeAsync(1001);
    await check;
  });

  it("refuses a 2xx that is not JSON", async () => {
    await expect(requestJson(async () => new Response("ok", { status: 200 }), `${BASE}x`)).rejects.toMatchObject({ code: "bad_response" });
  });
});

describe("createApi", () => {
  it("adds the reader token and resolves paths against the base", async () => {
    const { fetch, calls } = fakeFetch({ "GET channels/AB": [200, { channel_id: "AB" }] });
    const api = createApi({ base: "https://pay.example/api/v1", fetch, getToken: async () => "rdt_1" });
    await api.get("channels/AB", { auth: "reader" });
    expect(calls[0].url).toBe(`${BASE}channels/AB`);
    expect(calls[0].headers.Authorization).toBe("Reader rdt_1");
    expect(api.origin).toBe("https://pay.example");
  });

  it("sends a grant as a bearer token, to absolute URLs too", async () => {
    const { fetch, calls } = fakeFetch({ "GET content/pub_a/x": [200, { html: "<p>x</p>" }] });
    const api = createApi({ base: BASE, fetch });
    await api.get(`${BASE}content/pub_a/x`, { bearer: "jwt" });
    expect(calls[0].headers.Authorization).toBe("Bearer jwt");
  });

  it("refuses a reader call before the reader exists", async () => {
    const { fetch, calls } = fakeFetch({});
    const api = createApi({ base: BASE, fetch, getToken: async () => null });
    await expect(api.post("unlocks", {}, { auth: "reader" })).rejects.toMatchObject({ code: "not_authenticated" });
    expect(calls).toHaveLength(0);
  });
});

describe("wire errors", () => {
  it("pass SdkErrors through and hide everything else", () => {
    expect(toWireError(new SdkError("cap_exceeded", "over"))).toEqual({ code: "cap_exceeded", message: "over", details: {} });
    const challenge = { id: "chl_abc", kind: "press_hold", hold_ms: 800 };
    expect(toWireError(new SdkError("risk_challenge", "hold", { details: { challenge } })).details).toEqual({ challenge });
    expect(toWireError(new Error("secret rdt_123"))).toEqual({
      code: "internal_error",
      message: "The payment frame hit an unexpected error.",
    });
  });
});

