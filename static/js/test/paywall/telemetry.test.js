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
    expect(telemetry.startTelemetry({ clock: () => 1000 })).toEqual(["early"]);
    expect(early.start).toHaveBeenCalledTimes(1);
    telemetry.startTelemetry();
    expect(early.start).toHaveBeenCalledTimes(1); // idempotent

    const late = { name: "late", start: vi.fn() };
    telemetry.registerTelemetrySource(late);
    expect(late.start).toHaveBeenCalledTimes(1);
  });

  it("buffers what sources emit, stamped with source and time, for the transport to drain", () => {
    let emit;
    telemetry.registerTelemetrySource({ name: "pointer", start: (e) => void (emit = e) });
    telemetry.startTelemetry({ clock: () => 42 });
    emit({ x: 1 });
    emit({ x: 2 });
    expect(telemetry.drainTelemetry()).toEqual({
      samples: [
        { source: "pointer", t: 42, data: { x: 1 } },
        { source: "pointer", t: 42, data: { x: 2 } },
      ],
      dropped: 0,
    });
    expect(telemetry.drainTelemetry().samples).toEqual([]);
  });

  it("bounds the buffer and counts what it dropped", () => {
    let emit;
    telemetry.registerTelemetrySource({ name: "s", start: (e) => void (emit = e) });
    telemetry.startTelemetry();
    for (let i = 0; i < 600; i++) emit(i);
    const { samples, dropped } = telemetry.drainTelemetry();
    expect(samples).toHaveLength(512);
    expect(samples[0].data).toBe(88);
    expect(dropped).toBe(88);
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
