/**
 * A small, strict codec for the XRP Ledger transactions the funding wallet signs — and nothing
 * else — so the frame can read the exact bytes it is about to sign (issue 9, finding 6) instead
 * of trusting the server's `tx_json` beside them.
 *
 * Why not ripple-binary-codec: it is ~48 KB gzipped and knows every field of every
 * transaction; the frame needs six field types and twenty fields, and an unknown field
 * must be a refusal, not something decoded. esbuild's IIFE bundles cannot split a lazy chunk,
 * so it would have meant a second script with its own SRI plumbing. This file is checked
 * against xrpl-py's `encode_for_signing`/`encode` on random transactions over every field it
 * knows (static/js/test/fixtures/tx_vectors.json, made by tests/fixtures/tx_vectors.py).
 *
 * The serialization (rippled's STObject, as xrpl.org's "Binary Format" describes it):
 * - each field is a field id (type code and field code, in one to three bytes, always the
 *   shortest form) and its value; fields come in canonical order (type code, then field code),
 *   each at most once; a transaction has no end marker;
 * - UInt16 / UInt32: big-endian; XRP Amount: 64 bits, bit 63 clear (not an issued currency),
 *   bit 62 set (positive), bit 61 clear (not an MPT amount), the drops in the low 61 bits;
 *   Hash256: 32 bytes; Blob and AccountID: a length prefix (1–3 bytes) then the bytes
 *   (an AccountID is always 20).
 * - What is signed is `STX\0` ‖ the fields without TxnSignature; the transaction's id is
 *   SHA-512Half(`TXN\0` ‖ the fields with it). Fields that are never signed (a claim's
 *   Signature, Signers) are not in a signing blob; the wallet's transactions have none.
 *
 * Values use the ledger's JSON forms (as xrpl-py's tx_json): TransactionType a name, UInt a
 * number, an Amount a string of drops, Hash256 and Blob upper-case hex, AccountID an `r…`
 * address. Anything the codec does not know — a field, a type, a transaction type, an issued
 * or MPT amount, trailing bytes, a non-canonical order or field id — throws a TypeError.
 */
import { bytesToHex, concatBytes, hexToBytes, toBytes } from "../../shared/bytes.js";
import { decodeAddress, encodeAccountId } from "./address.js";

export const SIGNING_PREFIX = Object.freeze([0x53, 0x54, 0x58, 0x00]); // "STX\0"
const TX_ID_PREFIX = Object.freeze([0x54, 0x58, 0x4e, 0x00]); // "TXN\0"
const PAYCHAN_SPACE = Object.freeze([0x00, 0x78]); // rippled's LedgerNameSpace::XRP_PAYMENT_CHANNEL

const UINT16 = 1;
const UINT32 = 2;
const HASH256 = 5;
const AMOUNT = 6;
const BLOB = 7;
const ACCOUNT = 8;

/** [type code, field code, name], in canonical order. */
const FIELD_LIST = [
  [UINT16, 2, "TransactionType"],
  [UINT32, 1, "NetworkID"],
  [UINT32, 2, "Flags"],
  [UINT32, 3, "SourceTag"],
  [UINT32, 4, "Sequence"],
  [UINT32, 10, "Expiration"],
  [UINT32, 14, "DestinationTag"],
  [UINT32, 27, "LastLedgerSequence"],
  [UINT32, 36, "CancelAfter"],
  [UINT32, 39, "SettleDelay"],
  [UINT32, 41, "TicketSequence"],
  [HASH256, 22, "Channel"],
  [AMOUNT, 1, "Amount"],
  [AMOUNT, 2, "Balance"],
  [AMOUNT, 8, "Fee"],
  [BLOB, 1, "PublicKey"],
  [BLOB, 3, "SigningPubKey"],
  [BLOB, 4, "TxnSignature"],
  [ACCOUNT, 1, "Account"],
  [ACCOUNT, 3, "Destination"],
];
const FIELDS_BY_ID = new Map(FIELD_LIST.map(([type, nth, name]) => [type * 256 + nth, { type, nth, name }]));
const FIELDS_BY_NAME = new Map(FIELD_LIST.map(([type, nth, name]) => [name, { type, nth, name }]));
export const KNOWN_FIELDS = Object.freeze(FIELD_LIST.map(([, , name]) => name));

export const TRANSACTION_TYPES = Object.freeze({
  PaymentChannelCreate: 13,
  PaymentChannelFund: 14,
  PaymentChannelClaim: 15,
});
const TYPE_NAMES = new Map(Object.entries(TRANSACTION_TYPES).map(([name, code]) => [code, name]));

