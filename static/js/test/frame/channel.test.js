import { beforeEach, describe, expect, it } from "vitest";
import { createApi } from "../../src/frame/api.js";
import {
  PENDING_KEY,
  channelView,
  closeChannel,
  closeStrandedChannel,
  fundFromFaucet,
  openChannel,
  resumePending,
  strandedChannels,
  topUpChannel,
} from "../../src/frame/channel.js";
import { createKeyring } from "../../src/frame/keys.js";
import { memoryStore } from "../../src/frame/store.js";
import { assertWallet, createSandboxWallet, selectWallet } from "../../src/frame/wallet/index.js";
import { hexToBytes } from "../../src/shared/bytes.js";
import { errorBody } from "../helpers.js";
import { BASE, CHANNEL_IDS, FRAME_CONFIG, createFakeServer } from "../fakeServer.js";

const BLOB = "535458001200102400000001";

describe("sandbox wallet", () => {
  it("is an adapter over the funding key (not the claim key)", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    const wallet = assertWallet(selectWallet({ keyring }));
    expect(wallet.kind).toBe("sandbox");
    expect(await wallet.publicKey()).toBe(await keyring.publicKeyHex("funding"));
    expect(await wallet.publicKey()).not.toBe(await keyring.publicKeyHex("claim"));
    expect(await wallet.address()).toMatch(/^r[1-9A-HJ-NP-Za-km-z]{24,34}$/);

    const signature = await wallet.sign(BLOB);
    const pub = await crypto.subtle.importKey("raw", hexToBytes((await wallet.publicKey()).slice(2)), { name: "Ed25519" }, false, ["verify"]);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pub, hexToBytes(signature), hexToBytes(BLOB))).toBe(true);
  });

  it("assertWallet refuses an incomplete adapter", () => {
    expect(() => assertWallet({ address() {}, sign() {} })).toThrow(/publicKey/);
    expect(() => assertWallet(null)).toThrow(TypeError);
  });
});

