/**
 * An in-memory stand-in for the paywall API, faithful where the frame's logic depends on it:
 * it verifies claims with real Ed25519 against the reader's registered claim key and applies
 * the server's claim rules (exactly the price more than the accepted amount, within funding).
 */
import { claimMessage } from "../src/frame/claims.js";
import { rotationMessage } from "../src/frame/keys.js";
import { hexToBytes } from "../src/shared/bytes.js";
import { errorBody, fakeFetch } from "./helpers.js";

export const BASE = "https://pay.example/api/v1/";
export const CHANNEL_IDS = [
  "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3",
  "6EC12C8001E7C78F7C1525EFE22F162E3FF3C8720DF1FBB7397E78B4B5E6CEC4",
];

export function createFakeServer({ prices = { x: 200_000n, y: 150_000n, z: 150_000n, big: 2_000_000n }, minChannel = 1_000_000n } = {}) {
  const state = {
    claimKey: null,
    token: "rdt_test_1",
    channels: new Map(), // id → {funded, accepted, status}
    paid: new Set(),
    accepted: [], // claims accepted, in order
    prepared: new Map(),
    nextChannel: 0,
    failNextUnlockWithClaim: null, // Error to throw once (network), or [status, body]
  };

  function out(id) {
    const ch = state.channels.get(id);
    return {
      channel_id: id,
      status: ch.status,
      funded_drops: ch.funded.toString(),
      accepted_drops: ch.accepted.toString(),
      remaining_drops: (ch.funded - ch.accepted).toString(),
      redeemed_drops: "0",
      settle_delay: 3600,
      expiration: null,
      cancel_after: null,
      source_address: "rSource",
    };
  }

  function granted(article, amount) {
    return { article, grant: `grant-${article}`, grant_expires_at: "2030-01-01T00:00:00Z", amount_drops: amount.toString(), content_url: `${BASE}content/pub_a/${article}` };
  }

  const routes = {
    config: [200, { publisher: "pub_a", min_channel_drops: minChannel.toString(), network: { kind: "sandbox" } }],
    "POST readers": ({ body, headers }) => {
      if (headers["X-Dropgate-Publisher"] !== "pub_a") return [403, errorBody("origin_not_allowed")];
      state.claimKey = body.claim_public_key;
      return [201, { reader_id: "rdr_1", reader_token: state.token, publisher: "pub_a" }];
    },
    "POST wallet/faucet": [200, { address: "r", funded_drops: "100000000", tx_hash: "F" }],
    "POST wallet/prepare": ({ body }) => {
      const id = `prep_${state.prepared.size + 1}`;
      state.prepared.set(id, body);
      const type = { channel_create: "PaymentChannelCreate", channel_fund: "PaymentChannelFund", channel_close: "PaymentChannelClaim" }[body.kind];
      return [200, { prepared_id: id, signing_blob: "53545800AA", tx_json: { TransactionType: type } }];
    },
    "POST wallet/submit": ({ body }) => {
      const prep = state.prepared.get(body.prepared_id);
      if (prep.kind === "channel_create") {
        const id = CHANNEL_IDS[state.nextChannel++];
        state.channels.set(id, { funded: BigInt(prep.amount_drops), accepted: 0n, status: "open", registered: false, key: state.claimKey });
        return [200, { tx_hash: "T", result: "tesSUCCESS", validated: true, channel_id: id }];
      }
      const ch = state.channels.get(prep.channel_id);
      if (prep.kind === "channel_fund") ch.funded += BigInt(prep.amount_drops);
      if (prep.kind === "channel_close") ch.status = "closing";
      return [200, { tx_hash: "T", result: "tesSUCCESS", validated: true }];
    },
    "POST channels": ({ body }) => {
      state.channels.get(body.channel_id).registered = true;
      return [200, out(body.channel_id)];
    },
    "POST readers/me/claim-key": async ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      const { public_key: publicKey, proof } = body;
      if (!/^ED[0-9A-F]{64}$/.test(publicKey)) return [400, errorBody("invalid_public_key")];
      const key = await crypto.subtle.importKey("raw", hexToBytes(publicKey.slice(2)), { name: "Ed25519" }, false, ["verify"]);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(proof), rotationMessage("rdr_1", publicKey));
      if (!ok) return [422, errorBody("claim_key_proof_invalid")];
      if (publicKey === state.claimKey) return [409, errorBody("claim_key_unchanged")];
      const previous = state.claimKey;
      const closing = [...state.channels].filter(([, ch]) => ch.status !== "closed" && ch.key === previous).map(([id]) => id);
      for (const id of closing) state.channels.get(id).status = "closing";
      state.claimKey = publicKey;
      state.rotations = [...(state.rotations || []), { previous, publicKey, closing }];
      return [201, { reader_id: "rdr_1", claim_public_key: publicKey, previous_public_key: previous, rotated_at: "2030-01-01T00:00:00Z", closing_channels: closing }];
    },
    "POST unlocks/restore": ({ body, headers }) => {
      state.restores = (state.restores || 0) + 1;
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      if (!Array.isArray(body.articles) || body.articles.length > 100) return [400, errorBody("invalid_request")];
      const unlocked = body.articles.filter((a) => state.paid.has(a)).map((a) => {
        const { amount_drops: _, ...rest } = granted(a, 0n);
        return rest;
      });
      return [200, { unlocked }];
    },
    "POST unlocks": async ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      const price = prices[body.article];
      if (price === undefined) return [404, errorBody("article_not_found")];
      if (state.paid.has(body.article)) return [200, granted(body.article, 0n)];
      if (!body.claim) {
        return [402, errorBody("payment_required", "Pay.", { article: body.article, price_drops: price.toString(), destination_tag: 7, fiat_amount: null, currency: null })];
      }
      if (state.failNextUnlockWithClaim) {
        const failure = state.failNextUnlockWithClaim;
        state.failNextUnlockWithClaim = null;
        if (failure.acceptFirst) {
          // the server accepts, then the answer is lost
          const ch = state.channels.get(body.claim.channel_id);
          ch.accepted = BigInt(body.claim.amount_drops);
          state.paid.add(body.article);
          state.accepted.push(body.claim);
        }
        return failure.response;
      }
      const { channel_id: channelId, amount_drops: amountText, signature } = body.claim;
      const ch = state.channels.get(channelId);
      if (!ch) return [404, errorBody("channel_unknown")];
      if (ch.key && ch.key !== state.claimKey) return [409, errorBody("channel_retired")];
      const key = await crypto.subtle.importKey("raw", hexToBytes((ch.key || state.claimKey).slice(2)), { name: "Ed25519" }, false, ["verify"]);
      const amount = BigInt(amountText);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(signature), claimMessage(channelId, amount));
      if (!ok) return [422, errorBody("claim_signature_invalid")];
      if (ch.status !== "open") return [409, errorBody("channel_closing")];
      if (amount > ch.funded) return [422, errorBody("claim_exceeds_channel")];
      if (amount === ch.accepted) return [409, errorBody("claim_replayed")];
      if (amount < ch.accepted) return [409, errorBody("claim_stale")];
      if (amount - ch.accepted < price) return [422, errorBody("claim_underpaid")];
      if (amount - ch.accepted > price) return [422, errorBody("claim_overpaid")];
      ch.accepted = amount;
      state.paid.add(body.article);
      state.accepted.push(body.claim);
      return [201, granted(body.article, price)];
    },
  };

  const fake = fakeFetch(
    new Proxy(routes, {
      get(target, key) {
        if (key in target) return target[key];
        if (typeof key !== "string") return undefined;
        let m = /^GET channels\/([0-9A-F]{64})$/.exec(key);
        if (m) return () => (state.channels.has(m[1]) ? [200, out(m[1])] : [404, errorBody("channel_not_found")]);
        m = /^GET content\/pub_a\/([-\w]+)$/.exec(key);
        if (m) {
          const article = m[1];
          return ({ headers }) =>
            headers.Authorization === `Bearer grant-${article}` ? [200, { article, title: article, html: `<p>${article} body</p>` }] : [401, errorBody("grant_invalid")];
        }
        if (key.startsWith("GET config?")) return target.config;
        return undefined;
      },
    }),
    { base: BASE },
  );
  return { state, routes, fetch: fake.fetch, calls: fake.calls, out };
}