export const MAX_DROPS = 10n ** 17n; // all the XRP there is
const AMOUNT_NOT_XRP = 0x80;
const AMOUNT_POSITIVE = 0x40;
const AMOUNT_MPT = 0x20;
const MAX_VL = 918_744;

function fail(message) {
  throw new TypeError(`transaction: ${message}`);
}

// --- Reading -------------------------------------------------------------------------------

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }
  get done() {
    return this.at === this.bytes.length;
  }
  take(n) {
    if (this.at + n > this.bytes.length) fail("ends inside a field");
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  byte() {
    return this.take(1)[0];
  }
  fieldId() {
    const first = this.byte();
    let type = first >> 4;
    let nth = first & 0x0f;
    if (type === 0) {
      type = this.byte();
      if (type < 16) fail("a field id is not in its shortest form");
    }
    if (nth === 0) {
      nth = this.byte();
      if (nth < 16) fail("a field id is not in its shortest form");
    }
    return { type, nth };
  }
  lengthPrefix() {
    const b1 = this.byte();
    if (b1 <= 192) return b1;
    if (b1 <= 240) return 193 + (b1 - 193) * 256 + this.byte();
    if (b1 <= 254) {
      const b2 = this.byte();
      return 12_481 + (b1 - 241) * 65_536 + b2 * 256 + this.byte();
    }
    return fail("a length prefix is out of range");
  }
}

function readAmount(bytes) {
  const head = bytes[0];
  if (head & AMOUNT_NOT_XRP) fail("an amount is not XRP (issued currency)");
  if (head & AMOUNT_MPT) fail("an amount is not XRP (MPT)");
  if (!(head & AMOUNT_POSITIVE)) fail("an XRP amount is negative");
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const drops = view.getBigUint64(0, false) & ((1n << 61n) - 1n);
  if (drops > MAX_DROPS) fail("an XRP amount is more than all the XRP there is");
  return drops.toString();
}

async function readValue(reader, field, subtle) {
  switch (field.type) {
    case UINT16: {
      const b = reader.take(2);
      const code = (b[0] << 8) | b[1];
      if (field.name !== "TransactionType") return code;
      const name = TYPE_NAMES.get(code);
      if (!name) fail(`transaction type ${code} is not one the wallet signs`);
      return name;
    }
    case UINT32: {
      const b = reader.take(4);
      return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
    }
    case HASH256:
      return bytesToHex(reader.take(32));
    case AMOUNT:
      return readAmount(reader.take(8));
    case BLOB:
      return bytesToHex(reader.take(reader.lengthPrefix()));
    case ACCOUNT: {
      if (reader.lengthPrefix() !== 20) fail("an AccountID is not 20 bytes");
      return encodeAccountId(reader.take(20), subtle);
    }
    default:
      return fail(`field type ${field.type} is unknown`);
  }
}

/**
 * The fields serialized in `bytes` (no prefix), as an object in the ledger's JSON forms.
 * Throws a TypeError on anything it does not know or that is not canonical.
 */
export async function decodeFields(bytes, { subtle = globalThis.crypto.subtle } = {}) {
  const reader = new Reader(toBytes(bytes));
  const fields = {};
  let previous = -1;
  while (!reader.done) {
    const { type, nth } = reader.fieldId();
    const id = type * 256 + nth;
    const field = FIELDS_BY_ID.get(id);
    if (!field) fail(`field (type ${type}, code ${nth}) is not one the wallet signs`);
    if (id <= previous) fail(`${field.name} is out of canonical order or repeated`);
    previous = id;
    fields[field.name] = await readValue(reader, field, subtle);
  }
  return fields;
}

/**
 * Decode a signing blob (hex): `STX\0` ‖ the fields, without TxnSignature. Resolves with the
 * fields; throws a TypeError on anything else.
 */
export async function decodeSigningBlob(hex, options = {}) {
  let bytes;
  try {
    bytes = hexToBytes(hex);
  } catch {
    return fail("the signing blob is not hex");
  }
  if (bytes.length < 4 || SIGNING_PREFIX.some((b, i) => bytes[i] !== b)) {
    fail("the signing blob does not start with the signing prefix STX\\0");
  }
  const fields = await decodeFields(bytes.subarray(4), options);
  if ("TxnSignature" in fields) fail("a signing blob never holds TxnSignature");
  return fields;
}

// --- Writing -------------------------------------------------------------------------------

