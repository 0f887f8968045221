/**
 * The reader's payment channel on the ledger: open, top up, close, through a funding wallet
 * adapter and the server's wallet endpoints (docs/sdk-protocol.md, "Funding wallet"):
 *
 *   POST /api/v1/wallet/faucet   {public_key}                          (sandbox, once)
 *   POST /api/v1/wallet/prepare  {public_key, kind, amount_drops?, channel_id?}
 *   POST /api/v1/wallet/submit   {prepared_id, signature}
 *   GET  /api/v1/wallet/transactions/{tx_hash}      (where a submitted create stands)
 *   POST /api/v1/channels        {channel_id}       (a new channel, read from the ledger)
 *   GET  /api/v1/channels/{id}                      (its funded / spent / status view)
 *
 * The server builds each transaction from its own rules; the frame decodes the exact bytes it
 * is asked to sign and checks every field against its own expectations (wallet/txcheck.js)
 * before the wallet signs.
 *
 * A new channel is never forgotten (issue 9, finding 2): as soon as the create is signed, and
 * before it is submitted, the frame stores it as the *pending channel* (`channel:pending`):
 * the id it will have (SHA-512Half of 0x0078 ‖ source ‖ destination ‖ Sequence, computed from
 * the signed bytes), the transaction's hash, its LastLedgerSequence, the funding account and
 * the deposit. `resumePending` then settles it, on this load or the next:
 *   - registered with POST /channels → the frame's channel, pending cleared;
 *   - not on the ledger yet → the transaction's status decides: still possible (not past its
 *     LastLedgerSequence) → `channel_pending`; failed (tec) or expired → cleared, nothing was
 *     locked;
 *   - on the ledger but refused (another owner, another key…) → *stranded* (`channel:stranded`),
 *     to be closed by its source (closeStrandedChannel): the deposit comes back.
 * A submit refused with a 4xx was never applied: the pending channel is cleared at once.
 */
import { SdkError } from "./errors.js";
import { isChannelId } from "./claims.js";
import { dropsToNumber, parseDrops } from "../shared/drops.js";
import { paymentChannelId, signedTransactionHex, transactionId } from "./wallet/txcodec.js";
import { verifySigningBlob } from "./wallet/txcheck.js";

/** Ledger timeouts: /wallet/submit waits for validation on the server. */
const SUBMIT_TIMEOUT_MS = 60_000;
export const PENDING_KEY = "channel:pending";
export const STRANDED_KEY = "channel:stranded";
/** After a 202, how often and how many times to look again before leaving it for later. */
export const PENDING_POLL_MS = 2_000;
export const PENDING_POLLS = 8;

/** The server's ChannelOut → the frame's record (bigint drops). */
export function channelRecord(out) {
  if (!out || !isChannelId(out.channel_id)) {
    throw new SdkError("bad_response", "The server sent a channel without a valid id.");
  }
  return {
    channelId: out.channel_id.toUpperCase(),
    fundedDrops: parseDrops(out.funded_drops),
    acceptedDrops: parseDrops(out.accepted_drops),
    status: String(out.status || "open"),
  };
}

/** The record → ChannelView for the page (numbers). */
export function channelView(record) {
  if (!record) return null;
  const remaining = record.fundedDrops - record.acceptedDrops;
  return {
    channelId: record.channelId,
    fundedDrops: dropsToNumber(record.fundedDrops),
    spentDrops: dropsToNumber(record.acceptedDrops),
    remainingDrops: dropsToNumber(remaining > 0n ? remaining : 0n),
    status: record.status,
  };
}

/** Fund the sandbox wallet from the faucet once per address; tolerated where disabled. */
export async function fundFromFaucet({ api, wallet, store }) {
  if (!wallet.canUseFaucet) return null;
  const address = await wallet.address();
  const key = `faucet:${address}`;
  if (await store.get(key)) return null;
  try {
    const out = await api.post("wallet/faucet", { public_key: await wallet.publicKey() }, { auth: "reader" });
    await store.set(key, { txHash: String(out.tx_hash || ""), fundedDrops: String(out.funded_drops || "0") });
    return out;
  } catch (err) {
    // No faucet on this network, or this address was funded before: the ledger will tell
    // whether the account can pay when the channel transaction is submitted.
    if (err instanceof SdkError && (err.code === "faucet_disabled" || err.status === 409)) {
      await store.set(key, { skipped: err.code });
      return null;
    }
    throw err;
  }
}

/** A refusal from the server that certainly left the ledger untouched (any 4xx). */
function neverSubmitted(err) {
  return err instanceof SdkError && err.status >= 400 && err.status < 500;
}

/** A failure worth trying again later: the network, a 5xx, a rate limit. */
export function isTransient(err) {
  return !(err instanceof SdkError) || err.code === "network_error" || err.status >= 500 || err.status === 429;
}

