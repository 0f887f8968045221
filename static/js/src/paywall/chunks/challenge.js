/** Entry of paywall-challenge.js: the press-and-hold challenge, loaded on `risk_challenge`. */
import { runChallenge } from "../challenge.js";
import { defineChunk } from "../chunks.js";

defineChunk({ runChallenge });
