/**
 * The reader's payment channel on the ledger: open, top up, close, through a funding wallet
 * adapter and the server's wallet endpoints (docs/sdk-protocol.md, "Funding wallet"):
 *
 *   POST /api/v1/wallet/faucet   {public_key}                          (sandbox, once)
 *   POST /api/v1/wallet/prepare  {public_key, kind, amount_drops?, channel_id?}
 *   POST /api/v1/wallet/submit   {prepared_id, signature}
 *   POST /api/v1/channels        {channel_id}       (a new channel, read from the ledger)
 *   GET  /api/v1/channels/{id}                      (its funded / spent / status view)
 *
 * The server builds each transaction from its own rules; the frame checks that the prepared
 * transaction is the one it asked for (kind, account, amount, channel) before the wallet signs.
 */
import { SdkError } from "./errors.js";
import { isChannelId } from "./claims.js";
import { dropsToNumber, parseDrops } from "../shared/drops.js";

/** Ledger timeouts: /wallet/submit waits for validation on the server. */
const SUBMIT_TIMEOUT_MS = 60_000;

const TX_TYPES = {
  channel_create: "PaymentChannelCreate",
  channel_fund: "PaymentChannelFund",
  channel_close: "PaymentChannelClaim",
};

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

function checkPrepared(prepared, { kind, address, amountDrops, channelId }) {
  const tx = prepared && prepared.tx_json;
  const problems = [];
  if (!prepared || typeof prepared.signing_blob !== "string" || !/^[0-9A-Fa-f]+$/.test(prepared.signing_blob)) {
    problems.push("no signing blob");
  }
  if (!prepared || !prepared.prepared_id) problems.push("no prepared id");
  if (tx && typeof tx === "object") {
    if (tx.TransactionType !== TX_TYPES[kind]) problems.push("transaction type");
    if (tx.Account !== undefined && tx.Account !== address) problems.push("account");
    if (amountDrops !== undefined && tx.Amount !== undefined && String(tx.Amount) !== amountDrops.toString()) {
      problems.push("amount");
    }
    if (channelId && tx.Channel !== undefined && String(tx.Channel).toUpperCase() !== channelId) {
      problems.push("channel");
    }
  }
  if (prepared && prepared.address !== undefined && prepared.address !== address) problems.push("address");
  if (problems.length) {
    throw new SdkError(
      "prepared_mismatch",
      `The server prepared a transaction that differs from the request (${problems.join(", ")}).`,
    );
  }
}

/** Prepare, check, sign and submit one wallet transaction; resolves with the submit result. */
export async function runWalletTx({ api, wallet, kind, amountDrops, channelId }) {
  const address = await wallet.address();
  const request = { public_key: await wallet.publicKey(), kind };
  if (amountDrops !== undefined) request.amount_drops = amountDrops.toString();
  if (channelId) request.channel_id = channelId;
  const prepared = await api.post("wallet/prepare", request, { auth: "reader" });
  checkPrepared(prepared, { kind, address, amountDrops, channelId });
  const signature = await wallet.sign(prepared.signing_blob);
  const result = await api.post(
    "wallet/submit",
    { prepared_id: prepared.prepared_id, signature },
    { auth: "reader", timeoutMs: SUBMIT_TIMEOUT_MS },
  );
  if (result.result !== "tesSUCCESS" || result.validated !== true) {
    const code = result.result || "unknown";
    throw new SdkError(
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
  return result;
}

/** Open a channel holding `amountDrops` and register it. Resolves with the channel record. */
export async function openChannel({ api, wallet, store, amountDrops }) {
  const amount = parseDrops(amountDrops);
  await fundFromFaucet({ api, wallet, store });
  const result = await runWalletTx({ api, wallet, kind: "channel_create", amountDrops: amount });
  if (!isChannelId(result.channel_id)) {
    throw new SdkError("bad_response", "The ledger accepted the channel but the server gave no channel id.");
  }
  const out = await api.post("channels", { channel_id: result.channel_id.toUpperCase() }, { auth: "reader" });
  return channelRecord(out);
}

/** The server's current view of a channel. */
export async function fetchChannel({ api, channelId }) {
  return channelRecord(await api.get(`channels/${channelId}`, { auth: "reader" }));
}

/** Add `amountDrops` to the channel (PaymentChannelFund). Resolves with the fresh record. */
export async function topUpChannel({ api, wallet, channelId, amountDrops }) {
  await runWalletTx({ api, wallet, kind: "channel_fund", amountDrops: parseDrops(amountDrops), channelId });
  return fetchChannel({ api, channelId });
}

/**
 * Ask to close the channel (the source's PaymentChannelClaim with tfClose). The channel then
 * closes after its settle delay; the platform's watchtower redeems the last claim first.
 */
export async function closeChannel({ api, wallet, channelId }) {
  await runWalletTx({ api, wallet, kind: "channel_close", channelId });
  return fetchChannel({ api, channelId });
}
