import { beforeEach, describe, expect, it, vi } from "vitest";

let telemetry;
beforeEach(async () => {
  vi.resetModules();
  telemetry = await import("../../src/paywall/telemetry.js");
});

describe("telemetry registry", () => {
  it("holds no source of its own: nothing is collected until a source is registered", () => {
    expect(telemetry.startTelemetry()).toEqual([]);
    expect(telemetry.drainTelemetry()).toEqual({ samples: [], dropped: 0 });
  });

  it("starts registered sources on start, and late ones at once", () => {
    const early = { name: "early", start: vi.fn(() => () => {}) };
    telemetry.registerTelemetrySource(early);
    expect(early.start).not.toHaveBeenCalled();
    expect(telemetry.startTelemetry()).toEqual(["early"]);
    expect(early.start).toHaveBeenCalledTimes(1);
    telemetry.startTelemetry();
    expect(early.start).toHaveBeenCalledTimes(1); // idempotent

    const late = { name: "late", start: vi.fn() };
    telemetry.registerTelemetrySource(late);
    expect(late.start).toHaveBeenCalledTimes(1);
  });

  it("buffers what sources emit, with the source's name, for the connection to send", () => {
    let emit;
    telemetry.registerTelemetrySource({ name: "pointer", start: (e) => void (emit = e) });
    telemetry.startTelemetry();
    emit(1, 2, 3);
    emit(4, 5, 6);
    expect(telemetry.bufferedTelemetry()).toEqual([
      { source: "pointer", data: [1, 2, 3] },
      { source: "pointer", data: [4, 5, 6] },
    ]);
    telemetry.consumeTelemetry(1); // the first went out in a batch
    expect(telemetry.bufferedTelemetry()).toEqual([{ source: "pointer", data: [4, 5, 6] }]);
    expect(telemetry.drainTelemetry()).toEqual({ samples: [{ source: "pointer", data: [4, 5, 6] }], dropped: 0 });
    expect(telemetry.drainTelemetry().samples).toEqual([]);
  });

  it("keeps samples as numbers in a typed array: amend replaces the source's last one while it is buffered", () => {
    let emit;
    telemetry.registerTelemetrySource({ name: "m", start: (e) => void (emit = e) });
    telemetry.startTelemetry();
    emit(1, 10, 20);
    emit.amend(2, 11, 21);
    expect(telemetry.bufferedTelemetry()).toEqual([{ source: "m", data: [2, 11, 21] }]);
    telemetry.consumeTelemetry(1); // sent: a later amend records a new sample
    emit.amend(3, 12, 22);
    expect(telemetry.bufferedTelemetry()).toEqual([{ source: "m", data: [3, 12, 22] }]);
    expect(telemetry.bufferedTelemetryCount()).toBe(1);
  });

  it("turns a source's numbers back with its shape, strings through emit.text", () => {
    let emit;
    const shape = (v, text) => ({ article: text(v[0]), visible_ms: v[1] });
    telemetry.registerTelemetrySource({ name: "d", shape, start: (e) => void (emit = e) });
    telemetry.startTelemetry();
    emit(emit.text("harbour-tides"), 1500);
    emit(emit.text("harbour-tides"), 2500);
    expect(telemetry.bufferedTelemetry().map((s) => s.data)).toEqual([
      { article: "harbour-tides", visible_ms: 1500 },
      { article: "harbour-tides", visible_ms: 2500 },
    ]);
  });

  it("bounds the buffer, dropping the oldest, and counts what it dropped", () => {
    let emit;
    telemetry.registerTelemetrySource({ name: "s", start: (e) => void (emit = e) });
    telemetry.startTelemetry();
    const extra = 88;
    for (let i = 0; i < telemetry.MAX_BUFFERED + extra; i++) emit(i);
    expect(telemetry.droppedTelemetry()).toBe(extra);
    const { samples, dropped } = telemetry.drainTelemetry();
    expect(samples).toHaveLength(telemetry.MAX_BUFFERED);
    expect(samples[0].data).toBe(extra);
    expect(dropped).toBe(extra);
    expect(telemetry.drainTelemetry().dropped).toBe(0);
    expect(telemetry.droppedTelemetry()).toBe(extra); // the total stays
  });

  it("flushTelemetrySources asks the sources that hold samples back", () => {
    const flush = vi.fn();
    telemetry.registerTelemetrySource({ name: "dwell", start() {}, flush });
    telemetry.registerTelemetrySource({
      name: "bad",
      start() {},
      flush() {
        throw new Error("x");
      },
    });
    telemetry.startTelemetry();
    expect(() => telemetry.flushTelemetrySources()).not.toThrow();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it("unregister and stop call the source's stop function", () => {
    const stop = vi.fn();
    const unregister = telemetry.registerTelemetrySource({ name: "s", start: () => stop });
    telemetry.startTelemetry();
    unregister();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(telemetry.telemetrySources()).toEqual([]);
  });

  it("a failing source never breaks the page", () => {
    telemetry.registerTelemetrySource({
      name: "broken",
      start() {
        throw new Error("no sensor");
      },
    });
    expect(() => telemetry.startTelemetry()).not.toThrow();
  });

  it("refuses malformed and duplicate sources", () => {
    expect(() => telemetry.registerTelemetrySource({ name: "" , start() {} })).toThrow(TypeError);
    expect(() => telemetry.registerTelemetrySource({ name: "x" })).toThrow(TypeError);
    telemetry.registerTelemetrySource({ name: "x", start() {} });
    expect(() => telemetry.registerTelemetrySource({ name: "x", start() {} })).toThrow(/already/);
  });
});
