/**
 * The frame's Ed25519 keys, made with WebCrypto as non-extractable keys and kept in IndexedDB
 * as CryptoKey objects: the private key never exists as bytes that script could read, in this
 * frame or anywhere else. Only the public key is exported (raw → `ED` + 64 hex digits, the
 * XRP Ledger's form).
 *
 * Two roles, two keys (least privilege): `claim` signs payment-channel claims and is the
 * channel's PublicKey; `funding` is the sandbox wallet's account key that signs the ledger
 * transactions opening, funding and closing the channel.
 *
 * The claim key proves itself when the reader is registered (`registrationProof`, over a
 * server challenge naming the publisher), so nobody can register a reader with a key read off
 * the ledger.
 *
 * The claim key rotates (docs/sdk-protocol.md, "Rotating the claim key"): a next key is made
 * and kept beside the current one until the server has accepted it, so a frame that dies
 * mid-rotation retries with the same next key rather than stranding a key the server holds.
 */
import { bytesToHex, concatBytes, hexToBytes, toBytes } from "../shared/bytes.js";

export const KEY_ROLES = Object.freeze(["claim", "funding"]);
const ALGORITHM = Object.freeze({ name: "Ed25519" });
const NEXT_CLAIM = "key:claim:next";
export const ROTATION_PREFIX = Object.freeze([0x44, 0x47, 0x52, 0x4f, 0x54, 0x00]); // "DGROT\0"
export const REGISTRATION_PREFIX = Object.freeze([0x44, 0x47, 0x52, 0x45, 0x47, 0x00]); // "DGREG\0"
const READER_ID_RE = /^rdr_[A-Za-z0-9]{1,60}$/;
const PUBLISHER_RE = /^pub_[A-Za-z0-9]{1,60}$/;
const CHALLENGE_RE = /^rch_[0-9]{1,12}_[0-9a-f]{32}_[0-9a-f]{32}$/;
const PUBLIC_KEY_RE = /^(ED|02|03)[0-9A-Fa-f]{64}$/;

/**
 * What a registration proof signs: `DGREG\0` ‖ ASCII publisher key ‖ `\0` ‖ ASCII challenge
 * (from GET /api/v1/readers/challenge) ‖ `\0` ‖ the claim key's 33 bytes.
 */
export function registrationMessage(publisherKey, challenge, publicKeyHex) {
  if (typeof publisherKey !== "string" || !PUBLISHER_RE.test(publisherKey)) throw new TypeError("bad publisher key");
  if (typeof challenge !== "string" || !CHALLENGE_RE.test(challenge)) throw new TypeError("bad challenge");
  if (typeof publicKeyHex !== "string" || !PUBLIC_KEY_RE.test(publicKeyHex)) throw new TypeError("bad public key");
  const ascii = new TextEncoder();
  return concatBytes(
    new Uint8Array(REGISTRATION_PREFIX),
    ascii.encode(publisherKey),
    new Uint8Array([0]),
    ascii.encode(challenge),
    new Uint8Array([0]),
    hexToBytes(publicKeyHex),
  );
}

/** What a rotation proof signs: `DGROT\0` ‖ ASCII reader id ‖ `\0` ‖ the new key's 33 bytes. */
export function rotationMessage(readerId, publicKeyHex) {
  if (typeof readerId !== "string" || !READER_ID_RE.test(readerId)) throw new TypeError("bad reader id");
  if (typeof publicKeyHex !== "string" || !PUBLIC_KEY_RE.test(publicKeyHex)) throw new TypeError("bad public key");
  return concatBytes(
    new Uint8Array(ROTATION_PREFIX),
    new TextEncoder().encode(readerId),
    new Uint8Array([0]),
    hexToBytes(publicKeyHex),
  );
}

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

  async function hexOf(pair) {
    return `ED${bytesToHex(await subtle.exportKey("raw", pair.publicKey))}`;
  }

  /** The claim key waiting to replace the current one, made (non-extractable) on first use. */
  async function nextClaimPair() {
    const existing = await store.get(NEXT_CLAIM);
    if (isKeyPair(existing)) return existing;
    const pair = await subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);
    return store.putIfAbsent(NEXT_CLAIM, pair);
  }

  return {
    keyPair,
    /** `ED` + the raw public key in upper-case hex (66 characters). */
    async publicKeyHex(role) {
      return hexOf(await keyPair(role));
    },
    /** Ed25519 signature of `bytes` by the role's key, upper-case hex (128 characters). */
    async sign(role, bytes) {
      const pair = await keyPair(role);
      const signature = await subtle.sign(ALGORITHM, pair.privateKey, toBytes(bytes));
      return bytesToHex(signature);
    },
    /**
     * The claim key's public key and its proof of possession for registering a reader of
     * `publisherKey`'s site over the server's `challenge`.
     */
    async registrationProof(publisherKey, challenge) {
      const pair = await keyPair("claim");
      const publicKey = await hexOf(pair);
      const message = registrationMessage(publisherKey, challenge, publicKey);
      const proof = bytesToHex(await subtle.sign(ALGORITHM, pair.privateKey, message));
      return { publicKey, proof };
    },
    /** The next claim key's public key and its proof of possession for `readerId`. */
    async nextClaimKeyProof(readerId) {
      const pair = await nextClaimPair();
      const publicKey = await hexOf(pair);
      const message = rotationMessage(readerId, publicKey);
      const proof = bytesToHex(await subtle.sign(ALGORITHM, pair.privateKey, message));
      return { publicKey, proof };
    },
    /** The server took the next claim key: it becomes the claim key. Resolves with its hex. */
    async commitClaimRotation() {
      const pair = await store.get(NEXT_CLAIM);
      if (!isKeyPair(pair)) throw new Error("no claim key rotation in progress");
      await store.set("key:claim", pair);
      await store.delete(NEXT_CLAIM);
      pending.delete("claim");
      return hexOf(pair);
    },
    /** Drop the cached pair: another tab may have rotated the key in the shared store. */
    forget(role) {
      pending.delete(role);
    },
  };
}
