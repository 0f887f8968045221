// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { MAX_INTERVAL_MS, keysSource } from "../../../src/paywall/telemetry/keys.js";
import { at, recorder } from "./sources.helpers.js";

const down = (t, key = "a", repeat = false) => at(new KeyboardEvent("keydown", { key, code: "KeyA", repeat, bubbles: true }), t);

describe("keys source", () => {
  let stop;
  afterEach(() => stop && stop());

  it("records only the intervals between key-downs, skipping auto-repeat", () => {
    const { samples, emit } = recorder();
    stop = keysSource({ window }).start(emit);
    window.dispatchEvent(down(1000, "p"));
    window.dispatchEvent(down(1120, "a"));
    window.dispatchEvent(down(1150, "a", true));
    window.dispatchEvent(down(1300, "s"));
    window.dispatchEvent(down(1300 + MAX_INTERVAL_MS * 2, "s"));
    expect(samples).toEqual([120, 180, MAX_INTERVAL_MS]);
  });

  it("never records which key: every sample is a bare number", () => {
    const { samples, emit } = recorder();
    stop = keysSource({ window }).start(emit);
    for (const [i, key] of ["h", "u", "n", "t", "e", "r", "2"].entries()) window.dispatchEvent(down(1000 + i * 97, key));
    expect(samples.every((s) => typeof s === "number")).toBe(true);
    expect(JSON.stringify(samples)).not.toMatch(/[a-z]/i);
  });
});
