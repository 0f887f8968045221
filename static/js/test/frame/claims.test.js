import { describe, expect, it } from "vitest";
import { claimMessage, signClaim } from "../../src/frame/claims.js";
import { createKeyring } from "../../src/frame/keys.js";
import { memoryStore } from "../../src/frame/store.js";
import { bytesToHex, hexToBytes } from "../../src/shared/bytes.js";

const CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3";

describe("claim message", () => {
  it("is CLM\\0 ‖ channel ‖ uint64 BE amount (known vector)", () => {
    const msg = claimMessage(CHANNEL, 1_000_000);
    expect(msg).toBeInstanceOf(Uint8Array);
    expect(msg.length).toBe(44);
    expect(bytesToHex(msg)).toBe(`434C4D00${CHANNEL}00000000000F4240`);
  });

  it("accepts lower-case ids, bigint and string amounts alike", () => {
    const expected = bytesToHex(claimMessage(CHANNEL, 1_000_000));
    expect(bytesToHex(claimMessage(CHANNEL.toLowerCase(), 1_000_000n))).toBe(expected);
    expect(bytesToHex(claimMessage(CHANNEL, "1000000"))).toBe(expected);
    expect(bytesToHex(claimMessage(CHANNEL, (1n << 64n) - 1n)).slice(-16)).toBe("FFFFFFFFFFFFFFFF");
  });

  it.each([
    ["short id", CHANNEL.slice(2), 1],
    ["non-hex id", `${CHANNEL.slice(0, 63)}G`, 1],
    ["zero amount", CHANNEL, 0],
    ["negative amount", CHANNEL, -1],
    ["fractional amount", CHANNEL, 1.5],
    ["amount past uint64", CHANNEL, 1n << 64n],
  ])("refuses %s", (_, channel, amount) => {
    expect(() => claimMessage(channel, amount)).toThrow();
  });
});

describe("signed claims", () => {
  it("are Ed25519 signatures over the 44 bytes by the claim key", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    const claim = await signClaim(keyring, CHANNEL.toLowerCase(), 1_000_000n);
    expect(claim.channel_id).toBe(CHANNEL);
    expect(claim.amount_drops).toBe("1000000");
    expect(claim.signature).toMatch(/^[0-9A-F]{128}$/);

    const pair = await keyring.keyPair("claim");
    const ok = await crypto.subtle.verify(
      { name: "Ed25519" },
      pair.publicKey,
      hexToBytes(claim.signature),
      claimMessage(CHANNEL, 1_000_000),
    );
    expect(ok).toBe(true);
    // not valid for another amount, nor by the funding key
    expect(
      await crypto.subtle.verify({ name: "Ed25519" }, pair.publicKey, hexToBytes(claim.signature), claimMessage(CHANNEL, 1_000_001)),
    ).toBe(false);
    const funding = await keyring.keyPair("funding");
    expect(
      await crypto.subtle.verify({ name: "Ed25519" }, funding.publicKey, hexToBytes(claim.signature), claimMessage(CHANNEL, 1_000_000)),
    ).toBe(false);
  });

  it("verify against the public key the server is given (ED + raw)", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    const publicKey = await keyring.publicKeyHex("claim");
    const imported = await crypto.subtle.importKey("raw", hexToBytes(publicKey.slice(2)), { name: "Ed25519" }, true, ["verify"]);
    const claim = await signClaim(keyring, CHANNEL, 42n);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, imported, hexToBytes(claim.signature), claimMessage(CHANNEL, 42n))).toBe(true);
  });
});
