/** Entry of paywall-wallet.js: the wallet menus, loaded when a reader first opens one. */
import { defineChunk } from "../chunks.js";
import { mountWallet } from "../wallet.js";

defineChunk({ mountWallet });