function txFailed(result, address) {
  const code = result.result || "unknown";
  return new SdkError(
    "tx_failed",
    result.validated === false && result.result === "tesSUCCESS"
      ? "The ledger has not confirmed the transaction yet; try again shortly."
      : `The ledger did not apply the transaction (${code}).` +
        (code === "tecUNFUNDED" || code === "terINSUF_FEE_B" || code === "tecINSUFFICIENT_RESERVE"
          ? ` Send XRP to ${address} first.`
          : ""),
    { details: { result: code, tx_hash: result.tx_hash || null } },
  );
}

/**
 * Prepare, verify (decode the signing blob, compare every field), sign and submit one wallet
 * transaction. `beforeSubmit({fields, signature})` runs once it is signed and before it is
 * sent. Resolves with `{result, fields}` (the submit body, and what was signed).
 *
 * @param {object} ctx  {api, wallet, policy, claimPublicKey?, now?, subtle?}
 */
export async function submitWalletTx(ctx, { kind, amountDrops, channelId, beforeSubmit }) {
  const { api, wallet } = ctx;
  const address = await wallet.address();
  const publicKey = await wallet.publicKey();
  const request = { public_key: publicKey, kind };
  if (amountDrops !== undefined) request.amount_drops = amountDrops.toString();
  if (channelId) request.channel_id = channelId;
  const prepared = await api.post("wallet/prepare", request, { auth: "reader" });
  if (!prepared || !prepared.prepared_id || typeof prepared.signing_blob !== "string") {
    throw new SdkError("prepared_mismatch", "The server prepared nothing to sign.");
  }
  const policy = ctx.policy || {};
  const fields = await verifySigningBlob(
    prepared.signing_blob,
    {
      kind,
      account: address,
      signingPubKey: publicKey,
      amountDrops,
      channelId,
      destination: policy.platformAddress,
      destinationTag: policy.destinationTag,
      settleDelaySeconds: policy.settleDelaySeconds,
      cancelAfterDays: policy.cancelAfterDays,
      claimPublicKey: ctx.claimPublicKey,
      nowUnixSeconds: (ctx.now || Date.now)() / 1000,
    },
    { subtle: ctx.subtle },
  );
  const signature = await wallet.sign(prepared.signing_blob);
  if (beforeSubmit) await beforeSubmit({ fields, signature });
  const result = await api.post(
    "wallet/submit",
    { prepared_id: prepared.prepared_id, signature },
    { auth: "reader", timeoutMs: SUBMIT_TIMEOUT_MS },
  );
  return { result, fields };
}

/** Like submitWalletTx, but only a validated tesSUCCESS resolves (else `tx_failed`). */
export async function runWalletTx(ctx, spec) {
  const { result } = await submitWalletTx(ctx, spec);
  if (result.result !== "tesSUCCESS" || result.validated !== true) throw txFailed(result, await ctx.wallet.address());
  return result;
}

function channelPending(pending) {
  return new SdkError(
    "channel_pending",
    "Your new payment channel is still being confirmed by the ledger; try again in a moment.",
    { details: { channel_id: pending.channelId } },
  );
}

/** The pending record of a signed create: what the frame needs to find its channel again. */
async function pendingOf(fields, signature, subtle) {
  const options = { subtle };
  return {
    channelId: await paymentChannelId(fields.Account, fields.Destination, fields.Sequence, options),
    txHash: await transactionId(await signedTransactionHex(fields, signature, options), options),
    account: fields.Account,
    amountDrops: fields.Amount,
    cancelAfter: fields.CancelAfter,
    lastLedgerSequence: fields.LastLedgerSequence,
  };
}

/** Remember a channel the frame cannot use, so that its source can close it. */
async function strand(store, pending, reason) {
  await store.update(STRANDED_KEY, (list) => {
    const rest = (Array.isArray(list) ? list : []).filter((s) => s.channelId !== pending.channelId);
    return [...rest, { channelId: pending.channelId, account: pending.account, cancelAfter: pending.cancelAfter, reason }];
  });
}

/** The channels the frame opened but cannot use (a list, possibly empty). */
export async function strandedChannels(store) {
  const list = await store.get(STRANDED_KEY);
  return Array.isArray(list) ? list : [];
}

/**
 * Settle the pending channel, if there is one (see the module's docstring). Resolves with the
 * registered channel's record, or null when there is no pending channel (any more). Rejects
 * with `channel_pending` while the create may still apply, `channel_stranded` when the ledger
 * has the channel but it cannot be registered, or a transient error (pending kept).
 */
export async function resumePending({ api, store }) {
  const pending = await store.get(PENDING_KEY);
  if (!pending || !isChannelId(pending.channelId)) return null;
  try {
    const out = await api.post("channels", { channel_id: pending.channelId }, { auth: "reader" });
    await store.delete(PENDING_KEY);
    return channelRecord(out);
  } catch (err) {
    if (isTransient(err)) throw err;
    if (err.code !== "channel_not_found") {
      await strand(store, pending, err.code);
      await store.delete(PENDING_KEY);
      throw new SdkError(
        "channel_stranded",
        `Your new payment channel cannot be used on this site (${err.code}); close it from the ` +
          "reading wallet to get the deposit back.",
        { details: { channel_id: pending.channelId, reason: err.code } },
      );
    }
  }
  // Not in a validated ledger (yet): where does the create stand?
  const state = await api.get(`wallet/transactions/${pending.txHash}`, { auth: "reader" });
  if (state.validated === true) {
    if (state.result === "tesSUCCESS") throw channelPending(pending); // validated meanwhile
    await store.delete(PENDING_KEY); // failed (tec): there is no channel, nothing is locked
    return null;
  }
  if (state.found !== true && Number(state.validated_ledger_index) > Number(pending.lastLedgerSequence)) {
    await store.delete(PENDING_KEY); // past its LastLedgerSequence: it can never apply
    return null;
  }
  throw channelPending(pending);
}

