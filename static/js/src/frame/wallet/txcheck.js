/**
 * What the funding wallet is willing to sign (issue 9, finding 6): the frame decodes the exact
 * bytes the server prepared (txcodec.js) and compares every field with what it expects from
 * its own state and the reader's confirmation, never with the server's `tx_json`. Anything
 * else — a missing or unexpected field, another account, destination, amount, key, channel,
 * flag, a fee above the cap, a CancelAfter further away than the frame allows — is refused
 * with `prepared_mismatch` before anything is signed.
 *
 *   channel_create  PaymentChannelCreate: Account = the funding address, Destination = the
 *                   platform address the frame was told (config), DestinationTag = the
 *                   publisher's, Amount = the deposit the reader confirmed, PublicKey = the
 *                   claim key, SettleDelay = the configured one (at most MAX_SETTLE_DELAY),
 *                   CancelAfter no later than the configured days (at most MAX_CANCEL_AFTER_DAYS)
 *                   from the frame's own clock (plus CLOCK_SLACK for a skewed clock), Flags 0.
 *   channel_fund    PaymentChannelFund: Channel = the frame's channel, Amount = the confirmed
 *                   top-up, Flags 0.
 *   channel_close   PaymentChannelClaim: Channel = the channel being closed, Flags = tfClose,
 *                   and nothing else (no Balance, Amount or PublicKey: it pays nobody).
 *   all             Fee at most MAX_FEE_DROPS, Sequence and LastLedgerSequence present (so an
 *                   unsubmitted transaction dies), SigningPubKey = the funding key.
 *
 * A too-early CancelAfter is not refused: it cannot lock anything longer, and a channel the
 * server would then refuse to register returns its deposit at CancelAfter anyway.
 */
import { SdkError } from "../errors.js";
import { decodeSigningBlob } from "./txcodec.js";

export const MAX_FEE_DROPS = 20_000n; // 0.02 XRP: 2,000 times the ledger's base fee
export const MAX_CANCEL_AFTER_DAYS = 365;
export const MAX_SETTLE_DELAY_SECONDS = 30 * 86_400;
export const CLOCK_SLACK_SECONDS = 2 * 86_400;
export const TF_CLOSE = 0x00020000;
const RIPPLE_EPOCH_UNIX = 946_684_800;

const COMMON = ["TransactionType", "Account", "Fee", "Sequence", "LastLedgerSequence", "SigningPubKey"];
export const SHAPES = Object.freeze({
  channel_create: {
    type: "PaymentChannelCreate",
    required: [...COMMON, "Destination", "DestinationTag", "Amount", "SettleDelay", "CancelAfter", "PublicKey"],
    optional: ["Flags"],
  },
  channel_fund: { type: "PaymentChannelFund", required: [...COMMON, "Channel", "Amount"], optional: ["Flags"] },
  channel_close: { type: "PaymentChannelClaim", required: [...COMMON, "Channel", "Flags"], optional: [] },
});

const same = (a, b) => typeof a === "string" && typeof b === "string" && a.toUpperCase() === b.toUpperCase();

/**
 * The problems of `fields` (a decoded transaction) against `expected`, as short names; [] when
 * it is exactly what the wallet may sign.
 *
 * @param {object} fields
 * @param {{kind: string, account: string, signingPubKey: string, amountDrops?: bigint,
 *          channelId?: string, destination?: string, destinationTag?: number,
 *          claimPublicKey?: string, settleDelaySeconds?: number, cancelAfterDays?: number,
 *          nowUnixSeconds: number}} expected
 */
export function transactionProblems(fields, expected) {
  const shape = SHAPES[expected.kind];
  if (!shape) return ["kind"];
  const problems = [];
  const allowed = new Set([...shape.required, ...shape.optional]);
  for (const name of Object.keys(fields)) if (!allowed.has(name)) problems.push(`unexpected ${name}`);
  for (const name of shape.required) if (!(name in fields)) problems.push(`missing ${name}`);
  const check = (name, ok) => {
    if (name in fields && !ok(fields[name])) problems.push(name);
  };

  check("TransactionType", (v) => v === shape.type);
  check("Account", (v) => v === expected.account);
  check("SigningPubKey", (v) => same(v, expected.signingPubKey));
  check("Fee", (v) => BigInt(v) <= MAX_FEE_DROPS);
  check("Sequence", (v) => v >= 1);
  check("LastLedgerSequence", (v) => v >= 1);
  check("Flags", (v) => v === (expected.kind === "channel_close" ? TF_CLOSE : 0));
  if (expected.kind === "channel_create") {
    const now = Math.floor(expected.nowUnixSeconds) - RIPPLE_EPOCH_UNIX;
    const days = Math.min(expected.cancelAfterDays || MAX_CANCEL_AFTER_DAYS, MAX_CANCEL_AFTER_DAYS);
    check("Destination", (v) => typeof expected.destination === "string" && v === expected.destination);
    check("DestinationTag", (v) => Number.isInteger(expected.destinationTag) && v === expected.destinationTag);
    check("Amount", (v) => expected.amountDrops !== undefined && v === expected.amountDrops.toString());
    check("PublicKey", (v) => same(v, expected.claimPublicKey));
    check(
      "SettleDelay",
      (v) => v <= MAX_SETTLE_DELAY_SECONDS && (expected.settleDelaySeconds === undefined || v === expected.settleDelaySeconds),
    );
    check("CancelAfter", (v) => v <= now + days * 86_400 + CLOCK_SLACK_SECONDS);
  } else {
    check("Channel", (v) => same(v, expected.channelId));
    if (expected.kind === "channel_fund") {
      check("Amount", (v) => expected.amountDrops !== undefined && v === expected.amountDrops.toString());
    }
  }
  return problems;
}

/**
 * Decode the signing blob (hex) and check it against `expected`; resolves with the decoded
 * fields, or rejects with `prepared_mismatch` naming what differs. Nothing is signed here.
 */
export async function verifySigningBlob(signingBlob, expected, options = {}) {
  let fields;
  try {
    fields = await decodeSigningBlob(signingBlob, options);
  } catch (err) {
    throw new SdkError("prepared_mismatch", `The server prepared a transaction the wallet cannot read (${err.message}).`, {
      cause: err,
    });
  }
  const problems = transactionProblems(fields, expected);
  if (problems.length) {
    throw new SdkError(
      "prepared_mismatch",
      `The server prepared a transaction that differs from the request (${problems.join(", ")}).`,
      { details: { fields: problems } },
    );
  }
  return fields;
}
