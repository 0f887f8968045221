import { describe, expect, it } from "vitest";
import { SdkError } from "../../src/frame/errors.js";
import { encodeFields } from "../../src/frame/wallet/txcodec.js";
import {
  MAX_CANCEL_AFTER_DAYS,
  MAX_SETTLE_DELAY_SECONDS,
  TF_CLOSE,
  transactionProblems,
  verifySigningBlob,
} from "../../src/frame/wallet/txcheck.js";
import { bytesToHex } from "../../src/shared/bytes.js";

const ACCOUNT = "rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe";
const PLATFORM = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
const FUNDING = `ED${"1A".repeat(32)}`;
const CLAIM = `ED${"2B".repeat(32)}`;
const CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3";
const NOW = 1_800_000_000; // unix seconds
const RIPPLE_NOW = NOW - 946_684_800;

const common = { Account: ACCOUNT, Fee: "12", Sequence: 9, LastLedgerSequence: 300, SigningPubKey: FUNDING };
const expected = (kind, extra = {}) => ({
  kind,
  account: ACCOUNT,
  signingPubKey: FUNDING,
  destination: PLATFORM,
  destinationTag: 7,
  claimPublicKey: CLAIM,
  settleDelaySeconds: 86_400,
  cancelAfterDays: 90,
  nowUnixSeconds: NOW,
  ...extra,
});
const create = {
  ...common,
  TransactionType: "PaymentChannelCreate",
  Destination: PLATFORM,
  DestinationTag: 7,
  Amount: "1000000",
  SettleDelay: 86_400,
  CancelAfter: RIPPLE_NOW + 90 * 86_400,
  PublicKey: CLAIM,
};
const fund = { ...common, TransactionType: "PaymentChannelFund", Channel: CHANNEL, Amount: "500000" };
const close = { ...common, TransactionType: "PaymentChannelClaim", Channel: CHANNEL, Flags: TF_CLOSE };

describe("what the funding wallet signs", () => {
  it("the expected transactions pass", () => {
    expect(transactionProblems(create, expected("channel_create", { amountDrops: 1_000_000n }))).toEqual([]);
    expect(transactionProblems({ ...create, Flags: 0 }, expected("channel_create", { amountDrops: 1_000_000n }))).toEqual([]);
    expect(transactionProblems(fund, expected("channel_fund", { amountDrops: 500_000n, channelId: CHANNEL }))).toEqual([]);
    expect(transactionProblems(close, expected("channel_close", { channelId: CHANNEL.toLowerCase() }))).toEqual([]);
  });

  it("a create needs its destination and claim key to be known to the frame", () => {
    const problems = transactionProblems(create, { ...expected("channel_create", { amountDrops: 1_000_000n }), destination: undefined, claimPublicKey: undefined });
    expect(problems).toEqual(["Destination", "PublicKey"]);
  });

  it("caps SettleDelay and CancelAfter whatever the server's configuration says", () => {
    const lax = expected("channel_create", { amountDrops: 1_000_000n, settleDelaySeconds: undefined, cancelAfterDays: 10_000 });
    expect(transactionProblems({ ...create, SettleDelay: MAX_SETTLE_DELAY_SECONDS + 1 }, lax)).toEqual(["SettleDelay"]);
    const limit = RIPPLE_NOW + MAX_CANCEL_AFTER_DAYS * 86_400 + 2 * 86_400;
    expect(transactionProblems({ ...create, CancelAfter: limit }, lax)).toEqual([]);
    expect(transactionProblems({ ...create, CancelAfter: limit + 1 }, lax)).toEqual(["CancelAfter"]);
  });

  it("a fund or close names no other channel and carries nothing else", () => {
    const e = expected("channel_fund", { amountDrops: 500_000n, channelId: CHANNEL });
    expect(transactionProblems({ ...fund, Expiration: 5 }, e)).toEqual(["unexpected Expiration"]);
    expect(transactionProblems({ ...fund, Channel: "00".repeat(32) }, e)).toEqual(["Channel"]);
    const c = expected("channel_close", { channelId: CHANNEL });
    expect(transactionProblems({ ...close, Flags: 0 }, c)).toEqual(["Flags"]);
    expect(transactionProblems({ ...close, Balance: "1", PublicKey: CLAIM }, c)).toEqual(["unexpected Balance", "unexpected PublicKey"]);
    const { Flags, ...noFlags } = close;
    expect(transactionProblems(noFlags, c)).toEqual(["missing Flags"]);
    expect(transactionProblems({ ...close, NetworkID: 21_337 }, c)).toEqual(["unexpected NetworkID"]);
    expect(transactionProblems({ ...close, TicketSequence: 4, Sequence: 0 }, c)).toEqual(["unexpected TicketSequence", "Sequence"]);
    expect(transactionProblems(close, { ...c, kind: "payment" })).toEqual(["kind"]);
  });

  it("verifies the bytes, not a description of them", async () => {
    const blob = `53545800${bytesToHex(await encodeFields(create))}`;
    const fields = await verifySigningBlob(blob, expected("channel_create", { amountDrops: 1_000_000n }));
    expect(fields).toEqual(create);
    const err = await verifySigningBlob(blob, expected("channel_create", { amountDrops: 2_000_000n })).catch((e) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: "prepared_mismatch", details: { fields: ["Amount"] } });
    await expect(verifySigningBlob(`${blob}00`, expected("channel_create"))).rejects.toMatchObject({ code: "prepared_mismatch" });
  });
});
