import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTelemetryConnection, parseHello, telemetryUrl } from "../../../src/paywall/telemetry/connection.js";
import { FakeSocket, flush } from "../../helpers.js";

const URL_ = "wss://pay.example/ws/telemetry/?publisher=pub_a";
const SESSION = "tls_abcdefghijklmnopqrstuv";
const HELLO = { type: "hello", session: SESSION, max_batch_bytes: 16384, max_events: 512, min_interval_ms: 250 };
const FP = { canvas: "c".repeat(64) };

function setup(options = {}) {
  const buffer = [];
  const state = { fingerprint: FP, replaced: [] };
  const conn = createTelemetryConnection({
    url: URL_,
    WebSocket: FakeSocket,
    samples: () => buffer,
    consume: (n) => buffer.splice(0, n),
    fingerprint: () => state.fingerprint,
    integrity: () => state.replaced,
    now: () => Date.now(),
    random: () => 0.5,
    ...options,
  });
  const push = (...samples) => buffer.push(...samples);
  return { conn, buffer, push, state, ws: () => FakeSocket.instances.at(-1) };
}

const move = (t, x, y) => ({ source: "mouse", data: [t, x, y] });

describe("telemetry connection", () => {
  beforeEach(() => {
    FakeSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("opens the socket for the publisher, keeps the hello's session, sends the fingerprint first", async () => {
    expect(telemetryUrl("https://pay.example", "pub_a")).toBe(URL_);
    const { conn, push, ws } = setup();
    push(move(100, 5, 5));
    conn.start();
    expect(ws().url).toBe(URL_);
    ws().open();
    ws().receive(HELLO);
    expect(conn.session).toBe(SESSION);
    await vi.advanceTimersByTimeAsync(0);
    expect(ws().sent).toHaveLength(1);
    expect(ws().sent[0]).toMatchObject({ type: "batch", seq: 0, mouse: [100, 5, 5], fingerprint: FP });
    push(move(120, 6, 7));
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws().sent[1]).toMatchObject({ type: "batch", seq: 1, mouse: [20, 1, 2] });
    expect(ws().sent[1]).not.toHaveProperty("fingerprint");
  });

  it("holds the first batch until the fingerprint is ready (at most FINGERPRINT_WAIT_MS)", async () => {
    const { conn, push, ws, state } = setup({ fingerprintWaitMs: 3000 });
    state.fingerprint = null;
    push(move(100, 5, 5));
    conn.start();
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ws().sent).toHaveLength(0);
    state.fingerprint = FP;
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws().sent[0]).toMatchObject({ seq: 0, fingerprint: FP });
  });

  it("sends at most one batch per min_interval_ms and within max_events", async () => {
    const { conn, push, ws } = setup({ flushEveryMs: 10 });
    conn.start();
    ws().open();
    ws().receive({ ...HELLO, max_events: 5, min_interval_ms: 500 });
    for (let i = 0; i < 12; i++) push({ source: "keys", data: i });
    await vi.advanceTimersByTimeAsync(0);
    expect(ws().sent.map((m) => m.keys)).toEqual([[0, 1, 2, 3, 4]]);
    await vi.advanceTimersByTimeAsync(499);
    expect(ws().sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(ws().sent.map((m) => m.keys)).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    expect(ws().sent.map((m) => m.seq)).toEqual([0, 1]);
  });

  it("flush sends what is buffered and resolves on the ack", async () => {
    const { conn, push, ws } = setup();
    conn.start();
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(0); // the fingerprint batch
    ws().receive({ type: "ack", seq: 0 });
    push({ source: "clicks", data: [300, 1, 2, 0, 0] });
    const flushed = conn.flush(1500);
    await vi.advanceTimersByTimeAsync(250);
    expect(ws().sent.at(-1)).toMatchObject({ seq: 1, clicks: [[300, 1, 2, 0, 0]] });
    ws().receive({ type: "ack", seq: 1 });
    expect(await flushed).toBe(true);
    // no ack: false once the wait is over
    push({ source: "keys", data: 5 });
    const unanswered = conn.flush(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await unanswered).toBe(false);
  });

  it("reports replaced built-ins once, and again when the list changes", async () => {
    const { conn, push, ws, state } = setup();
    state.replaced = ["JSON.stringify"];
    conn.start();
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(0);
    expect(ws().sent[0].integrity).toEqual({ replaced: ["JSON.stringify"] });
    push({ source: "keys", data: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws().sent[1]).not.toHaveProperty("integrity");
    state.replaced = ["JSON.stringify", "WebSocket"];
    push({ source: "keys", data: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws().sent[2].integrity).toEqual({ replaced: ["JSON.stringify", "WebSocket"] });
  });

  it("reconnects with backoff and resumes the session; seq restarts, the fingerprint is sent again", async () => {
    const { conn, push, ws } = setup();
    conn.start();
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(0);
    ws().serverClose(1006);
    expect(FakeSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(750); // backoffDelay(0, base 1000, random .5)
    expect(FakeSocket.instances).toHaveLength(2);
    expect(ws().url).toBe(`${URL_}&session=${SESSION}`);
    push(move(200, 1, 1));
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(0);
    expect(ws().sent[0]).toMatchObject({ seq: 0, fingerprint: FP });
  });

  it("4403 ends telemetry for the page; 4413 halves the batch size; 4429 doubles the interval", async () => {
    const a = setup();
    a.conn.start();
    a.ws().serverClose(4403);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(a.conn.state).toBe("disabled");
    expect(await a.conn.flush(100)).toBe(false);

    FakeSocket.reset();
    const b = setup();
    b.conn.start();
    b.ws().open();
    b.ws().receive(HELLO);
    b.ws().serverClose(4413);
    await vi.advanceTimersByTimeAsync(1000);
    b.ws().open();
    b.ws().receive(HELLO);
    expect(b.conn.limits.maxBytes).toBe(8192);
    b.ws().serverClose(4429);
    await vi.advanceTimersByTimeAsync(2000);
    b.ws().open();
    b.ws().receive(HELLO);
    expect(b.conn.limits.minIntervalMs).toBe(500);
  });

  it("the challenge trace goes out as its own message, answered by challenge.result", async () => {
    const { conn, ws } = setup();
    conn.start();
    ws().open();
    ws().receive(HELLO);
    await vi.advanceTimersByTimeAsync(300);
    const events = [[1000, 50, 60, 0], [1400, 51, 60, 1], [1900, 51, 61, 2]];
    const result = conn.challenge("chl_abc", events, 5000);
    await vi.advanceTimersByTimeAsync(0);
    expect(ws().sent.at(-1)).toEqual({ type: "challenge", id: "chl_abc", events });
    ws().receive({ type: "challenge.result", id: "chl_other", passed: true }); // not ours
    ws().receive({ type: "challenge.result", id: "chl_abc", passed: true });
    expect(await result).toBe(true);
    const failed = conn.challenge("chl_def", events, 5000);
    await vi.advanceTimersByTimeAsync(300);
    ws().receive({ type: "challenge.result", id: "chl_def", passed: false });
    expect(await failed).toBe(false);
    const silent = conn.challenge("chl_ghi", events, 2000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await silent).toBe(false);
    expect(await conn.challenge("not-an-id", events, 10)).toBe(false);
  });

  it("never throws into the page: bad frames are ignored, a throwing WebSocket only stops it", async () => {
    const { conn, ws } = setup();
    conn.start();
    ws().open();
    for (const junk of ["not json", "null", "[1]", '{"type":"hello","session":"bad"}', '{"type":"ack","seq":"x"}']) {
      expect(() => ws().onmessage({ data: junk })).not.toThrow();
    }
    expect(conn.session).toBeNull();
    class Broken {
      constructor() {
        throw new Error("blocked by CSP connect-src");
      }
    }
    const broken = createTelemetryConnection({ url: URL_, WebSocket: Broken, samples: () => [], consume: () => {} });
    expect(() => broken.start()).not.toThrow();
    const flushed = broken.flush(10);
    await vi.advanceTimersByTimeAsync(10);
    expect(await flushed).toBe(false);
    const none = createTelemetryConnection({ url: URL_, WebSocket: undefined });
    expect(none.state).toBe("disabled");
  });

  it("parseHello clamps the limits to sane ranges", () => {
    expect(parseHello(HELLO)).toEqual({ session: SESSION, maxBytes: 16384, maxEvents: 512, minIntervalMs: 250 });
    expect(parseHello({ ...HELLO, max_batch_bytes: -1, max_events: "9", min_interval_ms: 1e9 })).toEqual({
      session: SESSION,
      maxBytes: 16384,
      maxEvents: 512,
      minIntervalMs: 250,
    });
    expect(parseHello({ type: "hello", session: "tls_short" })).toBeNull();
  });
});
