/**
 * The frame's Ed25519 keys, made with WebCrypto as non-extractable keys and kept in IndexedDB
 * as CryptoKey objects: the private key never exists as bytes that script could read, in this
 * frame or anywhere else. Only the public key is exported (raw → `ED` + 64 hex digits, the
 * XRP Ledger's form).
 *
 * Two roles, two keys (least privilege): `claim` signs payment-channel claims and is the
 * channel's PublicKey; `funding` is the sandbox wallet's account key that signs the ledger
 * transactions opening, funding and closing the channel.
 */
import { bytesToHex, toBytes } from "../shared/bytes.js";

export const KEY_ROLES = Object.freeze(["claim", "funding"]);
const ALGORITHM = Object.freeze({ name: "Ed25519" });

function isKeyPair(value) {
  return Boolean(value && value.privateKey && value.publicKey);
}

/**
 * Keys of one publisher's frame.
 * @param {{store: object, subtle?: SubtleCrypto}} deps
 */
export function createKeyring({ store, subtle = globalThis.crypto.subtle }) {
  const pending = new Map();

  async function loadOrCreate(role) {
    if (!KEY_ROLES.includes(role)) throw new TypeError(`unknown key role ${role}`);
    const name = `key:${role}`;
    const existing = await store.get(name);
    if (isKeyPair(existing)) return existing;
    const pair = await subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
    // Another tab may have stored one meanwhile: whichever was stored first wins.
    return store.putIfAbsent(name, pair);
  }

  /** The role's CryptoKeyPair, made on first use. */
  function keyPair(role) {
    if (!pending.has(role)) {
      const p = loadOrCreate(role);
      pending.set(role, p);
      p.catch(() => pending.delete(role));
    }
    return pending.get(role);
  }

  return {
    keyPair,
    /** `ED` + the raw public key in upper-case hex (66 characters). */
    async publicKeyHex(role) {
      const pair = await keyPair(role);
      const raw = await subtle.exportKey("raw", pair.publicKey);
      return `ED${bytesToHex(raw)}`;
    },
    /** Ed25519 signature of `bytes` by the role's key, upper-case hex (128 characters). */
    async sign(role, bytes) {
      const pair = await keyPair(role);
      const signature = await subtle.sign(ALGORITHM, pair.privateKey, toBytes(bytes));
      return bytesToHex(signature);
    },
  };
}