function fieldIdBytes(type, nth) {
  if (type < 16 && nth < 16) return [(type << 4) | nth];
  if (type < 16) return [type << 4, nth];
  if (nth < 16) return [nth, type];
  return [0, type, nth];
}

function lengthPrefixBytes(n) {
  if (n <= 192) return [n];
  if (n <= 12_480) {
    const m = n - 193;
    return [193 + (m >> 8), m & 0xff];
  }
  if (n <= MAX_VL) {
    const m = n - 12_481;
    return [241 + (m >> 16), (m >> 8) & 0xff, m & 0xff];
  }
  return fail("a blob is too long");
}

function uint(value, bytes, name) {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * bytes)) fail(`${name} is not a UInt${8 * bytes}`);
  const out = new Uint8Array(bytes);
  for (let i = bytes - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

function amountBytes(value, name) {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value)) fail(`${name} is not a string of drops`);
  const drops = BigInt(value);
  if (drops > MAX_DROPS) fail(`${name} is more than all the XRP there is`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, drops | (1n << 62n), false);
  return out;
}

async function valueBytes(field, value, subtle) {
  switch (field.type) {
    case UINT16: {
      const code = field.name === "TransactionType" ? TRANSACTION_TYPES[value] : value;
      if (code === undefined) fail(`transaction type ${value} is not one the wallet signs`);
      return uint(code, 2, field.name);
    }
    case UINT32:
      return uint(value, 4, field.name);
    case HASH256: {
      if (typeof value !== "string" || !/^[0-9A-Fa-f]{64}$/.test(value)) fail(`${field.name} is not 32 bytes of hex`);
      return hexToBytes(value);
    }
    case AMOUNT:
      return amountBytes(value, field.name);
    case BLOB: {
      if (typeof value !== "string") fail(`${field.name} is not hex`);
      const bytes = hexToBytes(value);
      return concatBytes(new Uint8Array(lengthPrefixBytes(bytes.length)), bytes);
    }
    case ACCOUNT:
      return concatBytes(new Uint8Array([20]), await decodeAddress(value, subtle));
    default:
      return fail(`field type ${field.type} is unknown`);
  }
}

/** Serialize `fields` (the JSON forms above) in canonical order, without a prefix. */
export async function encodeFields(fields, { subtle = globalThis.crypto.subtle } = {}) {
  const known = Object.keys(fields).map((name) => {
    const field = FIELDS_BY_NAME.get(name);
    if (!field) fail(`${name} is not a field the wallet signs`);
    return field;
  });
  known.sort((a, b) => a.type * 256 + a.nth - (b.type * 256 + b.nth));
  const parts = [];
  for (const field of known) {
    parts.push(new Uint8Array(fieldIdBytes(field.type, field.nth)), await valueBytes(field, fields[field.name], subtle));
  }
  return concatBytes(...parts);
}

// --- Hashes --------------------------------------------------------------------------------

/** SHA-512Half: the first 32 bytes of SHA-512. */
export async function sha512Half(bytes, subtle = globalThis.crypto.subtle) {
  return new Uint8Array(await subtle.digest("SHA-512", toBytes(bytes))).slice(0, 32);
}

/** The signed transaction's bytes (hex): the fields with TxnSignature, no prefix. */
export async function signedTransactionHex(fields, signatureHex, options = {}) {
  if ("TxnSignature" in fields) fail("the fields already hold a TxnSignature");
  return bytesToHex(await encodeFields({ ...fields, TxnSignature: signatureHex }, options));
}

/** The transaction's id (hash), upper-case hex, from the signed transaction's hex. */
export async function transactionId(signedHex, { subtle = globalThis.crypto.subtle } = {}) {
  return bytesToHex(await sha512Half(concatBytes(new Uint8Array(TX_ID_PREFIX), hexToBytes(signedHex)), subtle));
}

/**
 * The id the channel a PaymentChannelCreate makes will have (rippled's keylet::payChan):
 * SHA-512Half(0x0078 ‖ source AccountID ‖ destination AccountID ‖ Sequence, uint32 BE).
 */
export async function paymentChannelId(account, destination, sequence, { subtle = globalThis.crypto.subtle } = {}) {
  const data = concatBytes(
    new Uint8Array(PAYCHAN_SPACE),
    await decodeAddress(account, subtle),
    await decodeAddress(destination, subtle),
    uint(sequence, 4, "Sequence"),
  );
  return bytesToHex(await sha512Half(data, subtle));
}
