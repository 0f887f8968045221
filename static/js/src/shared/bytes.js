/**
 * Byte helpers shared by the page script and the signer frame: hex, base64, uint64 big-endian.
 *
 * Everything here is strict: malformed input throws a TypeError or RangeError instead of being
 * read "as well as possible", because these bytes end up signed.
 */

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const UINT64_MAX = (1n << 64n) - 1n;

/** Even-length hex (either case) → bytes. */
export function hexToBytes(hex) {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new TypeError("expected an even-length hex string");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/** Bytes → upper-case hex, the form the XRP Ledger and the API use. */
export function bytesToHex(bytes) {
  let out = "";
  for (const b of toBytes(bytes)) out += b.toString(16).padStart(2, "0");
  return out.toUpperCase();
}

/** Bytes → standard base64 (with padding). */
export function bytesToBase64(bytes) {
  const view = toBytes(bytes);
  let binary = "";
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Standard or URL-safe base64, padded or not → bytes. */
export function base64ToBytes(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) {
    throw new TypeError("expected base64 text");
  }
  let b64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (b64.length % 4 === 1) throw new TypeError("base64 text has an impossible length");
  b64 += "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** An unsigned 64-bit integer (bigint, or a safe non-negative integer Number) → 8 bytes BE. */
export function uint64BE(value) {
  let n;
  if (typeof value === "bigint") n = value;
  else if (Number.isSafeInteger(value)) n = BigInt(value);
  else throw new TypeError("expected an integer");
  if (n < 0n || n > UINT64_MAX) throw new RangeError("out of the uint64 range");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

/** 8 bytes BE at `offset` → bigint. */
export function readUint64BE(bytes, offset = 0) {
  const view = toBytes(bytes);
  if (offset < 0 || offset + 8 > view.length) throw new RangeError("not enough bytes");
  return new DataView(view.buffer, view.byteOffset + offset, 8).getBigUint64(0, false);
}

export function concatBytes(...parts) {
  const views = parts.map(toBytes);
  const out = new Uint8Array(views.reduce((sum, v) => sum + v.length, 0));
  let at = 0;
  for (const v of views) {
    out.set(v, at);
    at += v.length;
  }
  return out;
}

export function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("expected bytes");
}
