/**
 * XRP Ledger classic addresses from a public key (or an AccountID, and back), so the sandbox
 * wallet knows its own account and can check that the transaction the server prepared is for
 * that account:
 *   account id = RIPEMD-160(SHA-256(public key)), address = base58check(0x00 ‖ account id)
 * with the ledger's base58 alphabet. RIPEMD-160 is not in WebCrypto, hence the small
 * implementation below (written from the RIPEMD-160 specification).
 */
import { concatBytes, hexToBytes, toBytes } from "../../shared/bytes.js";

const ALPHABET = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";

// RIPEMD-160 tables: word order (R), rotations (S) for the left and right lines, by round.
const RL = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5,
  2, 14, 11, 8, 3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12, 1, 9, 11, 10, 0, 8, 12, 4,
  13, 3, 7, 15, 14, 5, 6, 2, 4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
];
const RR = [
  5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12,
  4, 9, 1, 2, 15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13, 8, 6, 4, 1, 3, 11, 15, 0, 5,
  12, 2, 13, 9, 7, 10, 14, 12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
];
const SL = [
  11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8, 7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9,
  11, 7, 13, 12, 11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5, 11, 12, 14, 15, 14, 15,
  9, 8, 9, 14, 5, 6, 8, 6, 5, 12, 9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
];
const SR = [
  8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6, 9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7,
  6, 15, 13, 11, 9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5, 15, 5, 8, 11, 14, 14, 6,
  14, 6, 9, 12, 9, 12, 5, 15, 8, 8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
];
const KL = [0x00000000, 0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xa953fd4e];
const KR = [0x50a28be6, 0x5c4dd124, 0x6d703ef3, 0x7a6d76e9, 0x00000000];

function f(round, x, y, z) {
  switch (round) {
    case 0:
      return x ^ y ^ z;
    case 1:
      return (x & y) | (~x & z);
    case 2:
      return (x | ~y) ^ z;
    case 3:
      return (x & z) | (y & ~z);
    default:
      return x ^ (y | ~z);
  }
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n));

/** RIPEMD-160 of bytes → 20 bytes. */
export function ripemd160(data) {
  const msg = toBytes(data);
  const bitLength = msg.length * 8;
  const padded = new Uint8Array((((msg.length + 8) >> 6) + 1) * 64);
  padded.set(msg);
  padded[msg.length] = 0x80;
  const tail = new DataView(padded.buffer, padded.length - 8);
  tail.setUint32(0, bitLength >>> 0, true);
  tail.setUint32(4, Math.floor(bitLength / 0x100000000), true);

  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const words = new DataView(padded.buffer);
  const x = new Array(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = words.getUint32(block + i * 4, true);
    let [al, bl, cl, dl, el] = h;
    let [ar, br, cr, dr, er] = h;
    for (let j = 0; j < 80; j++) {
      const round = j >> 4;
      let t = (rotl((al + f(round, bl, cl, dl) + x[RL[j]] + KL[round]) | 0, SL[j]) + el) | 0;
      al = el;
      el = dl;
      dl = rotl(cl, 10);
      cl = bl;
      bl = t;
      t = (rotl((ar + f(4 - round, br, cr, dr) + x[RR[j]] + KR[round]) | 0, SR[j]) + er) | 0;
      ar = er;
      er = dr;
      dr = rotl(cr, 10);
      cr = br;
      br = t;
    }
    const t = (h[1] + cl + dr) | 0;
    h[1] = (h[2] + dl + er) | 0;
    h[2] = (h[3] + el + ar) | 0;
    h[3] = (h[4] + al + br) | 0;
    h[4] = (h[0] + bl + cr) | 0;
    h[0] = t;
  }
  const out = new Uint8Array(20);
  const view = new DataView(out.buffer);
  h.forEach((word, i) => view.setUint32(i * 4, word >>> 0, true));
  return out;
}

/** Base58 with the XRP Ledger's alphabet. */
export function base58Encode(data) {
  const bytes = toBytes(data);
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  return ALPHABET[0].repeat(zeros) + out;
}

async function sha256(subtle, bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

/** Base58 with the XRP Ledger's alphabet → bytes; a letter outside it throws. */
export function base58Decode(text) {
  if (typeof text !== "string") throw new TypeError("expected base58 text");
  let n = 0n;
  for (const ch of text) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) throw new TypeError("not base58 (XRP Ledger alphabet)");
    n = n * 58n + BigInt(digit);
  }
  const body = [];
  while (n > 0n) {
    body.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === ALPHABET[0]) zeros++;
  return new Uint8Array([...new Array(zeros).fill(0), ...body]);
}

/** The classic address (`r…`) of a 20-byte AccountID: base58check(0x00 ‖ account id). */
export async function encodeAccountId(accountId, subtle = globalThis.crypto.subtle) {
  const id = toBytes(accountId);
  if (id.length !== 20) throw new TypeError("an AccountID is 20 bytes");
  const payload = concatBytes(new Uint8Array([0x00]), id);
  const check = (await sha256(subtle, await sha256(subtle, payload))).subarray(0, 4);
  return base58Encode(concatBytes(payload, check));
}

/** A classic address (`r…`) → its 20-byte AccountID; throws unless the checksum holds. */
export async function decodeAddress(address, subtle = globalThis.crypto.subtle) {
  if (typeof address !== "string" || !/^r[1-9A-HJ-NP-Za-km-z]{24,34}$/.test(address)) {
    throw new TypeError("not a classic address");
  }
  const raw = base58Decode(address);
  if (raw.length !== 25 || raw[0] !== 0x00) throw new TypeError("not a classic address");
  const check = (await sha256(subtle, await sha256(subtle, raw.subarray(0, 21)))).subarray(0, 4);
  if (check.some((b, i) => b !== raw[21 + i])) throw new TypeError("the address's checksum is wrong");
  return raw.slice(1, 21);
}

/** The classic address (`r…`) of a 33-byte public key given as hex (`ED…`, `02…`, `03…`). */
export async function classicAddress(publicKeyHex, subtle = globalThis.crypto.subtle) {
  if (!/^(ED|02|03)[0-9A-F]{64}$/i.test(publicKeyHex)) {
    throw new TypeError("expected a 33-byte public key in hex");
  }
  return encodeAccountId(ripemd160(await sha256(subtle, hexToBytes(publicKeyHex))), subtle);
}
