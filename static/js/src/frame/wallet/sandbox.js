/**
 * The built-in sandbox funding wallet: the frame's own `funding` key (a second
 * non-extractable Ed25519 key in IndexedDB, never the claim key) as an XRP Ledger account.
 * The server prepares each transaction and hands back its signing blob; this adapter signs the
 * blob's raw bytes, so no ledger codec is shipped to the browser.
 *
 * On the sandbox ledger the account is funded by the server's faucet
 * (POST /api/v1/wallet/faucet); elsewhere the reader sends XRP to `address()` first.
 */
import { hexToBytes } from "../../shared/bytes.js";
import { classicAddress } from "./address.js";

/** @returns {import("./index.js").FundingWallet} */
export function createSandboxWallet({ keyring, subtle = globalThis.crypto.subtle, faucet = true }) {
  let addressPromise = null;
  return {
    kind: "sandbox",
    canUseFaucet: faucet,
    publicKey: () => keyring.publicKeyHex("funding"),
    address() {
      if (!addressPromise) {
        addressPromise = keyring.publicKeyHex("funding").then((pk) => classicAddress(pk, subtle));
        addressPromise.catch(() => {
          addressPromise = null;
        });
      }
      return addressPromise;
    },
    sign: (signingBlobHex) => keyring.sign("funding", hexToBytes(signingBlobHex)),
  };
}
