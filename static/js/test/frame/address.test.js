import { describe, expect, it } from "vitest";
import { base58Encode, classicAddress, ripemd160 } from "../../src/frame/wallet/address.js";
import { bytesToHex } from "../../src/shared/bytes.js";

const enc = (s) => new TextEncoder().encode(s);

describe("RIPEMD-160", () => {
  it.each([
    ["", "9c1185a5c5e9fc54612808977ee8f548b2258d31"],
    ["a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"],
    ["abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"],
    ["message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"],
    ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b"],
    ["a".repeat(55), "0d8a8c9063a48576a7c97e9f95253a6e53ff6765"],
    ["a".repeat(56), "e72334b46c83cc70bef979e15453706c95b888be"],
    ["a".repeat(64), "9dfb7d374ad924f3f88de96291c33e9abed53e32"],
    ["a".repeat(1000), "aa69deee9a8922e92f8105e007f76110f381e9cf"],
  ])("hashes %j", (input, digest) => {
    expect(bytesToHex(ripemd160(enc(input))).toLowerCase()).toBe(digest);
  });
});

describe("classic address", () => {
  it.each([
    ["ED9434799226374926EDA3B54B1B461B4ABF7237962EAE18528FEA67595397FA32", "rDTXLQ7ZKZVKz33zJbHjgVShjsBnqMBhmN"],
    [`ED${"00".repeat(32)}`, "r99SpYzcpwxJEaveHuYMmCD2CsskyRSRpt"],
    [`ED${"FF".repeat(32)}`, "rJ8DRudDbYXeYBHpm2dgzArpr5fBSJWsnq"],
  ])("of %s is %s (vectors from xrpl-py)", async (publicKey, address) => {
    expect(await classicAddress(publicKey)).toBe(address);
    expect(await classicAddress(publicKey.toLowerCase())).toBe(address);
  });

  it("refuses what is not a 33-byte key", async () => {
    await expect(classicAddress("ED00")).rejects.toThrow(TypeError);
  });

  it("base58 keeps leading zeros as the alphabet's first letter", () => {
    expect(base58Encode(new Uint8Array([0, 0, 1]))).toBe("rrp");
  });
});
