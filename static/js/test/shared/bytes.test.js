import { describe, expect, it } from "vitest";
import {
  base64ToBytes,
  bytesToBase64,
  bytesToHex,
  concatBytes,
  hexToBytes,
  readUint64BE,
  uint64BE,
} from "../../src/shared/bytes.js";

describe("hex", () => {
  it("round-trips and writes upper case", () => {
    const bytes = new Uint8Array([0, 1, 0xab, 0xff]);
    expect(bytesToHex(bytes)).toBe("0001ABFF");
    expect(hexToBytes("0001abff")).toEqual(bytes);
    expect(hexToBytes("")).toEqual(new Uint8Array(0));
  });

  it.each(["abc", "zz", "0x00", " 00", 42, null])("refuses %j", (bad) => {
    expect(() => hexToBytes(bad)).toThrow(TypeError);
  });
});

describe("base64", () => {
  it("round-trips binary data", () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
  });

  it("matches known encodings and accepts the URL-safe alphabet", () => {
    expect(bytesToBase64(new TextEncoder().encode("foobar"))).toBe("Zm9vYmFy");
    expect(bytesToBase64(new Uint8Array([0xfb, 0xff]))).toBe("+/8=");
    expect(base64ToBytes("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it("refuses garbage", () => {
    expect(() => base64ToBytes("a")).toThrow(TypeError);
    expect(() => base64ToBytes("ab$c")).toThrow(TypeError);
  });
});

describe("uint64 big-endian", () => {
  it("encodes 1000000 as 00000000000F4240", () => {
    expect(bytesToHex(uint64BE(1_000_000))).toBe("00000000000F4240");
    expect(bytesToHex(uint64BE(1_000_000n))).toBe("00000000000F4240");
  });

  it("covers the whole range", () => {
    expect(bytesToHex(uint64BE(0n))).toBe("0000000000000000");
    expect(bytesToHex(uint64BE((1n << 64n) - 1n))).toBe("FFFFFFFFFFFFFFFF");
    expect(readUint64BE(uint64BE(0x0102030405060708n))).toBe(0x0102030405060708n);
  });

  it("refuses what is not a uint64", () => {
    expect(() => uint64BE(-1n)).toThrow(RangeError);
    expect(() => uint64BE(1n << 64n)).toThrow(RangeError);
    expect(() => uint64BE(1.5)).toThrow(TypeError);
    expect(() => uint64BE(2 ** 60)).toThrow(TypeError); // not a safe integer: use a bigint
    expect(() => uint64BE("5")).toThrow(TypeError);
  });

  it("reads at an offset and checks bounds", () => {
    const bytes = concatBytes(new Uint8Array([9, 9]), uint64BE(258n));
    expect(readUint64BE(bytes, 2)).toBe(258n);
    expect(() => readUint64BE(bytes, 3)).toThrow(RangeError);
  });
});
