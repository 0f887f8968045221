// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { looksNative, replacedBuiltins } from "../../../src/paywall/detectors/integrity.js";
import { integrityReport, stringify, watchedBuiltins } from "../../../src/paywall/natives.js";

describe("integrity detector", () => {
  it("names what changed since start-up and what was not native even then", () => {
    const a = () => 1;
    expect(
      replacedBuiltins([
        { name: "kept", captured: Math.max, current: Math.max, native: true },
        { name: "swapped", captured: Math.max, current: a, native: true },
        { name: "patched-early", captured: a, current: a, native: false },
      ]),
    ).toEqual(["swapped", "patched-early"]);
  });

  it("looksNative trusts only [native code] bodies", () => {
    const toString = Function.prototype.toString;
    expect(looksNative(Math.max, toString)).toBe(true);
    expect(looksNative(function fake() {}, toString)).toBe(false);
    expect(looksNative(new Proxy(() => 1, {}), toString)).toBe(true); // a Proxy passes: known limit
    expect(looksNative("x", toString)).toBe(false);
  });
});

describe("natives captured at start-up", () => {
  const original = JSON.stringify;
  const originalDateNow = Date.now;
  afterEach(() => {
    JSON.stringify = original;
    Date.now = originalDateNow;
  });

  it("reports a built-in replaced after start-up, and the SDK keeps using the captured one", () => {
    expect(watchedBuiltins()).toEqual(expect.arrayContaining(["JSON.stringify", "Date.now", "Function.prototype.toString", "WebSocket"]));
    expect(integrityReport()).not.toContain("JSON.stringify");
    JSON.stringify = () => '"forged"';
    Date.now = () => 0;
    expect(integrityReport()).toEqual(expect.arrayContaining(["JSON.stringify", "Date.now"]));
    expect(stringify({ a: 1 })).toBe('{"a":1}'); // not the replacement
    JSON.stringify = original;
    Date.now = originalDateNow;
    expect(integrityReport()).not.toContain("JSON.stringify");
  });
});
