/**
 * An in-memory stand-in for the paywall API, faithful where the frame's logic depends on it:
 * it verifies registration proofs and claims with real Ed25519 against the reader's claim key,
 * applies the server's claim rules (exactly the price more than the accepted amount, within
 * funding), and prepares real signing blobs (the frame's own codec, itself checked against
 * xrpl-py) whose channel ids are the ledger's.
 *
 * `state.submit` scripts what /wallet/submit does with a create: "validated" (200), "pending"
 * (202; the channel appears on the ledger after `state.validateAfterPolls` status reads),
 * "lost" (applied, but the answer is a network error), "rejected" (422, nothing applied).
 */
import { claimMessage } from "../src/frame/claims.js";
import { registrationMessage, rotationMessage } from "../src/frame/keys.js";
import { classicAddress } from "../src/frame/wallet/address.js";
import { encodeFields, paymentChannelId, signedTransactionHex, transactionId } from "../src/frame/wallet/txcodec.js";
import { bytesToHex, hexToBytes } from "../src/shared/bytes.js";
import { errorBody, fakeFetch } from "./helpers.js";

export const BASE = "https://pay.example/api/v1/";
export const PLATFORM_ADDRESS = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
/** What GET /config tells the frame, as the signer takes it. */
export const FRAME_CONFIG = Object.freeze({
  minChannelDrops: 1_000_000n,
  platformAddress: PLATFORM_ADDRESS,
  destinationTag: 7,
  settleDelaySeconds: 86_400,
  cancelAfterDays: 90,
});
/**
 * The ids of the channels the current fake server opened, in order (the ledger's ids: they
 * depend on the random funding key). Reset by each createFakeServer().
 */
export const CHANNEL_IDS = [];

const RIPPLE_EPOCH_UNIX = 946_684_800;

async function ed25519Verify(publicKeyHex, signatureHex, message) {
  if (!/^ED[0-9A-F]{64}$/i.test(publicKeyHex) || !/^[0-9A-F]{128}$/i.test(signatureHex)) return false;
  const key = await crypto.subtle.importKey("raw", hexToBytes(publicKeyHex.slice(2)), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(signatureHex), message);
}

