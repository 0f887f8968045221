/**
 * The signer: what the frame does for each request of the page (docs/sdk-protocol.md).
 * Everything money-related is decided here, from the server's answers and the reader's
 * clicks in the frame — never from what the page says beyond the article's slug.
 *
 * unlock(article, {telemetrySession}): (each request below names the page's telemetry session)
 *   1. POST unlocks without a claim → 200 (paid before: re-entry at 0) or 402 with the price;
 *   2. the cap is checked against the server's price;
 *   3. no open channel → confirmation in the frame, faucet (sandbox) and channel create;
 *      too little left → confirmation, top-up; a price above CONFIRM_ABOVE_DROPS → confirmation;
 *   4. the meter reserves accepted + price, the claim key signs it, the transport sends it;
 *   5. the content is fetched with the grant and handed back as `{article, amountDrops, html}`.
 *
 * restore(articles): a returning reader's page names its articles; the server grants the ones
 * this reader paid before (POST unlocks/restore: no claim, no charge, nothing signed), and their
 * content comes back as `{unlocked: [{article, html}]}`. No reader yet: nothing to restore.
 * Steps 1–4 run under a lock shared by the reader's tabs, so two tabs never sign the same next
 * claim or open two channels.
 *
 * A channel being opened is kept as the pending channel from the moment its create is signed
 * (channel.js): `hello` resumes it in the background, an unlock resumes it before opening
 * another (and stops with `channel_pending` while the ledger may still apply it), and a
 * channel the ledger has but this site cannot use is listed as stranded, for the reader to
 * close from the reading wallet (`closeChannel` closes it when there is no open channel).
 *
 * Compliance (compliance.js): before anything is signed for a paid unlock, the tax preview
 * (a block stops here, a country question is asked) and, where the server requires it, the
 * consent to immediate access; the confirmations show the price with its tax; each unlock
 * carries the evidence (time zone, languages, declared country); a claim refused with 409
 * `country_confirmation_required` or 428 `consent_required` is answered in the frame and sent
 * again (the same cumulative amount).
 *
 * dispute(article, {reason, message}): "Report a problem" (disputes.js) — the form in the
 * frame, filed by the reader's click; the reader's reports and receipts are in the reading
 * wallet (settings).
 *
 * rotateClaimKey(): a next non-extractable claim key proves itself to the server
 * (POST readers/me/claim-key), which settles and closes the old key's channels; the frame then
 * forgets its channel, and the next paid unlock opens a new one for the new key. A claim
 * refused with `channel_retired` (another tab rotated) does the same.
 */
import { SdkError } from "./errors.js";
import { signClaim } from "./claims.js";
import { spentOf } from "./meter.js";
import {
  PENDING_KEY,
  channelView,
  closeChannel,
  closeStrandedChannel,
  fetchChannel,
  openChannel,
  resumePending,
  strandedChannels,
  topUpChannel,
} from "./channel.js";
import { createCompliance, priceWithTax } from "./compliance.js";
import { disputeSummary } from "./disputes.js";
import { declareCountry, DECLARED_KEY } from "./evidence.js";
import { dropsToNumber, formatXrp, parseDrops } from "../shared/drops.js";
import { isSlug, originOf } from "../shared/messages.js";

/** Prices above this need a click in the frame even with an open, funded channel. */
export const CONFIRM_ABOVE_DROPS = 1_000_000n;

/** Claim refusals that mean "our view of the channel is stale": re-read it and try again. */
const RESYNC_CODES = new Set([
  "claim_stale",
  "claim_replayed",
  "claim_underpaid",
  "claim_exceeds_channel",
  "channel_closing",
  "claim_conflict",
]);
const MAX_PAY_ATTEMPTS = 3;
/** Claim refusals the reader answers in the frame (compliance.js), then the claim is resent. */
const COMPLIANCE_QUESTIONS = new Set(["country_confirmation_required", "consent_required"]);
const MAX_COMPLIANCE_ANSWERS = 2;

const xrp = (drops) => `${formatXrp(drops)} XRP`;
const maxDrops = (a, b) => (a > b ? a : b);

function cancelled() {
  return new SdkError("cancelled", "The payment was cancelled in the frame.");
}

/** An outcome the frame cannot know (the claim may or may not have been accepted). */
function isUncertain(err) {
  return !(err instanceof SdkError) || err.code === "network_error" || err.status >= 500;
}

