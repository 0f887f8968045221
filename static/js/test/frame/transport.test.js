import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApi } from "../../src/frame/api.js";
import { backoffDelay, createTransport } from "../../src/frame/transport.js";
import { FakeSocket, errorBody, fakeFetch, flush } from "../helpers.js";

const BASE = "https://pay.example/api/v1/";
const WS = "wss://pay.example/ws/reader/";
const GRANTED = { article: "x", grant: "jwt", amount_drops: "0", content_url: `${BASE}content/pub_a/x`, grant_expires_at: "t" };

function setup({ routes = {}, ...options } = {}) {
  const { fetch, calls } = fakeFetch(routes);
  const api = createApi({ base: BASE, fetch, getToken: async () => "rdt_tok" });
  const transport = createTransport({
    wsUrl: WS,
    publisher: "pub_a",
    api,
    getToken: async () => "rdt_tok",
    WebSocket: FakeSocket,
    random: () => 0.5,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    ...options,
  });
  return { transport, calls };
}

describe("backoffDelay", () => {
  it("doubles per attempt with jitter in [ceiling/2, ceiling], capped", () => {
    const opts = { baseMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, { ...opts, random: () => 0 })).toBe(250);
    expect(backoffDelay(0, { ...opts, random: () => 1 })).toBe(500);
    expect(backoffDelay(3, { ...opts, random: () => 0 })).toBe(2000);
    expect(backoffDelay(3, { ...opts, random: () => 1 })).toBe(4000);
    expect(backoffDelay(20, { ...opts, random: () => 1 })).toBe(30_000);
    expect(backoffDelay(20, { ...opts, random: () => 0 })).toBe(15_000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(2, opts);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });
});

