import { beforeEach, describe, expect, it } from "vitest";
import { createApi } from "../../src/frame/api.js";
import { channelView, closeChannel, fundFromFaucet, openChannel, topUpChannel } from "../../src/frame/channel.js";
import { createKeyring } from "../../src/frame/keys.js";
import { memoryStore } from "../../src/frame/store.js";
import { assertWallet, createSandboxWallet, selectWallet } from "../../src/frame/wallet/index.js";
import { hexToBytes } from "../../src/shared/bytes.js";
import { errorBody, fakeFetch } from "../helpers.js";

const BASE = "https://pay.example/api/v1/";
const CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3";
const BLOB = "535458001200102400000001";

function channelOut(over = {}) {
  return {
    channel_id: CHANNEL,
    status: "open",
    funded_drops: "1000000",
    accepted_drops: "0",
    remaining_drops: "1000000",
    redeemed_drops: "0",
    settle_delay: 3600,
    expiration: null,
    cancel_after: null,
    source_address: "r",
    ...over,
  };
}

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
  let store;
  let wallet;
  let address;
  let routes;
  let calls;
  let api;

  beforeEach(async () => {
    store = memoryStore();
    wallet = createSandboxWallet({ keyring: createKeyring({ store }) });
    address = await wallet.address();
    routes = {
      "POST wallet/faucet": [200, { address, funded_drops: "100000000", tx_hash: "F1" }],
      "POST wallet/prepare": ({ body }) => [
        200,
        {
          prepared_id: "prep_1",
          signing_blob: BLOB,
          address,
          tx_json: {
            TransactionType: { channel_create: "PaymentChannelCreate", channel_fund: "PaymentChannelFund", channel_close: "PaymentChannelClaim" }[body.kind],
            Account: address,
            ...(body.amount_drops ? { Amount: body.amount_drops } : {}),
            ...(body.channel_id ? { Channel: body.channel_id } : {}),
          },
        },
      ],
      "POST wallet/submit": [200, { tx_hash: "T1", result: "tesSUCCESS", validated: true, channel_id: CHANNEL }],
      "POST channels": [200, channelOut()],
      [`GET channels/${CHANNEL}`]: [200, channelOut({ funded_drops: "2000000", remaining_drops: "2000000" })],
    };
    const fake = fakeFetch(new Proxy(routes, {}));
    calls = fake.calls;
    api = createApi({ base: BASE, fetch: fake.fetch, getToken: async () => "rdt_1" });
  });

  it("opens: faucet once, prepare, sign, submit, register", async () => {
    const record = await openChannel({ api, wallet, store, amountDrops: 1_000_000n });
    expect(record).toEqual({ channelId: CHANNEL, fundedDrops: 1_000_000n, acceptedDrops: 0n, status: "open" });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST wallet/faucet",
      "POST wallet/prepare",
      "POST wallet/submit",
      "POST channels",
    ]);
    const [faucet, prepare, submit, register] = calls;
    expect(faucet.body).toEqual({ public_key: await wallet.publicKey() });
    expect(prepare.body).toEqual({ public_key: await wallet.publicKey(), kind: "channel_create", amount_drops: "1000000" });
    expect(submit.body.prepared_id).toBe("prep_1");
    expect(submit.body.signature).toMatch(/^[0-9A-F]{128}$/);
    expect(register.body).toEqual({ channel_id: CHANNEL });
    for (const c of calls) expect(c.headers.Authorization).toBe("Reader rdt_1");

    await openChannel({ api, wallet, store, amountDrops: 1_000_000n });
    expect(calls.filter((c) => c.path === "wallet/faucet")).toHaveLength(1);
  });

  it("goes on without a faucet where it is disabled", async () => {
    routes["POST wallet/faucet"] = [403, errorBody("faucet_disabled")];
    expect(await fundFromFaucet({ api, wallet, store })).toBeNull();
    await openChannel({ api, wallet, store, amountDrops: 1_000_000n });
    expect(calls.filter((c) => c.path === "wallet/faucet")).toHaveLength(1);
  });

  it("refuses to sign a prepared transaction that is not the one asked for", async () => {
    routes["POST wallet/prepare"] = [
      200,
      { prepared_id: "p", signing_blob: BLOB, address, tx_json: { TransactionType: "Payment", Account: address, Amount: "1000000" } },
    ];
    await expect(openChannel({ api, wallet, store, amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    expect(calls.some((c) => c.path === "wallet/submit")).toBe(false);

    routes["POST wallet/prepare"] = [
      200,
      { prepared_id: "p", signing_blob: BLOB, address, tx_json: { TransactionType: "PaymentChannelCreate", Account: address, Amount: "99000000" } },
    ];
    await expect(openChannel({ api, wallet, store, amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    routes["POST wallet/prepare"] = [200, { prepared_id: "p", signing_blob: BLOB, address: "rSomeoneElse" }];
    await expect(openChannel({ api, wallet, store, amountDrops: 1_000_000n })).rejects.toMatchObject({ code: "prepared_mismatch" });
    expect(calls.some((c) => c.path === "wallet/submit")).toBe(false);
  });

  it("reports a transaction the ledger did not apply", async () => {
    routes["POST wallet/submit"] = [200, { tx_hash: "T", result: "tecUNFUNDED", validated: true }];
    const err = await openChannel({ api, wallet, store, amountDrops: 1_000_000n }).catch((e) => e);
    expect(err).toMatchObject({ code: "tx_failed", details: { result: "tecUNFUNDED" } });
    expect(err.message).toContain(address);
    expect(calls.some((c) => c.path === "channels")).toBe(false);
  });

  it("tops up and closes the reader's channel", async () => {
    const topped = await topUpChannel({ api, wallet, channelId: CHANNEL, amountDrops: 1_000_000n });
    expect(topped.fundedDrops).toBe(2_000_000n);
    expect(calls.find((c) => c.path === "wallet/prepare").body).toEqual({
      public_key: await wallet.publicKey(),
      kind: "channel_fund",
      amount_drops: "1000000",
      channel_id: CHANNEL,
    });
    routes[`GET channels/${CHANNEL}`] = [200, channelOut({ status: "closing" })];
    const closed = await closeChannel({ api, wallet, channelId: CHANNEL });
    expect(closed.status).toBe("closing");
    expect(calls.filter((c) => c.path === "wallet/prepare").at(-1).body).toEqual({
      public_key: await wallet.publicKey(),
      kind: "channel_close",
      channel_id: CHANNEL,
    });
  });

  it("views channels as numbers for the page", () => {
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
