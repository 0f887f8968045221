/**
 * Money in drops (1 XRP = 1,000,000 drops). Inside the SDK an amount is a bigint; it becomes
 * a decimal string on the wire and a Number only where a contract asks for one (the
 * `paywall:statechange` event's `amountDrops`, ChannelView), and only when it is exact.
 */

export const DROPS_PER_XRP = 1_000_000n;
export const MAX_DROPS = (1n << 64n) - 1n;

/** A decimal string of digits, a safe non-negative integer Number or a bigint → bigint. */
export function parseDrops(value) {
  let n;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "string" && /^[0-9]{1,20}$/.test(value)) n = BigInt(value);
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else throw new TypeError("not an amount of drops");
  if (n < 0n || n > MAX_DROPS) throw new RangeError("amount of drops out of range");
  return n;
}

/** bigint drops → Number, refusing anything a Number cannot hold exactly. */
export function dropsToNumber(drops) {
  const n = parseDrops(drops);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("too many drops for a Number");
  return Number(n);
}

/** bigint drops → XRP text without trailing zeros: 200000n → "0.2", 1000000n → "1". */
export function formatXrp(drops) {
  const n = parseDrops(drops);
  const whole = n / DROPS_PER_XRP;
  const frac = (n % DROPS_PER_XRP).toString().padStart(6, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** XRP text typed by a person ("1.5", "0,25", " 2 ") → bigint drops; at most 6 decimals. */
export function parseXrp(text) {
  const clean = String(text).trim().replace(",", ".");
  const m = /^([0-9]{1,11})(?:\.([0-9]{0,6}))?$|^\.([0-9]{1,6})$/.exec(clean);
  if (!m) throw new TypeError("enter an amount of XRP, e.g. 1.5");
  const whole = BigInt(m[1] || "0");
  const frac = BigInt((m[2] ?? m[3] ?? "").padEnd(6, "0") || "0");
  return whole * DROPS_PER_XRP + frac;
}
