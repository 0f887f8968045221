// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { scrollSource } from "../../../src/paywall/telemetry/scroll.js";
import { at, recorder } from "./sources.helpers.js";

describe("scroll source", () => {
  let stop;
  afterEach(() => stop && stop());

  it("records [t, scrollY], coalescing positions closer than a few ms", () => {
    const { samples, emit } = recorder();
    const win = new EventTarget();
    win.document = document;
    win.scrollY = 0;
    stop = scrollSource({ window: win }).start(emit);
    win.scrollY = 120.4;
    win.dispatchEvent(at(new Event("scroll"), 1000));
    win.scrollY = 130;
    win.dispatchEvent(at(new Event("scroll"), 1003));
    win.scrollY = 400;
    win.dispatchEvent(at(new Event("scroll"), 1050));
    expect(samples).toEqual([
      [1003, 130],
      [1050, 400],
    ]);
  });
});
