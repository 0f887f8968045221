// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { clickKind, clicksSource } from "../../../src/paywall/telemetry/clicks.js";
import { at, recorder } from "./sources.helpers.js";

describe("clicks source", () => {
  let stop;
  afterEach(() => stop && stop());

  it("records [t, x, y, button, kind], also when the page stops propagation", () => {
    const { samples, emit } = recorder();
    stop = clicksSource({ window }).start(emit);
    const target = document.createElement("button");
    document.body.append(target);
    target.addEventListener("click", (e) => e.stopPropagation());
    target.dispatchEvent(at(new PointerEvent("click", { clientX: 40.2, clientY: 50.7, button: 0, detail: 1, pointerType: "mouse", bubbles: true }), 300));
    expect(samples).toEqual([[300, 40, 51, 0, 0]]);
  });

  it("tells mouse, touch, pen and keyboard apart", () => {
    expect(clickKind({ detail: 1, pointerType: "mouse" })).toBe(0);
    expect(clickKind({ detail: 1, pointerType: "touch" })).toBe(1);
    expect(clickKind({ detail: 1, pointerType: "pen" })).toBe(2);
    expect(clickKind({ detail: 0, pointerType: "" })).toBe(3); // Enter/Space on a control
    expect(clickKind({ detail: 1 })).toBe(0); // a browser whose clicks are MouseEvents
  });
});
