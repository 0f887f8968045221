import { describe, expect, it } from "vitest";
import { dropsToNumber, formatXrp, parseDrops, parseXrp } from "../../src/shared/drops.js";

describe("drops", () => {
  it("parses decimal strings, safe integers and bigints", () => {
    expect(parseDrops("200000")).toBe(200000n);
    expect(parseDrops(5)).toBe(5n);
    expect(parseDrops(7n)).toBe(7n);
    expect(parseDrops("18446744073709551615")).toBe((1n << 64n) - 1n);
  });

  it.each(["", "-1", "1.5", "1e6", " 1", 1.5, -1, null, "18446744073709551616"])("refuses %j", (bad) => {
    expect(() => parseDrops(bad)).toThrow();
  });

  it("becomes a Number only when exact", () => {
    expect(dropsToNumber(1_000_000n)).toBe(1_000_000);
    expect(() => dropsToNumber(1n << 60n)).toThrow(RangeError);
  });

  it("formats and parses XRP", () => {
    expect(formatXrp(200_000n)).toBe("0.2");
    expect(formatXrp(1_000_000n)).toBe("1");
    expect(formatXrp(1n)).toBe("0.000001");
    expect(formatXrp(0n)).toBe("0");
    expect(parseXrp("1.5")).toBe(1_500_000n);
    expect(parseXrp(" 0,25 ")).toBe(250_000n);
    expect(parseXrp(".5")).toBe(500_000n);
    expect(parseXrp("2")).toBe(2_000_000n);
    expect(() => parseXrp("1.0000001")).toThrow();
    expect(() => parseXrp("-1")).toThrow();
    expect(() => parseXrp("abc")).toThrow();
  });
});
