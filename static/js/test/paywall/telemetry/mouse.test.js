// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { COALESCE_MS, mouseSource } from "../../../src/paywall/telemetry/mouse.js";
import { at, recorder } from "./sources.helpers.js";

const move = (t, x, y, pointerType = "mouse") => at(new PointerEvent("pointermove", { clientX: x, clientY: y, pointerType, bubbles: true }), t);

describe("mouse source", () => {
  let stop;
  afterEach(() => stop && stop());

  it("records [t, x, y] per pointer move, rounded, with the event's own time", () => {
    const { samples, emit } = recorder();
    stop = mouseSource({ window }).start(emit);
    window.dispatchEvent(move(100.4, 10.6, 20.2));
    document.body.dispatchEvent(move(117, 12, 25)); // seen from anywhere on the page (capture)
    expect(samples).toEqual([
      [100, 11, 20],
      [117, 12, 25],
    ]);
  });

  it("coalesces moves closer than COALESCE_MS: the latest position replaces the last sample", () => {
    const { samples, emit } = recorder();
    stop = mouseSource({ window }).start(emit);
    window.dispatchEvent(move(100, 0, 0));
    window.dispatchEvent(move(100 + COALESCE_MS - 1, 5, 5));
    window.dispatchEvent(move(100 + COALESCE_MS + 3, 9, 9));
    expect(samples).toEqual([
      [107, 5, 5],
      [111, 9, 9],
    ]);
  });

  it("leaves touch moves out (they are scrolling), keeps the pen", () => {
    const { samples, emit } = recorder();
    stop = mouseSource({ window }).start(emit);
    window.dispatchEvent(move(100, 1, 1, "touch"));
    window.dispatchEvent(move(200, 2, 2, "pen"));
    expect(samples).toEqual([[200, 2, 2]]);
  });

  it("stops listening when stopped", () => {
    const { samples, emit } = recorder();
    mouseSource({ window }).start(emit)();
    window.dispatchEvent(move(100, 1, 1));
    expect(samples).toEqual([]);
  });
});