describe("channel operations", () => {
  let server;
  let store;
  let keyring;
  let wallet;
  let ctx;

  const paths = () => server.calls.map((c) => `${c.method} ${c.path}`);

  beforeEach(async () => {
    server = createFakeServer();
    store = memoryStore();
    keyring = createKeyring({ store });
    wallet = createSandboxWallet({ keyring });
    const claimPublicKey = await keyring.publicKeyHex("claim");
    server.state.claimKey = claimPublicKey;
    const api = createApi({ base: BASE, fetch: server.fetch, getToken: async () => "rdt_test_1" });
    ctx = { api, wallet, store, policy: FRAME_CONFIG, claimPublicKey, sleep: async () => undefined };
  });

  it("opens: faucet once, prepare, check, sign, keep it pending, submit, register", async () => {
    let pendingAtSubmit;
    const submit = server.routes["POST wallet/submit"];
    server.routes["POST wallet/submit"] = async (call) => {
      pendingAtSubmit = await store.get(PENDING_KEY);
      return submit(call);
    };
    const record = await openChannel(ctx, { amountDrops: 1_000_000n });
    expect(record).toEqual({ channelId: CHANNEL_IDS[0], fundedDrops: 1_000_000n, acceptedDrops: 0n, status: "open" });
    expect(paths()).toEqual(["POST wallet/faucet", "POST wallet/prepare", "POST wallet/submit", "POST channels"]);
    // the pending channel was stored before the submit, with the ledger's id for it
    expect(pendingAtSubmit).toMatchObject({
      channelId: CHANNEL_IDS[0],
      account: await wallet.address(),
      amountDrops: "1000000",
      lastLedgerSequence: 120,
    });
    expect(pendingAtSubmit.txHash).toMatch(/^[0-9A-F]{64}$/);
    expect(server.state.transactions.has(pendingAtSubmit.txHash)).toBe(true);
    expect(await store.get(PENDING_KEY)).toBeUndefined();
    for (const c of server.calls) expect(c.headers.Authorization).toBe("Reader rdt_test_1");

    await openChannel(ctx, { amountDrops: 1_000_000n });
    expect(server.calls.filter((c) => c.path === "wallet/faucet")).toHaveLength(1);
  });

  it("goes on without a faucet where it is disabled", async () => {
    server.routes["POST wallet/faucet"] = [403, errorBody("faucet_disabled")];
    expect(await fundFromFaucet(ctx)).toBeNull();
    await openChannel(ctx, { amountDrops: 1_000_000n });
    expect(server.calls.filter((c) => c.path === "wallet/faucet")).toHaveLength(1);
  });

  const far = (days) => Math.floor(Date.now() / 1000) - 946_684_800 + days * 86_400;
  it.each([
    ["another destination", (tx) => ({ ...tx, Destination: "rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe" }), "Destination"],
    ["another destination tag", (tx) => ({ ...tx, DestinationTag: 8 }), "DestinationTag"],
    ["no destination tag", ({ DestinationTag, ...tx }) => tx, "missing DestinationTag"],
    ["a bigger deposit", (tx) => ({ ...tx, Amount: "99000000" }), "Amount"],
    ["another claim key", (tx) => ({ ...tx, PublicKey: `ED${"11".repeat(32)}` }), "PublicKey"],
    ["the funding key as claim key", (tx) => ({ ...tx, PublicKey: tx.SigningPubKey }), "PublicKey"],
    ["another settle delay", (tx) => ({ ...tx, SettleDelay: 86_401 }), "SettleDelay"],
    ["no CancelAfter", ({ CancelAfter, ...tx }) => tx, "missing CancelAfter"],
    ["a CancelAfter past the configured days", (tx) => ({ ...tx, CancelAfter: far(93) }), "CancelAfter"],
    ["a fee above the cap", (tx) => ({ ...tx, Fee: "20001" }), "Fee"],
    ["a flag", (tx) => ({ ...tx, Flags: 0x00010000 }), "Flags"],
    ["an unexpected field", (tx) => ({ ...tx, SourceTag: 1 }), "unexpected SourceTag"],
    ["no LastLedgerSequence", ({ LastLedgerSequence, ...tx }) => tx, "missing LastLedgerSequence"],
    ["another signing key", (tx) => ({ ...tx, SigningPubKey: `ED${"22".repeat(32)}` }), "SigningPubKey"],
    ["another account", (tx) => ({ ...tx, Account: "rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe" }), "Account"],
    ["another transaction", (tx) => ({ ...tx, TransactionType: "PaymentChannelFund" }), "TransactionType"],
  ])("refuses to sign a create with %s", async (_, tamper, problem) => {
    server.state.tamper = tamper;
    const err = await openChannel(ctx, { amountDrops: 1_000_000n }).catch((e) => e);
    expect(err).toMatchObject({ code: "prepared_mismatch" });
    expect(err.details.fields).toContain(problem);
    expect(paths()).not.toContain("POST wallet/submit");
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("accepts a CancelAfter within the configured days, and the funding wallet's own fee", async () => {
    server.state.tamper = (tx) => ({ ...tx, CancelAfter: far(91), Fee: "20000" });
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).resolves.toMatchObject({ status: "open" });
  });

  it("refuses a blob it cannot read, or none", async () => {
    server.routes["POST wallet/prepare"] = [201, { prepared_id: "p", signing_blob: "53545800AA" }];
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    server.routes["POST wallet/prepare"] = [201, { prepared_id: "p" }];
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    expect(paths()).not.toContain("POST wallet/submit");
  });

  it("reports a transaction the ledger did not apply, and forgets the pending channel", async () => {
    server.routes["POST wallet/submit"] = [200, { tx_hash: "T", result: "tecUNFUNDED", validated: true }];
    const err = await openChannel(ctx, { amountDrops: 1_000_000n }).catch((e) => e);
    expect(err).toMatchObject({ code: "tx_failed", details: { result: "tecUNFUNDED" } });
    expect(err.message).toContain(await wallet.address());
    expect(paths()).not.toContain("POST channels");
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("a submit refused with a 4xx was never applied: no pending channel is kept", async () => {
    server.state.submit = "rejected";
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "transaction_rejected" });
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("202: follows the create until it validates, then registers it", async () => {
    server.state.submit = "pending";
    server.state.validateAfterPolls = 3;
    const record = await openChannel(ctx, { amountDrops: 1_000_000n });
    expect(record.channelId).toBe(CHANNEL_IDS[0]);
    expect(paths().filter((p) => p.startsWith("GET wallet/transactions/")).length).toBeGreaterThanOrEqual(3);
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("202 for longer than it waits: the channel stays pending and the next load registers it", async () => {
    server.state.submit = "pending";
    server.state.validateAfterPolls = 1000;
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "channel_pending" });
    const pending = await store.get(PENDING_KEY);
    expect(pending.channelId).toMatch(/^[0-9A-F]{64}$/);
    // the ledger validates it meanwhile
    server.state.validateAfterPolls = 0;
    await expect(resumePending(ctx)).rejects.toMatchObject({ code: "channel_pending" }); // validated just now
    const record = await resumePending(ctx);
    expect(record).toMatchObject({ channelId: pending.channelId, status: "open" });
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("an answer lost after the ledger applied the create: the channel is found again", async () => {
    server.state.submit = "lost";
    await expect(openChannel(ctx, { amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "network_error" });
    const pending = await store.get(PENDING_KEY);
    expect(pending.channelId).toBe(CHANNEL_IDS[0]);
    expect(await resumePending(ctx)).toMatchObject({ channelId: CHANNEL_IDS[0], fundedDrops: 1_000_000n });
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("a create that never reached the ledger is forgotten once its LastLedgerSequence passed", async () => {
    await store.set(PENDING_KEY, {
      channelId: "AB".repeat(32),
      txHash: "CD".repeat(32),
      lastLedgerSequence: 104,
      account: await wallet.address(),
      amountDrops: "1000000",
    });
    server.state.ledgerIndex = 102;
    await expect(resumePending(ctx)).rejects.toMatchObject({ code: "channel_pending" });
    expect(await store.get(PENDING_KEY)).toBeDefined();
    server.state.ledgerIndex = 110;
    expect(await resumePending(ctx)).toBeNull();
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("a failed create (tec) is forgotten: nothing was locked", async () => {
    await store.set(PENDING_KEY, { channelId: "AB".repeat(32), txHash: "CD".repeat(32), lastLedgerSequence: 999 });
    server.state.transactions.set("CD".repeat(32), { validated: true, result: "tecUNFUNDED" });
    expect(await resumePending(ctx)).toBeNull();
    expect(await store.get(PENDING_KEY)).toBeUndefined();
  });

  it("a transient failure keeps the pending channel", async () => {
    await store.set(PENDING_KEY, { channelId: "AB".repeat(32), txHash: "CD".repeat(32), lastLedgerSequence: 999 });
    server.routes["POST channels"] = [503, errorBody("ledger_unavailable")];
    await expect(resumePending(ctx)).rejects.toMatchObject({ code: "ledger_unavailable" });
    expect(await store.get(PENDING_KEY)).toBeDefined();
  });

  it("a channel the site refuses is stranded, and its source closes it to get the deposit back", async () => {
    server.state.submit = "lost";
    await openChannel(ctx, { amountDrops: 1_000_000n }).catch(() => undefined);
    server.state.channels.get(CHANNEL_IDS[0]).owner = "rdt_attacker"; // registered by someone else
    await expect(resumePending(ctx)).rejects.toMatchObject({ code: "channel_stranded", details: { reason: "channel_taken" } });
    expect(await store.get(PENDING_KEY)).toBeUndefined();
    expect(await strandedChannels(store)).toEqual([
      expect.objectContaining({ channelId: CHANNEL_IDS[0], reason: "channel_taken", account: await wallet.address() }),
    ]);
    // before its CancelAfter: the close sets the Expiration, and the entry says when to close again
    const first = await closeStrandedChannel(ctx, { channelId: CHANNEL_IDS[0] });
    expect(first.deleted).toBe(false);
    expect(first.reclaimAfter).toBeGreaterThan(Date.now() / 1000 + 86_000);
    const prepare = server.calls.filter((c) => c.path === "wallet/prepare").at(-1).body;
    expect(prepare).toEqual({ public_key: await wallet.publicKey(), kind: "channel_close", channel_id: CHANNEL_IDS[0] });
    expect((await strandedChannels(store))[0].reclaimAfter).toBe(first.reclaimAfter);
    // after it: the close deletes the channel, and it is forgotten
    server.state.channels.get(CHANNEL_IDS[0]).status = "open";
    server.state.closeDeletes = true;
    expect(await closeStrandedChannel(ctx, { channelId: CHANNEL_IDS[0] })).toEqual({ deleted: true, reclaimAfter: null });
    expect(await strandedChannels(store)).toEqual([]);
  });

  it("refuses to sign a close that pays anyone or closes another channel", async () => {
    await openChannel(ctx, { amountDrops: 1_000_000n });
    for (const tamper of [
      (tx) => ({ ...tx, Balance: "1000000" }),
      (tx) => ({ ...tx, Amount: "1000000" }),
      (tx) => ({ ...tx, PublicKey: ctx.claimPublicKey }),
      (tx) => ({ ...tx, Flags: 0x00010000 }),
      (tx) => ({ ...tx, Channel: "EF".repeat(32) }),
    ]) {
      server.state.tamper = tamper;
      await expect(closeChannel(ctx, { channelId: CHANNEL_IDS[0] })).rejects.toMatchObject({ code: "prepared_mismatch" });
    }
    expect(paths().filter((p) => p === "POST wallet/submit")).toHaveLength(1); // the create only
  });

  it("tops up and closes the reader's channel", async () => {
    await openChannel(ctx, { amountDrops: 1_000_000n });
    const channelId = CHANNEL_IDS[0];
    server.state.tamper = (tx) => ({ ...tx, Amount: "5000000" });
    await expect(topUpChannel(ctx, { channelId, amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    server.state.tamper = null;
    const topped = await topUpChannel(ctx, { channelId, amountDrops: 1_000_000n });
    expect(topped.fundedDrops).toBe(2_000_000n);
    expect(server.calls.filter((c) => c.path === "wallet/prepare").at(-1).body).toEqual({
      public_key: await wallet.publicKey(),
      kind: "channel_fund",
      amount_drops: "1000000",
      channel_id: channelId,
    });
    const closed = await closeChannel(ctx, { channelId });
    expect(closed.status).toBe("closing");
    expect(server.calls.filter((c) => c.path === "wallet/prepare").at(-1).body).toEqual({
      public_key: await wallet.publicKey(),
      kind: "channel_close",
      channel_id: channelId,
    });
  });

  it("views channels as numbers for the page", () => {
    const CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3";
    expect(channelView({ channelId: CHANNEL, fundedDrops: 1_000_000n, acceptedDrops: 350_000n, status: "open" })).toEqual({
      channelId: CHANNEL,
      fundedDrops: 1_000_000,
      spentDrops: 350_000,
      remainingDrops: 650_000,
      status: "open",
    });
    expect(channelView(null)).toBeNull();
  });
});