export function createFakeServer({ prices = { x: 200_000n, y: 150_000n, z: 150_000n, big: 2_000_000n }, minChannel = 1_000_000n } = {}) {
  CHANNEL_IDS.length = 0;
  const state = {
    claimKey: null,
    token: "rdt_test_1",
    channels: new Map(), // id → {funded, accepted, status, registered, key, source}
    paid: new Set(),
    accepted: [], // claims accepted, in order
    prepared: new Map(),
    sequences: new Map(), // account → next Sequence
    transactions: new Map(), // tx hash → {validated, result, channelId, create?}
    ledgerIndex: 100,
    challenges: new Set(),
    submit: "validated",
    validateAfterPolls: 1,
    // what /wallet/prepare should change in the transaction it prepares (an attack)
    tamper: null,
    failNextUnlockWithClaim: null, // Error to throw once (network), or [status, body]
    // compliance (issue 12): what the tax preview answers, consent, the reader's confirmation
    preview: { decision: "allow", country: null, candidates: [], vat: null, rules: [] },
    previews: [], // the bodies of POST readers/me/tax-preview
    consent: { version: "2026-12-01", required: false, given: false, onClaim: false },
    confirmed: null, // {country, region} of POST readers/me/country
    countryOnClaim: null, // candidates: the next claim gets 409 country_confirmation_required
    evidence: [], // the evidence of each unlock request with a claim
    receipts: [],
    disputes: [],
  };

  function applyCreate(tx) {
    const { create } = tx;
    state.channels.set(create.channelId, {
      funded: BigInt(create.amount),
      accepted: 0n,
      status: "open",
      registered: false,
      key: create.publicKey,
      source: create.account,
    });
    CHANNEL_IDS.push(create.channelId);
    tx.validated = true;
    tx.result = "tesSUCCESS";
  }

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

  const config = {
    publisher: "pub_a",
    min_channel_drops: minChannel.toString(),
    network: { kind: "sandbox" },
    platform_address: PLATFORM_ADDRESS,
    destination_tag: 7,
    channel_settle_delay_seconds: 86_400,
    channel_cancel_after_days: 90,
  };

  async function prepare(body) {
    const account = await classicAddress(body.public_key);
    const sequence = state.sequences.get(account) || 1;
    const common = {
      Account: account,
      Fee: "12",
      Sequence: sequence,
      LastLedgerSequence: state.ledgerIndex + 20,
      SigningPubKey: body.public_key,
    };
    let tx;
    if (body.kind === "channel_create") {
      tx = {
        ...common,
        TransactionType: "PaymentChannelCreate",
        Destination: PLATFORM_ADDRESS,
        DestinationTag: 7,
        Amount: String(body.amount_drops),
        SettleDelay: 86_400,
        CancelAfter: Math.floor(Date.now() / 1000) - RIPPLE_EPOCH_UNIX + 90 * 86_400,
        PublicKey: state.claimKey,
        Flags: 0,
      };
    } else if (body.kind === "channel_fund") {
      const ch = state.channels.get(body.channel_id);
      if (!ch || !ch.registered) return [404, errorBody("channel_not_found")];
      tx = { ...common, TransactionType: "PaymentChannelFund", Channel: body.channel_id, Amount: String(body.amount_drops), Flags: 0 };
    } else {
      const ch = state.channels.get(body.channel_id);
      if (!ch || ch.source !== account || ch.status === "closed") return [404, errorBody("channel_not_found")];
      tx = { ...common, TransactionType: "PaymentChannelClaim", Channel: body.channel_id, Flags: 0x00020000 };
    }
    if (state.tamper) tx = state.tamper(tx);
    const id = `prp_${state.prepared.size + 1}`;
    state.prepared.set(id, { body, tx });
    const signingBlob = `53545800${bytesToHex(await encodeFields(tx))}`;
    // tx_json says what the request asked for, whatever the blob holds: the frame must read the blob
    return [201, { prepared_id: id, kind: body.kind, tx_json: { TransactionType: tx.TransactionType }, signing_blob: signingBlob, address: account }];
  }

  async function submit(body) {
    const entry = state.prepared.get(body.prepared_id);
    if (!entry) return [404, errorBody("prepared_not_found")];
    state.prepared.delete(body.prepared_id);
    const { body: request, tx } = entry;
    const blob = hexToBytes(`53545800${bytesToHex(await encodeFields(tx))}`);
    if (!(await ed25519Verify(tx.SigningPubKey, body.signature, blob))) return [400, errorBody("signature_invalid")];
    if (request.kind === "channel_create" && state.submit === "rejected") return [422, errorBody("transaction_rejected")];
    state.sequences.set(tx.Account, tx.Sequence + 1);
    const hash = await transactionId(await signedTransactionHex(tx, body.signature));
    if (request.kind === "channel_create") {
      const channelId = await paymentChannelId(tx.Account, tx.Destination, tx.Sequence);
      const record = {
        validated: false,
        result: null,
        polls: 0,
        create: { channelId, amount: tx.Amount, publicKey: tx.PublicKey, account: tx.Account },
      };
      state.transactions.set(hash, record);
      if (state.submit === "pending") {
        return [202, { tx_hash: hash, result: "tesSUCCESS", validated: false, kind: request.kind, channel_id: channelId }];
      }
      applyCreate(record);
      if (state.submit === "lost") return new TypeError("network down");
      return [200, { tx_hash: hash, result: "tesSUCCESS", validated: true, kind: request.kind, channel_id: channelId }];
    }
    const ch = state.channels.get(tx.Channel);
    let deleted = false;
    if (request.kind === "channel_fund") ch.funded += BigInt(tx.Amount);
    if (request.kind === "channel_close") {
      deleted = Boolean(state.closeDeletes);
      ch.status = deleted ? "closed" : "closing";
    }
    state.transactions.set(hash, { validated: true, result: "tesSUCCESS" });
    return [200, { tx_hash: hash, result: "tesSUCCESS", validated: true, kind: request.kind, channel_id: tx.Channel, channel_deleted: deleted }];
  }

  const routes = {
    config: [200, config],
    "GET readers/challenge": ({ headers }) => {
      if (headers["X-Dropgate-Publisher"] !== "pub_a") return [403, errorBody("origin_not_allowed")];
      const challenge = `rch_${Math.floor(Date.now() / 1000)}_${bytesToHex(crypto.getRandomValues(new Uint8Array(16))).toLowerCase()}_${"ab".repeat(16)}`;
      state.challenges.add(challenge);
      return [200, { publisher: "pub_a", challenge, expires_at: "2030-01-01T00:00:00Z", expires_in: 300 }];
    },
    "POST readers": async ({ body, headers }) => {
      if (headers["X-Dropgate-Publisher"] !== "pub_a") return [403, errorBody("origin_not_allowed")];
      if (!body.challenge || !body.proof) return [400, errorBody("claim_key_proof_required")];
      if (!state.challenges.has(body.challenge)) return [409, errorBody("registration_challenge_used")];
      const message = registrationMessage("pub_a", body.challenge, body.claim_public_key);
      if (!(await ed25519Verify(body.claim_public_key, body.proof, message))) return [422, errorBody("claim_key_proof_invalid")];
      state.challenges.delete(body.challenge);
      state.claimKey = body.claim_public_key;
      return [201, { reader_id: "rdr_1", reader_token: state.token, publisher: "pub_a" }];
    },
    "POST wallet/faucet": [200, { address: "r", funded_drops: "100000000", tx_hash: "F" }],
    "POST wallet/prepare": ({ body }) => prepare(body),
    "POST wallet/submit": ({ body }) => submit(body),
    "POST channels": ({ body }) => {
      const ch = state.channels.get(body.channel_id);
      if (!ch) return [422, errorBody("channel_not_found")];
      if (ch.owner && ch.owner !== state.token) return [409, errorBody("channel_taken")];
      ch.registered = true;
      ch.owner = state.token;
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
    "POST readers/me/tax-preview": ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      state.previews.push(body);
      const price = prices[body.article] ?? 0n; // articles a test adds by hand are previewed too
      const p = state.confirmed && state.preview.decision === "confirm_country" ? { ...state.preview, decision: "allow", country: state.confirmed.country, candidates: [] } : state.preview;
      return [200, { article: body.article, price_drops: price.toString(), ...p }];
    },
    "GET readers/me/consent": ({ headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      const c = state.consent;
      return [200, { text_version: c.version, given: c.given, given_at: null, rule: "consumer.eu.crd_immediate_access", required: c.required }];
    },
    "POST readers/me/consent": ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      if (body.text_version !== state.consent.version) return [400, errorBody("consent_text_outdated", "Outdated.", { text_version: state.consent.version })];
      if (body.immediate_access !== true || body.withdrawal_right_lost !== true) return [400, errorBody("invalid_request")];
      state.consent.given = true;
      return [201, { text_version: state.consent.version, given: true, given_at: "2030-01-01T00:00:00Z", rule: "consumer.eu.crd_immediate_access", required: state.consent.required }];
    },
    "POST readers/me/country": ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      if (!/^[A-Z]{2}$/.test(body.country || "")) return [400, errorBody("invalid_country")];
      state.confirmed = { country: body.country, region: body.region ?? null };
      return [201, { country: body.country, region: body.region || "", confirmed_at: "2030-01-01T00:00:00Z" }];
    },
    "GET readers/me/receipts": ({ headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      return [200, { receipts: state.receipts }];
    },
    "POST readers/me/disputes": ({ body, headers }) => {
      if (headers.Authorization !== `Reader ${state.token}`) return [401, errorBody("reader_token_invalid")];
      if (!state.paid.has(body.unlock)) return [404, errorBody("unlock_not_found")];
      if (state.disputes.some((d) => d.article === body.unlock)) return [409, errorBody("dispute_exists")];
      if (state.disputeWindowClosed) return [422, errorBody("dispute_window_closed")];
      const d = {
        id: state.disputes.length + 1, unlock: 1, article: body.unlock, reason: body.reason, message: body.message ?? "",
        dispute_class: "technical", status: "won_by_reader", outcome: "reader", tier: 1, amount_drops: "200000",
        due_by: null, filed_at: "2030-01-01T00:00:00Z", decided_at: "2030-01-01T00:00:00Z", decided_by: "auto",
        reasons: ["delivery_missing"], refund: { amount_drops: "200000", mode: "credit", status: "credited", tx_hash: null },
        appeals: 0, appeal_until: "2030-01-15T00:00:00Z",
      };
      state.disputes.unshift(d);
      return [201, d];
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
      state.evidence.push(body.evidence ?? null);
      if (state.preview.decision === "block") {
        return [451, errorBody("jurisdiction_blocked", "Blocked.", { rules: state.preview.rules, country: state.preview.country })];
      }
      if (state.countryOnClaim && !state.confirmed) {
        return [409, errorBody("country_confirmation_required", "Confirm.", { candidates: state.countryOnClaim, rules: [] })];
      }
      if (state.consent.onClaim && !state.consent.given) {
        return [428, errorBody("consent_required", "Consent.", { text_version: state.consent.version, rule: "consumer.eu.crd_immediate_access" })];
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
        let m = /^GET wallet\/transactions\/([0-9A-F]{64})$/.exec(key);
        if (m) {
          const hash = m[1];
          return () => {
            const tx = state.transactions.get(hash);
            state.ledgerIndex += 1;
            if (tx && !tx.validated && ++tx.polls >= state.validateAfterPolls) applyCreate(tx);
            return [
              200,
              {
                tx_hash: hash,
                found: Boolean(tx),
                validated: Boolean(tx && tx.validated),
                result: tx && tx.validated ? tx.result : null,
                ledger_index: tx ? 101 : null,
                validated_ledger_index: state.ledgerIndex,
                channel_id: tx && tx.validated && tx.create ? tx.create.channelId : null,
              },
            ];
          };
        }
        m = /^GET channels\/([0-9A-F]{64})$/.exec(key);
        if (m) return () => (state.channels.has(m[1]) ? [200, out(m[1])] : [404, errorBody("channel_not_found")]);
        m = /^GET content\/pub_a\/([-\w]+)$/.exec(key);
        if (m) {
          const article = m[1];
          return ({ headers }) =>
            headers.Authorization === `Bearer grant-${article}` ? [200, { article, title: article, html: `<p>${article} body</p>` }] : [401, errorBody("grant_invalid")];
        }
        if (key.startsWith("GET config?")) return target.config;
        if (key.startsWith("GET readers/challenge")) return target["GET readers/challenge"];
        if (key.startsWith("GET readers/me/disputes")) {
          return ({ headers }) =>
            headers.Authorization === `Reader ${state.token}` ? [200, { disputes: state.disputes, next_before: null }] : [401, errorBody("reader_token_invalid")];
        }
        return undefined;
      },
    }),
    { base: BASE },
  );
  return { state, routes, fetch: fake.fetch, calls: fake.calls, out };
}
