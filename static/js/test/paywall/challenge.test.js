// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { createHoldButton, parseChallenge } from "../../src/paywall/challenge.js";
import { at } from "./telemetry/sources.helpers.js";

const pointer = (type, t, x, y, extra = {}) =>
  at(new PointerEvent(type, { clientX: x, clientY: y, pointerId: 1, isPrimary: true, button: 0, bubbles: true, cancelable: true, ...extra }), t);
const key = (type, t, k, extra = {}) => at(new KeyboardEvent(type, { key: k, bubbles: true, cancelable: true, ...extra }), t);

describe("parseChallenge", () => {
  it("takes a press_hold challenge with its id and hold time", () => {
    expect(parseChallenge({ id: "chl_a1", kind: "press_hold", hold_ms: 800 })).toEqual({ id: "chl_a1", kind: "press_hold", holdMs: 800 });
    expect(parseChallenge({ id: "chl_a1", kind: "press_hold" })).toEqual({ id: "chl_a1", kind: "press_hold", holdMs: 800 });
    expect(parseChallenge({ id: "chl_a1", kind: "captcha", hold_ms: 800 })).toBeNull();
    expect(parseChallenge({ id: "x", kind: "press_hold", hold_ms: 800 })).toBeNull();
    expect(parseChallenge({ id: "chl_a1", kind: "press_hold", hold_ms: 60_000 })).toBeNull();
    expect(parseChallenge(null)).toBeNull();
  });
});

describe("hold button", () => {
  function make(holdMs = 800) {
    const onShort = vi.fn();
    const hold = createHoldButton({ document, holdMs, onShort, now: () => 0 });
    document.body.replaceChildren(hold.button);
    let events = null;
    hold.done.then((e) => {
      events = e;
    });
    return { ...hold, onShort, result: () => events };
  }

  it("is an accessible button with data-paywall-action=challenge and its hold time in the CSSOM", () => {
    const { button } = make(1200);
    expect(button.tagName).toBe("BUTTON");
    expect(button.type).toBe("button");
    expect(button.getAttribute("data-paywall-action")).toBe("challenge");
    expect(button.getAttribute("aria-label")).toMatch(/hold for 1.2 seconds/);
    expect(button.hasAttribute("style") ? button.getAttribute("style") : "").not.toMatch(/[^-]hold:/); // only the custom property
    expect(button.style.getPropertyValue("--dg-hold")).toBe("1200ms");
  });

  it("resolves with the pointer trace [t, x, y, kind] of a long enough hold", async () => {
    const { button, result } = make(800);
    button.dispatchEvent(pointer("pointerdown", 1000, 40, 20));
    expect(button.classList.contains("dg-holding")).toBe(true);
    button.dispatchEvent(pointer("pointermove", 1300, 41, 21));
    button.dispatchEvent(pointer("pointermove", 1600, 41, 22));
    button.dispatchEvent(pointer("pointerup", 1850, 42, 22));
    await Promise.resolve();
    expect(result()).toEqual([
      [1000, 40, 20, 0],
      [1300, 41, 21, 1],
      [1600, 41, 22, 1],
      [1850, 42, 22, 2],
    ]);
    expect(button.getAttribute("aria-disabled")).toBe("true");
  });

  it("a hold released too early starts over", async () => {
    const { button, onShort, result } = make(800);
    button.dispatchEvent(pointer("pointerdown", 1000, 40, 20));
    button.dispatchEvent(pointer("pointerup", 1300, 40, 20));
    await Promise.resolve();
    expect(onShort).toHaveBeenCalledTimes(1);
    expect(result()).toBeNull();
    expect(button.classList.contains("dg-holding")).toBe(false);
    button.dispatchEvent(pointer("pointerdown", 2000, 40, 20));
    button.dispatchEvent(pointer("pointerup", 2900, 41, 20));
    await Promise.resolve();
    expect(result()).toEqual([
      [2000, 40, 20, 0],
      [2900, 41, 20, 2],
    ]);
  });

  it("ignores secondary buttons and other pointers", async () => {
    const { button, result } = make(800);
    button.dispatchEvent(pointer("pointerdown", 1000, 1, 1, { button: 2 }));
    button.dispatchEvent(pointer("pointerup", 2000, 1, 1, { button: 2 }));
    button.dispatchEvent(pointer("pointerdown", 3000, 1, 1));
    button.dispatchEvent(pointer("pointerup", 4000, 1, 1, { pointerId: 7 }));
    await Promise.resolve();
    expect(result()).toBeNull();
  });

  it("works from the keyboard: holding Space or Enter, without activating a click", async () => {
    const { button, result } = make(800);
    const click = vi.fn();
    button.addEventListener("click", click);
    const down = key("keydown", 1000, " ");
    button.dispatchEvent(down);
    expect(down.defaultPrevented).toBe(true);
    button.dispatchEvent(key("keydown", 1100, " ", { repeat: true }));
    button.dispatchEvent(key("keyup", 1900, " "));
    await Promise.resolve();
    expect(result()).toEqual([
      [1000, 0, 0, 0],
      [1900, 0, 0, 2],
    ]);
    expect(click).not.toHaveBeenCalled();

    const enter = make(500);
    enter.button.dispatchEvent(key("keydown", 100, "Enter"));
    enter.button.dispatchEvent(key("keyup", 700, "Enter"));
    await Promise.resolve();
    expect(enter.result()).toHaveLength(2);
  });
});