/** resumePending, looking again a few times while the create is still pending. */
async function awaitPending({ api, store, sleep, polls }) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resumePending({ api, store });
    } catch (err) {
      const again = err instanceof SdkError && (err.code === "channel_pending" || isTransient(err));
      if (!again || attempt >= polls) throw err;
    }
    await sleep(PENDING_POLL_MS);
  }
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Open a channel holding `amountDrops` and register it. Resolves with the channel record.
 * The signed create is stored as the pending channel before it is submitted; a 202 (not yet
 * validated) is followed up a few times, then left pending for the next load.
 *
 * @param {object} ctx  {api, wallet, store, policy, claimPublicKey, now?, subtle?, sleep?}
 */
export async function openChannel(ctx, { amountDrops }) {
  const { api, wallet, store } = ctx;
  const amount = parseDrops(amountDrops);
  await fundFromFaucet({ api, wallet, store });
  let pending = null;
  let outcome;
  try {
    outcome = await submitWalletTx(ctx, {
      kind: "channel_create",
      amountDrops: amount,
      beforeSubmit: async ({ fields, signature }) => {
        pending = await pendingOf(fields, signature, ctx.subtle);
        await store.set(PENDING_KEY, pending);
      },
    });
  } catch (err) {
    if (pending && neverSubmitted(err)) await store.delete(PENDING_KEY);
    throw err;
  }
  const { result } = outcome;
  if (result.validated === true && result.result !== "tesSUCCESS") {
    await store.delete(PENDING_KEY);
    throw txFailed(result, await wallet.address());
  }
  const record = await awaitPending({
    api,
    store,
    sleep: ctx.sleep || defaultSleep,
    polls: result.validated === true ? 1 : PENDING_POLLS,
  });
  if (!record) throw new SdkError("tx_failed", "The ledger did not apply the channel transaction.");
  return record;
}

/** The server's current view of a channel. */
export async function fetchChannel({ api, channelId }) {
  return channelRecord(await api.get(`channels/${channelId}`, { auth: "reader" }));
}

/** Add `amountDrops` to the channel (PaymentChannelFund). Resolves with the fresh record. */
export async function topUpChannel(ctx, { channelId, amountDrops }) {
  await runWalletTx(ctx, { kind: "channel_fund", amountDrops: parseDrops(amountDrops), channelId });
  return fetchChannel({ api: ctx.api, channelId });
}

/**
 * Ask to close the channel (the source's PaymentChannelClaim with tfClose). The channel then
 * closes after its settle delay; the platform's watchtower redeems the last claim first.
 */
export async function closeChannel(ctx, { channelId }) {
  await runWalletTx(ctx, { kind: "channel_close", channelId });
  return fetchChannel({ api: ctx.api, channelId });
}

/**
 * Close a stranded channel with its source's tfClose, and forget it once it is gone.
 *
 * Past its CancelAfter (or an earlier close's Expiration) the close deletes the channel and
 * the deposit is back at once. Before, it sets the channel's Expiration to its SettleDelay
 * from now: the entry stays, marked with when a second close will delete it. A channel the
 * ledger no longer has is simply forgotten. Resolves with `{deleted, reclaimAfter}` (unix
 * seconds, when not deleted).
 */
export async function closeStrandedChannel(ctx, { channelId }) {
  const { store } = ctx;
  let deleted;
  try {
    deleted = (await runWalletTx(ctx, { kind: "channel_close", channelId })).channel_deleted === true;
  } catch (err) {
    if (!(err instanceof SdkError) || err.code !== "channel_not_found") throw err;
    deleted = true; // the ledger has no such channel of ours any more
  }
  if (deleted) {
    await store.update(STRANDED_KEY, (list) => (Array.isArray(list) ? list : []).filter((s) => s.channelId !== channelId));
    return { deleted: true, reclaimAfter: null };
  }
  const now = Math.floor((ctx.now || Date.now)() / 1000);
  const settleDelay = Number((ctx.policy && ctx.policy.settleDelaySeconds) || 0);
  let reclaimAfter = now + settleDelay;
  await store.update(STRANDED_KEY, (list) =>
    (Array.isArray(list) ? list : []).map((s) => {
      if (s.channelId !== channelId) return s;
      const cancelAt = Number.isInteger(s.cancelAfter) ? s.cancelAfter + 946_684_800 : Infinity;
      reclaimAfter = Math.min(reclaimAfter, cancelAt);
      return { ...s, reclaimAfter };
    }),
  );
  return { deleted: false, reclaimAfter };
}
