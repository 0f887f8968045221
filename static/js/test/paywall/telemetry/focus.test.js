// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { focusSource } from "../../../src/paywall/telemetry/focus.js";
import { at, recorder } from "./sources.helpers.js";

describe("focus source", () => {
  let stop;
  afterEach(() => stop && stop());

  it("records [t, state]: 0 blur, 1 focus (the window), 2 hidden, 3 visible", () => {
    const { samples, emit } = recorder();
    stop = focusSource({ window }).start(emit);
    window.dispatchEvent(at(new FocusEvent("blur"), 10));
    window.dispatchEvent(at(new FocusEvent("focus"), 20));
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    document.dispatchEvent(at(new Event("visibilitychange"), 30));
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    document.dispatchEvent(at(new Event("visibilitychange"), 40));
    expect(samples).toEqual([
      [10, 0],
      [20, 1],
      [30, 2],
      [40, 3],
    ]);
  });

  it("ignores an element's focus inside the page", () => {
    const { samples, emit } = recorder();
    stop = focusSource({ window }).start(emit);
    const input = document.createElement("input");
    document.body.append(input);
    input.dispatchEvent(new FocusEvent("focus", { bubbles: false }));
    input.dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect(samples).toEqual([]);
  });
});
