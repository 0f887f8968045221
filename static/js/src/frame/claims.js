/**
 * Payment-channel claims, built in JS: the signed message is the 44 bytes
 * `CLM\0` ‖ channel id (32 bytes) ‖ cumulative amount in drops (uint64, big-endian),
 * exactly what rippled's PaymentChannelClaim checks.
 */
import { concatBytes, hexToBytes, uint64BE } from "../shared/bytes.js";
import { parseDrops } from "../shared/drops.js";

export const CLAIM_PREFIX = Object.freeze([0x43, 0x4c, 0x4d, 0x00]); // "CLM\0"
const CHANNEL_RE = /^[0-9a-fA-F]{64}$/;

export function isChannelId(value) {
  return typeof value === "string" && CHANNEL_RE.test(value);
}

/** The 44-byte claim message for a channel and a cumulative amount (>= 1 drop). */
export function claimMessage(channelId, amountDrops) {
  if (!isChannelId(channelId)) throw new TypeError("channel id must be 64 hex digits");
  const amount = parseDrops(amountDrops);
  if (amount < 1n) throw new RangeError("a claim is for at least 1 drop");
  return concatBytes(new Uint8Array(CLAIM_PREFIX), hexToBytes(channelId), uint64BE(amount));
}

/**
 * Sign a claim with the keyring's claim key. Call only with an amount the meter reserved:
 * the meter is what enforces the cap and the channel's funding before anything is signed.
 * @returns {Promise<{channel_id: string, amount_drops: string, signature: string}>}
 */
export async function signClaim(keyring, channelId, amountDrops) {
  const message = claimMessage(channelId, amountDrops);
  const signature = await keyring.sign("claim", message);
  return {
    channel_id: channelId.toUpperCase(),
    amount_drops: parseDrops(amountDrops).toString(),
    signature,
  };
}