export function randomId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === "function") return cryptoImpl.randomUUID();
  const bytes = cryptoImpl.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @param {object} deps
 * @param {string} deps.publisher
 * @param {{minChannelDrops: bigint, platformAddress?: string, destinationTag?: number,
 *          settleDelaySeconds?: number, cancelAfterDays?: number}} deps.config
 *        what GET /api/v1/config told the frame; the funding wallet signs only transactions
 *        that match it (wallet/txcheck.js)
 * @param {object} deps.api        frame/api.js
 * @param {object} deps.store      frame/store.js
 * @param {object} deps.keyring    frame/keys.js
 * @param {object} deps.wallet     frame/wallet (adapter)
 * @param {object} deps.meter      frame/meter.js
 * @param {object} deps.transport  frame/transport.js
 * @param {object} deps.ui         frame/ui.js
 * @param {{run: Function}} deps.lock
 * @param {(message: object) => void} deps.emit  posts an event to the page
 */
export function createSigner({
  publisher,
  config,
  api,
  store,
  keyring,
  wallet,
  meter,
  transport,
  ui,
  lock,
  emit,
  newId = randomId,
  now = Date.now,
  sleep,
  subtle,
  compliance = createCompliance({ api, store, ui }),
}) {
  const minChannel = parseDrops(config.minChannelDrops);
  const policy = {
    platformAddress: config.platformAddress,
    destinationTag: config.destinationTag,
    settleDelaySeconds: config.settleDelaySeconds,
    cancelAfterDays: config.cancelAfterDays,
  };

  /** What the wallet's channel operations need (channel.js). */
  async function walletContext() {
    return { api, wallet, store, policy, claimPublicKey: await keyring.publicKeyHex("claim"), now, sleep, subtle };
  }

  async function readerRecord() {
    const reader = await store.get("reader");
    return reader && typeof reader.token === "string" ? reader : null;
  }

  /** One registration: a fresh challenge, signed by the claim key (proof of possession). */
  async function register() {
    const headers = { "X-Dropgate-Publisher": publisher };
    const issued = await api.get("readers/challenge", { headers });
    if (typeof issued.challenge !== "string") {
      throw new SdkError("bad_response", "The server gave no registration challenge.");
    }
    const { publicKey, proof } = await keyring.registrationProof(publisher, issued.challenge);
    const out = await api.post(
      "readers",
      { claim_public_key: publicKey, challenge: issued.challenge, proof },
      { headers },
    );
    return { out, claimPublicKey: publicKey };
  }

  /** Register the reader with the claim key on first use; the token stays in IndexedDB. */
  async function ensureReader() {
    const existing = await readerRecord();
    if (existing) return existing;
    let registered;
    try {
      registered = await register();
    } catch (err) {
      // A challenge that expired or was used (a retried request) gets one fresh try.
      if (!(err instanceof SdkError) || !/^registration_challenge_(used|expired)$/.test(err.code)) throw err;
      registered = await register();
    }
    const { out, claimPublicKey } = registered;
    if (typeof out.reader_token !== "string" || !out.reader_token) {
      throw new SdkError("bad_response", "The server registered the reader without a token.");
    }
    const stored = await store.putIfAbsent("reader", {
      token: out.reader_token,
      readerId: String(out.reader_id || ""),
      claimPublicKey,
    });
    transport.connect();
    return stored;
  }

  async function currentChannel() {
    const channelId = await store.get("channel");
    if (!channelId) return null;
    const state = await meter.channel(channelId);
    return state ? { channelId, ...state } : null;
  }

  /** Take the server's view of the channel; resolves with the merged record. */
  async function resync(channelId) {
    const fresh = await fetchChannel({ api, channelId });
    await meter.sync(channelId, fresh);
    return { ...fresh, pendingDrops: 0n };
  }

  async function summary() {
    const record = await meter.snapshot();
    return {
      capDrops: record.capDrops,
      spentDrops: spentOf(record),
      channel: await currentChannel(),
      pendingChannel: Boolean(await store.get(PENDING_KEY)),
      stranded: await strandedChannels(store),
    };
  }

  async function publish() {
    const s = await summary();
    ui.renderStatus(s);
    emit({ type: "channel", channel: channelView(s.channel) });
    return s;
  }

  async function adoptChannel(record) {
    await meter.sync(record.channelId, record);
    await store.set("channel", record.channelId);
    await publish();
    return { ...record, pendingDrops: 0n };
  }

  async function openFor(price, article, priceText) {
    const deposit = maxDrops(minChannel, price);
    const s = await summary();
    return ui.hold(async () => {
      const ok = await ui.confirm({
        title: "Open a payment channel for this site?",
        message:
          `You fund a payment channel once; each article is then paid from it. ` +
          `What you do not spend comes back to your wallet when you close the channel.`,
        facts: [
          ["Article", article],
          ["Price", priceText],
          ["Channel deposit", xrp(deposit)],
          ["Spent so far", `${xrp(s.spentDrops)} of your ${xrp(s.capDrops)} cap`],
        ],
        confirmLabel: `Open channel and pay ${xrp(price)}`,
      });
      if (!ok) throw cancelled();
      const ctx = await walletContext();
      const record = await ui.busy("Opening your payment channel…", () => openChannel(ctx, { amountDrops: deposit }));
      return adoptChannel(record);
    });
  }

  async function topUpFor(channel, price, article, priceText) {
    const remaining = channel.fundedDrops - channel.acceptedDrops;
    const amount = maxDrops(minChannel, price - remaining);
    return ui.hold(async () => {
      const ok = await ui.confirm({
        title: "Top up your payment channel?",
        message: `Your channel has ${xrp(remaining)} left, less than the ${xrp(price)} this article costs.`,
        facts: [
          ["Article", article],
          ["Price", priceText],
          ["Add to channel", xrp(amount)],
        ],
        confirmLabel: `Add ${xrp(amount)} and pay ${xrp(price)}`,
      });
      if (!ok) {
        throw new SdkError("channel_exhausted", "The channel has too little left and was not topped up.");
      }
      const ctx = await walletContext();
      const record = await ui.busy("Topping up your payment channel…", () =>
        topUpChannel(ctx, { channelId: channel.channelId, amountDrops: amount }),
      );
      return adoptChannel(record);
    });
  }

  /**
   * Settle the pending channel (under the lock). Resolves with the adopted channel, or null
   * when there is none; rejects with `channel_pending` while the ledger may still apply it.
   * A stranded channel is published (the reading wallet lists it) and yields null.
   */
  async function settlePending() {
    if (!(await store.get(PENDING_KEY))) return null;
    try {
      const record = await resumePending({ api, store });
      if (record) return adoptChannel(record);
    } catch (err) {
      if (!(err instanceof SdkError) || err.code !== "channel_stranded") throw err;
    }
    await publish();
    return null;
  }

  /** The old key's channel is being closed by the platform: forget it (the next pays anew). */
  async function retireChannel() {
    keyring.forget("claim");
    await store.delete("channel");
    await publish();
  }

  /** Steps 1–4 of unlock, under the lock. Resolves with the unlock body and what it charged. */
  async function payFor(article, telemetrySession) {
    let payment;
    try {
      const evidence = await compliance.evidence();
      return { body: await transport.unlock({ article, telemetrySession, evidence }), charged: 0n };
    } catch (err) {
      if (!(err instanceof SdkError) || err.code !== "payment_required") throw err;
      payment = err.details || {};
    }
    let price;
    try {
      price = parseDrops(payment.price_drops);
    } catch {
      price = 0n;
    }
    if (price < 1n) throw new SdkError("bad_response", "The server asked for a payment without a price.");
    await meter.checkCap(price);
    // Before any channel work or signature: where the reader is (a block stops here), and
    // consent to immediate access where it is required.
    const preview = await compliance.beforePaying(article);
    await compliance.ensureConsent();
    const vat = preview && String(preview.price_drops) === price.toString() ? preview.vat : undefined;
    const priceText = priceWithTax(price, vat);

    const idempotencyKey = newId();
    let confirmed = false;
    let answered = 0;
    for (let attempt = 1; ; attempt++) {
      let channel = await currentChannel();
      if (channel && channel.pendingDrops > 0n) channel = await resync(channel.channelId);
      if (!channel || channel.status !== "open") {
        // A channel opened earlier whose answer was lost comes first: never a second deposit.
        channel = (await settlePending()) || channel;
      }
      if (!channel || channel.status !== "open") {
        channel = await openFor(price, article, priceText);
        confirmed = true;
      } else if (channel.fundedDrops - channel.acceptedDrops < price) {
        channel = await topUpFor(channel, price, article, priceText);
        confirmed = true;
      }
      if (!confirmed && price > CONFIRM_ABOVE_DROPS) {
        const ok = await ui.confirm({
          title: "Confirm this payment",
          message: `This article costs more than ${xrp(CONFIRM_ABOVE_DROPS)}.`,
          facts: [
            ["Article", article],
            ["Price", priceText],
          ],
          confirmLabel: `Pay ${xrp(price)}`,
        });
        if (!ok) throw cancelled();
        confirmed = true;
      }

      const amount = await meter.reserve(channel.channelId, price);
      const claim = await signClaim(keyring, channel.channelId, amount);
      let body;
      try {
        const evidence = await compliance.evidence();
        body = await transport.unlock({ article, claim, idempotencyKey, telemetrySession, evidence });
      } catch (err) {
        if (isUncertain(err)) throw err; // the reservation stays until the next resync
        await meter.release(channel.channelId);
        if (COMPLIANCE_QUESTIONS.has(err.code) && answered < MAX_COMPLIANCE_ANSWERS) {
          answered++;
          attempt--; // a question answered is not a failed attempt
          if (await compliance.answer(err)) continue; // the same claim again
        }
        if (err.code === "channel_retired" && attempt < MAX_PAY_ATTEMPTS) {
          await retireChannel();
          continue;
        }
        if (RESYNC_CODES.has(err.code) && attempt < MAX_PAY_ATTEMPTS) {
          await resync(channel.channelId);
          continue;
        }
        if (err.code === "claim_exceeds_channel") {
          throw new SdkError("channel_exhausted", "The channel has too little left for this article.");
        }
        throw err;
      }
      let charged = parseDrops(body.amount_drops);
      if (charged > 0n) {
        await meter.commit(channel.channelId, amount);
      } else {
        // Paid meanwhile (an earlier attempt whose answer was lost): the server's channel
        // says whether this claim is the one that paid.
        const fresh = await resync(channel.channelId);
        if (fresh.acceptedDrops >= amount) charged = price;
      }
      await publish();
      return { body, charged };
    }
  }

  async function fetchContent(body, article) {
    if (!body || typeof body.grant !== "string") {
      throw new SdkError("bad_response", "The server granted access without a grant.");
    }
    // The grant only ever goes to the paywall's own API.
    const url =
      typeof body.content_url === "string" && originOf(body.content_url) === api.origin
        ? body.content_url
        : `content/${encodeURIComponent(publisher)}/${encodeURIComponent(article)}`;
    const out = await api.get(url, { bearer: body.grant });
    if (typeof out.html !== "string") throw new SdkError("bad_response", "The content came without a body.");
    return out.html;
  }

  function requireOpen(channel) {
    if (!channel || channel.status !== "open") {
      throw new SdkError("channel_not_found", "There is no open payment channel for this site.");
    }
  }

  async function topUp() {
    return lock.run(() =>
      ui.hold(async () => {
        const channel = await currentChannel();
        requireOpen(channel);
        const ok = await ui.confirm({
          title: "Top up your payment channel?",
          message: `Your channel has ${xrp(channel.fundedDrops - channel.acceptedDrops)} left.`,
          facts: [["Add to channel", xrp(minChannel)]],
          confirmLabel: `Add ${xrp(minChannel)}`,
        });
        if (!ok) throw cancelled();
        const ctx = await walletContext();
        const record = await ui.busy("Topping up your payment channel…", () =>
          topUpChannel(ctx, { channelId: channel.channelId, amountDrops: minChannel }),
        );
        return channelView(await adoptChannel(record));
      }),
    );
  }

  /** Close the first stranded channel (a click in the frame first); the deposit comes back. */
  async function recoverStranded(stranded) {
    const ok = await ui.confirm({
      title: "Recover the deposit of an unusable channel?",
      message:
        "A payment channel you opened cannot be used on this site. Closing it returns its " +
        "deposit to your wallet: at once if its cancel time has passed, else after its settle delay " +
        "(close it again then).",
      facts: [
        ["Channel", `${stranded.channelId.slice(0, 16)}…`],
        ["Why", stranded.reason || "unknown"],
      ],
      confirmLabel: "Close channel",
    });
    if (!ok) throw cancelled();
    const ctx = await walletContext();
    const out = await ui.busy("Closing the unusable channel…", () =>
      closeStrandedChannel(ctx, { channelId: stranded.channelId }),
    );
    await publish();
    return { channelId: stranded.channelId, ...out };
  }

  async function recover() {
    return lock.run(() =>
      ui.hold(async () => {
        const [stranded] = await strandedChannels(store);
        if (!stranded) throw new SdkError("channel_not_found", "There is no unusable channel to close.");
        return recoverStranded(stranded);
      }),
    );
  }

  async function close() {
    return lock.run(() =>
      ui.hold(async () => {
        let channel = await currentChannel();
        if (!channel || channel.status !== "open") {
          const [stranded] = await strandedChannels(store);
          if (stranded) {
            await recoverStranded(stranded);
            return channelView(channel);
          }
        }
        requireOpen(channel);
        if (channel.pendingDrops > 0n) channel = await resync(channel.channelId);
        const ok = await ui.confirm({
          title: "Close your payment channel?",
          message:
            "The site is paid what you spent; the rest returns to your wallet when the channel " +
            "closes, after its settle delay.",
          facts: [
            ["Spent", xrp(channel.acceptedDrops)],
            ["Returned to you", xrp(channel.fundedDrops - channel.acceptedDrops)],
          ],
          confirmLabel: "Close channel",
        });
        if (!ok) throw cancelled();
        const ctx = await walletContext();
        const record = await ui.busy("Closing your payment channel…", () =>
          closeChannel(ctx, { channelId: channel.channelId }),
        );
        return channelView(await adoptChannel(record));
      }),
    );
  }

  async function rotateClaimKey() {
    return lock.run(async () => {
      const reader = await readerRecord();
      if (!reader || !reader.readerId) {
        throw new SdkError("reader_not_registered", "There is no reader whose claim key could rotate.");
      }
      const { publicKey, proof } = await keyring.nextClaimKeyProof(reader.readerId);
      const out = await api.post("readers/me/claim-key", { public_key: publicKey, proof }, { auth: "reader" });
      if (out.claim_public_key !== publicKey) {
        throw new SdkError("bad_response", "The server answered the rotation with another key.");
      }
      await keyring.commitClaimRotation();
      await store.set("reader", { ...reader, claimPublicKey: publicKey });
      await retireChannel();
      const closing = Array.isArray(out.closing_channels) ? out.closing_channels.map(String) : [];
      return { claimPublicKey: publicKey, closingChannels: closing };
    });
  }

  /** The reader's reports on this site (none without a reader). */
  async function readerDisputes() {
    if (!(await readerRecord())) return [];
    const out = await api.get("readers/me/disputes?limit=50", { auth: "reader" });
    return Array.isArray(out.disputes) ? out.disputes.filter((d) => d && typeof d === "object") : [];
  }

  async function readerReceipts() {
    if (!(await readerRecord())) return [];
    const out = await api.get("readers/me/receipts", { auth: "reader" });
    return Array.isArray(out.receipts) ? out.receipts.filter((r) => r && typeof r === "object") : [];
  }

  /**
   * "Report a problem" with `article` (the form in the frame; the page may suggest a reason
   * and message). Resolves with the filed dispute's summary; rejects with `cancelled`, or
   * with the server's refusal when the reader closed the form after it.
   */
  function dispute(article, { reason = null, message = "" } = {}) {
    return ui.hold(async () => {
      const submit = async (values) => {
        if (!(await readerRecord())) {
          throw new SdkError("unlock_not_found", "There is no purchase of this article in this browser.", { status: 404 });
        }
        const body = { unlock: article, reason: values.reason };
        if (values.message) body.message = values.message;
        return api.post("readers/me/disputes", body, { auth: "reader" });
      };
      const out = await ui.disputeForm({ article, reason, message, submit });
      if (!out) throw cancelled();
      if (out.error) throw new SdkError(out.error.code, out.error.message);
      return disputeSummary(out.dispute);
    });
  }

  /** The reader's reports, in the frame. */
  async function showDisputes() {
    const list = await ui.busy("Loading your reports…", readerDisputes);
    await ui.disputes({ disputes: list });
    return { disputes: list.map(disputeSummary) };
  }

  /** The reader's receipts, in the frame; "Report a problem" from one opens the form. */
  async function showReceipts() {
    const list = await ui.busy("Loading your receipts…", readerReceipts);
    const choice = await ui.receipts({ receipts: list });
    if (choice && choice.action === "report" && isSlug(choice.article)) return dispute(choice.article);
    return null;
  }

  /** The country the reader declares (sent as evidence with each unlock). */
  async function chooseCountry() {
    const picked = await ui.country({ candidates: [], current: await store.get(DECLARED_KEY) });
    if (!picked) throw cancelled();
    return declareCountry(store, picked);
  }

  return {
    ensureReader,
    rotateClaimKey,
    dispute,

    async hello() {
      const reader = await readerRecord();
      const s = await summary();
      ui.renderStatus(s);
      if (reader && s.pendingChannel) {
        // A channel opened on an earlier visit whose answer was lost: settle it now, in the
        // background (nothing is signed); the page gets a `channel` event when it is adopted.
        lock.run(settlePending).then(undefined, () => undefined);
      } else if (reader && s.channel) {
        // Refresh in the background: the page gets a `channel` event if it changed.
        resync(s.channel.channelId).then(publish, () => undefined);
      }
      return { reader: Boolean(reader), channel: channelView(s.channel), capDrops: dropsToNumber(s.capDrops) };
    },

    /**
     * `telemetrySession`: the page's telemetry session id (checked by the message parser),
     * sent with each unlock request so the server can score it; never trusted for money.
     */
    async unlock(article, { telemetrySession = null } = {}) {
      const { body, charged } = await lock.run(async () => {
        await ensureReader();
        return payFor(article, telemetrySession);
      });
      const html = await fetchContent(body, article);
      return { article, amountDrops: dropsToNumber(charged), html };
    },

    async restore(articles) {
      if (!(await readerRecord())) return { unlocked: [] };
      const out = await api.post("unlocks/restore", { articles }, { auth: "reader" });
      const asked = new Set(articles);
      const granted = new Map(); // article → body, each asked-for article once
      for (const body of Array.isArray(out.unlocked) ? out.unlocked : []) {
        if (body && isSlug(body.article) && asked.has(body.article) && !granted.has(body.article)) {
          granted.set(body.article, body);
        }
      }
      const unlocked = await Promise.all(
        [...granted].map(([article, body]) =>
          fetchContent(body, article).then(
            (html) => ({ article, html }),
            () => null, // that one stays locked; a click re-enters it
          ),
        ),
      );
      return { unlocked: unlocked.filter(Boolean) };
    },

    async status() {
      let s = await summary();
      if (s.channel && (await readerRecord())) {
        try {
          await resync(s.channel.channelId);
          s = await publish();
        } catch (err) {
          if (!isUncertain(err)) throw err; // offline: the frame's own view will do
        }
      }
      return {
        channel: channelView(s.channel),
        capDrops: dropsToNumber(s.capDrops),
        spentDrops: dropsToNumber(s.spentDrops),
      };
    },

    setCap() {
      return ui.hold(async () => {
        const s = await summary();
        const choice = await ui.settings(s);
        if (!choice) throw cancelled();
        if (choice.action === "topUp") await topUp();
        else if (choice.action === "close") await close();
        else if (choice.action === "recover") await recover();
        else if (choice.action === "country") await chooseCountry();
        else if (choice.action === "receipts") await showReceipts();
        else if (choice.action === "disputes") await showDisputes();
        else await meter.setCap(choice.capDrops);
        const after = await publish();
        return { capDrops: dropsToNumber(after.capDrops), channel: channelView(after.channel) };
      });
    },

    topUp,
    closeChannel: close,

    /** The reader's "replace claim key" (page wallet menu): confirm, then rotateClaimKey. */
    replaceClaimKey() {
      return ui.hold(async () => {
        const ok = await ui.confirm({
          title: "Replace your claim key?",
          message:
            "A new signing key replaces the one this browser signs payments with. Your current " +
            "channel is settled and closed (what you did not spend returns to your wallet), and " +
            "your next paid article opens a new channel.",
          confirmLabel: "Replace key",
        });
        if (!ok) throw cancelled();
        const out = await ui.busy("Replacing your claim key…", () => rotateClaimKey());
        await publish();
        return out;
      });
    },
  };
}
