/**
 * Funding wallets: the adapter interface the frame uses to open, top up and close a channel.
 *
 * A funding wallet is an object
 *
 *   {
 *     kind: string,                       // "sandbox", or the name of an external wallet
 *     canUseFaucet: boolean,              // may ask POST /api/v1/wallet/faucet for test XRP
 *     publicKey(): Promise<string>,       // the account's signing public key, 66 hex digits
 *                                         //   (ED… or 02…/03…), sent to /wallet/prepare
 *     address(): Promise<string>,         // its classic address, r…
 *     sign(signingBlobHex): Promise<string> // signature (hex) over the blob's raw bytes:
 *                                         //   Ed25519 as is, secp256k1 as DER
 *   }
 *
 * The server prepares every transaction (/api/v1/wallet/prepare → signing_blob) from its own
 * rules and submits it (/api/v1/wallet/submit); a wallet only holds its key and signs. An
 * external wallet (a browser extension, a hardware wallet) fits behind the same five members.
 * The one built in is the sandbox wallet: a key in the frame's IndexedDB.
 */
import { createSandboxWallet } from "./sandbox.js";

export { createSandboxWallet };

const MEMBERS = ["publicKey", "address", "sign"];

/** Throws unless `wallet` has the adapter's members; returns it. */
export function assertWallet(wallet) {
  if (!wallet || typeof wallet !== "object") throw new TypeError("a wallet adapter is an object");
  for (const name of MEMBERS) {
    if (typeof wallet[name] !== "function") throw new TypeError(`wallet adapter lacks ${name}()`);
  }
  return wallet;
}

/**
 * The wallet for this frame. Only the sandbox wallet exists so far; `faucet` says whether the
 * server's faucet is on (the frame page's `data-faucet`).
 */
export function selectWallet({ keyring, subtle, faucet = true }) {
  return assertWallet(createSandboxWallet({ keyring, subtle, faucet }));
}
