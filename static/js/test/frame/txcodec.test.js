import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { base58Decode, decodeAddress, encodeAccountId } from "../../src/frame/wallet/address.js";
import {
  decodeFields,
  decodeSigningBlob,
  encodeFields,
  paymentChannelId,
  signedTransactionHex,
  transactionId,
} from "../../src/frame/wallet/txcodec.js";
import { bytesToHex, hexToBytes } from "../../src/shared/bytes.js";

// Made with xrpl-py by tests/fixtures/tx_vectors.py (checked against it by
// tests/paywall/test_frame_tx_vectors.py).
const VECTORS = JSON.parse(readFileSync(new URL("../fixtures/tx_vectors.json", import.meta.url), "utf8"));

describe("the frame's transaction codec against xrpl-py", () => {
  it("has vectors over every field it knows", () => {
    expect(VECTORS.vectors.length).toBeGreaterThanOrEqual(200);
    const seen = new Set(VECTORS.vectors.flatMap((v) => Object.keys(v.tx_json)));
    for (const name of [
      "TransactionType", "NetworkID", "Flags", "SourceTag", "Sequence", "Expiration", "DestinationTag",
      "LastLedgerSequence", "CancelAfter", "SettleDelay", "TicketSequence", "Channel", "Amount", "Balance",
      "Fee", "PublicKey", "SigningPubKey", "Account", "Destination",
    ]) {
      expect(seen.has(name), name).toBe(true);
    }
  });

  it("decodes every signing blob to exactly the transaction xrpl-py encoded", async () => {
    for (const v of VECTORS.vectors) {
      expect(await decodeSigningBlob(v.signing_blob)).toEqual(v.tx_json);
    }
  });

  it("encodes every transaction to exactly xrpl-py's bytes, signing and signed", async () => {
    for (const v of VECTORS.vectors) {
      expect(`53545800${bytesToHex(await encodeFields(v.tx_json))}`).toBe(v.signing_blob);
      expect(await signedTransactionHex(v.tx_json, v.txn_signature)).toBe(v.signed_blob);
    }
  });

  it("computes the transaction id and a create's channel id as the ledger does", async () => {
    for (const v of VECTORS.vectors) {
      expect(await transactionId(v.signed_blob)).toBe(v.hash);
      if (v.channel_id) {
        const tx = v.tx_json;
        expect(await paymentChannelId(tx.Account, tx.Destination, tx.Sequence)).toBe(v.channel_id);
      }
    }
  });

  it("refuses transactions with anything it does not know", async () => {
    expect(VECTORS.refused.length).toBeGreaterThanOrEqual(8);
    for (const r of VECTORS.refused) {
      await expect(decodeSigningBlob(r.signing_blob), r.why).rejects.toThrow(TypeError);
    }
  });
});

describe("strictness", () => {
  const blob = VECTORS.vectors.find((v) => v.tx_json.TransactionType === "PaymentChannelCreate").signing_blob;
  const refuse = (hex) => expect(decodeSigningBlob(hex)).rejects.toThrow(TypeError);

  it("needs the signing prefix and refuses a TxnSignature", async () => {
    await refuse(blob.slice(8));
    await refuse(`53545801${blob.slice(8)}`);
    await refuse("");
    await refuse("zz");
    const v = VECTORS.vectors[0];
    await refuse(`53545800${v.signed_blob}`);
  });

  it("refuses a cut inside a field and trailing bytes", async () => {
    // A cut between two fields is a shorter transaction (the checks then miss a field); a cut
    // anywhere else is refused, and nothing decodes to a field the full blob does not have.
    const full = await decodeSigningBlob(blob);
    let refused = 0;
    for (let cut = 8; cut < blob.length; cut += 2) {
      try {
        const part = await decodeSigningBlob(blob.slice(0, cut));
        for (const [name, value] of Object.entries(part)) expect(full[name]).toEqual(value);
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan((blob.length - 8) / 2 - 20);
    await refuse(`${blob}00`);
    await refuse(`${blob}E1`); // an STObject end marker
    await refuse(`${blob}F1`); // an STArray end marker
  });

  it("refuses fields out of order, repeated, or with a non-minimal id", async () => {
    // TransactionType (12 000D) then Flags (22 ...): swap them
    const body = blob.slice(8);
    const txType = body.slice(0, 6);
    const rest = body.slice(6);
    await refuse(`53545800${rest.slice(0, 10)}${txType}${rest.slice(10)}`);
    await refuse(`53545800${txType}${txType}${rest}`);
    // Flags (type 2, code 2) written in the two-byte form 20 02
    await refuse(`53545800${txType}2002${rest.slice(2)}`);
  });

  it("refuses amounts that are not positive XRP, or more than all of it", async () => {
    await expect(decodeSigningBlob("5354580012000E68400000000000000C")).resolves.toEqual({ TransactionType: "PaymentChannelFund", Fee: "12" });
    await refuse("5354580012000E68000000000000000C"); // negative
    await refuse("5354580012000E68C00000000000000C"); // issued currency
    await refuse("5354580012000E68600000000000000C"); // MPT
    await expect(decodeSigningBlob("5354580012000E6841FFFFFFFFFFFFFF")).rejects.toThrow(/all the XRP/); // > 10^17
    await expect(decodeSigningBlob("5354580012000E68416345785D8A0000")).resolves.toEqual({ TransactionType: "PaymentChannelFund", Fee: "100000000000000000" });
  });

  it("refuses transaction types the wallet never signs", async () => {
    await refuse("535458001200002280000000"); // Payment
    await refuse("53545800120003"); // AccountSet
  });

  it("decodes the long length prefixes the ledger uses", async () => {
    for (const n of [0, 1, 192, 193, 500, 12_480, 12_481, 20_000]) {
      const hex = "AB".repeat(n);
      const bytes = await encodeFields({ PublicKey: hex });
      expect(await decodeFields(bytes)).toEqual({ PublicKey: hex });
    }
  });
});

describe("addresses", () => {
  it("round-trip between AccountIDs and classic addresses, checksum checked", async () => {
    for (const v of VECTORS.vectors.slice(0, 20)) {
      const id = await decodeAddress(v.tx_json.Account);
      expect(id).toHaveLength(20);
      expect(await encodeAccountId(id)).toBe(v.tx_json.Account);
    }
    const good = VECTORS.vectors[0].tx_json.Account;
    const last = good.at(-1) === "r" ? "p" : "r";
    await expect(decodeAddress(good.slice(0, -1) + last)).rejects.toThrow(TypeError);
    await expect(decodeAddress("0OIl")).rejects.toThrow(TypeError);
    expect(() => base58Decode("0")).toThrow(TypeError);
    expect(bytesToHex(base58Decode("rrp"))).toBe("000001");
    expect(hexToBytes("00")).toHaveLength(1);
  });
});