describe("reader websocket", () => {
  beforeEach(() => {
    FakeSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("authenticates first, then sends unlocks and matches answers by id", async () => {
    const { transport, calls } = setup();
    const ready = transport.connect();
    await flush();
    const ws = FakeSocket.instances[0];
    expect(ws.url).toBe(WS);
    ws.open();
    expect(ws.sent[0]).toEqual({ type: "auth", publisher: "pub_a", token: "rdt_tok" });
    ws.receive({ type: "ready" });
    expect(await ready).toBe(true);
    expect(transport.state).toBe("ready");

    const claim = { channel_id: "A".repeat(64), amount_drops: "200000", signature: "AB" };
    const pending = transport.unlock({ article: "x", claim });
    await flush();
    const sent = ws.sent[1];
    expect(sent).toEqual({ type: "unlock", id: sent.id, article: "x", claim, telemetry_session: "" });
    ws.receive({ type: "unlock.result", id: sent.id, ...GRANTED, amount_drops: "200000" });
    expect(await pending).toEqual({ ...GRANTED, amount_drops: "200000" });
    expect(calls).toHaveLength(0);
  });

  it("turns an error frame into a typed error (402 carries the price)", async () => {
    const { transport } = setup();
    transport.connect();
    await flush();
    FakeSocket.instances[0].accept();
    await flush();
    const pending = transport.unlock({ article: "x" });
    await flush();
    const ws = FakeSocket.instances[0];
    ws.receive({ type: "error", id: ws.sent[1].id, status: 402, error: { code: "payment_required", message: "Pay.", price_drops: "150000" } });
    await expect(pending).rejects.toMatchObject({ code: "payment_required", status: 402, details: { price_drops: "150000" } });
  });

  it("falls back to HTTP when the socket cannot connect, then reconnects with backoff", async () => {
    const { transport, calls } = setup({ routes: { "POST unlocks": [200, GRANTED] } });
    const pending = transport.unlock({ article: "x", idempotencyKey: "k1" });
    await flush();
    FakeSocket.instances[0].serverClose(1006);
    expect(await pending).toEqual(GRANTED);
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe("unlocks");
    expect(calls[0].headers.Authorization).toBe("Reader rdt_tok");
    expect(calls[0].headers["Idempotency-Key"]).toBe("k1");
    expect(calls[0].body).toEqual({ publisher: "pub_a", article: "x", telemetry_session: "" });

    // first retry after backoffDelay(1) with random 0.5: ceiling 1000 → 750 ms
    expect(FakeSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(749);
    expect(FakeSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(FakeSocket.instances).toHaveLength(2);
    // fails again: the next wait is longer (ceiling 2000 → 1500 ms)
    FakeSocket.instances[1].serverClose(1006);
    await vi.advanceTimersByTimeAsync(1499);
    expect(FakeSocket.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(FakeSocket.instances).toHaveLength(3);
    FakeSocket.instances[2].accept();
    await flush();
    expect(transport.state).toBe("ready");
    transport.close();
  });

  it("gives up on a socket that never opens after the connect timeout", async () => {
    const { transport, calls } = setup({ routes: { "POST unlocks": [200, GRANTED] } });
    const pending = transport.unlock({ article: "x" });
    await vi.advanceTimersByTimeAsync(1001);
    expect(await pending).toEqual(GRANTED);
    expect(calls).toHaveLength(1);
    transport.close();
  });

  it("stays on HTTP after 4401 (bad token): reconnecting would not help", async () => {
    const { transport, calls } = setup({ routes: { "POST unlocks": [401, errorBody("reader_token_invalid")] } });
    const pending = transport.unlock({ article: "x" });
    await flush();
    FakeSocket.instances[0].open();
    FakeSocket.instances[0].serverClose(4401);
    await expect(pending).rejects.toMatchObject({ code: "reader_token_invalid", status: 401 });
    expect(transport.state).toBe("disabled");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(calls).toHaveLength(1);
  });

  it("repeats over HTTP a request the socket lost or left unanswered", async () => {
    const { transport, calls } = setup({ routes: { "POST unlocks": [201, { ...GRANTED, amount_drops: "1000" }] } });
    transport.connect();
    await flush();
    FakeSocket.instances[0].accept();
    await flush();

    const lost = transport.unlock({ article: "x", idempotencyKey: "k" });
    await flush();
    expect(FakeSocket.instances[0].sent[1]).toMatchObject({ type: "unlock", article: "x", idempotency_key: "k" });
    FakeSocket.instances[0].serverClose(1011);
    expect((await lost).amount_drops).toBe("1000");
    expect(calls).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(800); // reconnect
    FakeSocket.instances[1].accept();
    await flush();
    const unanswered = transport.unlock({ article: "x", idempotencyKey: "k" });
    await flush();
    expect(FakeSocket.instances[1].sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2001);
    expect((await unanswered).amount_drops).toBe("1000");
    expect(calls).toHaveLength(2);
    transport.close();
  });

  it("does not fall back on a definite refusal over the socket", async () => {
    const { transport, calls } = setup();
    transport.connect();
    await flush();
    FakeSocket.instances[0].accept();
    await flush();
    const pending = transport.unlock({ article: "x" });
    await flush();
    const ws = FakeSocket.instances[0];
    ws.receive({ type: "error", id: ws.sent[1].id, status: 422, error: { code: "claim_underpaid", message: "m" } });
    await expect(pending).rejects.toMatchObject({ code: "claim_underpaid" });
    expect(calls).toHaveLength(0);
  });

  it("ignores malformed frames and answers for unknown ids", async () => {
    const { transport } = setup();
    transport.connect();
    await flush();
    const ws = FakeSocket.instances[0];
    ws.accept();
    await flush();
    const pending = transport.unlock({ article: "x" });
    await flush();
    ws.onmessage({ data: "{not json" });
    ws.receive({ type: "error", error: { code: "malformed_message" } });
    ws.receive({ type: "unlock.result", id: 999, ...GRANTED });
    ws.receive({ type: "unlock.result", id: ws.sent[1].id, ...GRANTED });
    expect(await pending).toEqual(GRANTED);
  });
});

describe("HTTP fallback", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("retries network errors with backoff, then succeeds", async () => {
    let n = 0;
    const { transport, calls } = setup({
      wsUrl: null,
      routes: { "POST unlocks": () => (++n < 3 ? new TypeError("Failed to fetch") : [200, GRANTED]) },
    });
    const pending = transport.unlock({ article: "x" });
    await vi.advanceTimersByTimeAsync(374);
    expect(calls).toHaveLength(1); // first wait: backoffDelay(0) = 375
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(750);
    expect(await pending).toEqual(GRANTED);
    expect(calls).toHaveLength(3);
  });

  it("honours a short Retry-After on 503 and gives up after the last attempt", async () => {
    const { transport, calls } = setup({
      wsUrl: null,
      routes: { "POST unlocks": [503, errorBody("ledger_unavailable"), { "Retry-After": "1" }] },
    });
    const pending = transport.unlock({ article: "x" });
    const check = expect(pending).rejects.toMatchObject({ code: "ledger_unavailable", status: 503 });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1002);
    await check;
    expect(calls).toHaveLength(3);
  });

  it("does not wait out a long Retry-After, nor retry a 4xx", async () => {
    const long = setup({ wsUrl: null, routes: { "POST unlocks": [429, errorBody("rate_limited"), { "Retry-After": "60" }] } });
    await expect(long.transport.unlock({ article: "x" })).rejects.toMatchObject({ code: "rate_limited" });
    expect(long.calls).toHaveLength(1);
    const refused = setup({ wsUrl: null, routes: { "POST unlocks": [402, errorBody("payment_required")] } });
    await expect(refused.transport.unlock({ article: "x" })).rejects.toMatchObject({ code: "payment_required" });
    expect(refused.calls).toHaveLength(1);
  });
});

describe("telemetry session", () => {
  beforeEach(() => {
    FakeSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  const SESSION = "tls_abcdefghijklmnopqrstuvwxyz";

  it("rides in the socket's unlock frame as telemetry_session", async () => {
    const { transport } = setup();
    transport.connect();
    await flush();
    FakeSocket.instances[0].accept();
    await flush();
    const pending = transport.unlock({ article: "x", telemetrySession: SESSION });
    await flush();
    const ws = FakeSocket.instances[0];
    expect(ws.sent[1]).toEqual({ type: "unlock", id: ws.sent[1].id, article: "x", telemetry_session: SESSION });
    ws.receive({ type: "unlock.result", id: ws.sent[1].id, ...GRANTED });
    await pending;
  });

  it("rides in the HTTP body as telemetry_session, empty (never left out) when there is none", async () => {
    const { transport, calls } = setup({ wsUrl: null, routes: { "POST unlocks": [200, GRANTED] } });
    await transport.unlock({ article: "x", telemetrySession: SESSION });
    await transport.unlock({ article: "x" });
    expect(calls[0].body).toEqual({ publisher: "pub_a", article: "x", telemetry_session: SESSION });
    // an empty session tells the server the SDK paid without telemetry (an agent names none)
    expect(calls[1].body).toEqual({ publisher: "pub_a", article: "x", telemetry_session: "" });
  });

  it("a risk_challenge error frame keeps the challenge in its details", async () => {
    const { transport } = setup();
    transport.connect();
    await flush();
    FakeSocket.instances[0].accept();
    await flush();
    const pending = transport.unlock({ article: "x", telemetrySession: SESSION });
    await flush();
    const ws = FakeSocket.instances[0];
    const challenge = { id: "chl_1", kind: "press_hold", hold_ms: 800 };
    ws.receive({ type: "error", id: ws.sent[1].id, status: 403, error: { code: "risk_challenge", message: "Hold.", challenge } });
    await expect(pending).rejects.toMatchObject({ code: "risk_challenge", status: 403, details: { challenge } });
  });
});
