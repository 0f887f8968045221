import { describe, expect, it } from "vitest";
import { createApi } from "../../src/frame/api.js";
import { createKeyring, rotationMessage } from "../../src/frame/keys.js";
import { createLock } from "../../src/frame/lock.js";
import { createMeter } from "../../src/frame/meter.js";
import { createSigner } from "../../src/frame/signer.js";
import { memoryStore } from "../../src/frame/store.js";
import { createTransport } from "../../src/frame/transport.js";
import { createSandboxWallet } from "../../src/frame/wallet/sandbox.js";
import { bytesToHex } from "../../src/shared/bytes.js";
import { BASE, CHANNEL_IDS, FRAME_CONFIG, createFakeServer } from "../fakeServer.js";

function setup({ answers = [] } = {}) {
  const server = createFakeServer();
  const store = memoryStore();
  const getToken = async () => (await store.get("reader"))?.token ?? null;
  const api = createApi({ base: BASE, fetch: server.fetch, getToken });
  const keyring = createKeyring({ store });
  const asked = [];
  const ui = {
    async confirm(options) {
      asked.push(options.title);
      if (!answers.length) throw new Error(`unexpected confirmation: ${options.title}`);
      return answers.shift();
    },
    hold: (work) => work(),
    busy: (_, work) => work(),
    renderStatus() {},
  };
  const signer = createSigner({
    publisher: "pub_a",
    config: FRAME_CONFIG,
    api,
    store,
    keyring,
    wallet: createSandboxWallet({ keyring }),
    meter: createMeter({ store }),
    transport: createTransport({ wsUrl: null, publisher: "pub_a", api, getToken }),
    ui,
    lock: createLock("test", { locks: null }),
    emit: () => undefined,
  });
  return { signer, server, store, keyring, asked };
}

describe("rotation message", () => {
  it("is DGROT\\0, the reader id, \\0, then the key's 33 bytes", () => {
    const key = `ED${"AB".repeat(32)}`;
    const bytes = rotationMessage("rdr_1", key);
    expect(bytesToHex(bytes)).toBe(`4447524F5400${bytesToHex(new TextEncoder().encode("rdr_1"))}00${key}`);
    expect(() => rotationMessage("someone", key)).toThrow(TypeError);
    expect(() => rotationMessage("rdr_1", "ED00")).toThrow(TypeError);
  });
});

describe("rotateClaimKey", () => {
  it("proves a new non-extractable key, retires the channel, and the next unlock opens one for the new key", async () => {
    const t = setup({ answers: [true, true] });
    await t.signer.unlock("x");
    const oldKey = await t.keyring.publicKeyHex("claim");

    const result = await t.signer.rotateClaimKey();

    const newKey = await t.keyring.publicKeyHex("claim");
    expect(newKey).not.toBe(oldKey);
    expect(result).toEqual({ claimPublicKey: newKey, closingChannels: [CHANNEL_IDS[0]] });
    expect(t.server.state.claimKey).toBe(newKey); // the fake checked the proof
    const call = t.server.calls.find((c) => c.path === "readers/me/claim-key");
    expect(call.headers.Authorization).toBe("Reader rdt_test_1");
    expect((await t.keyring.keyPair("claim")).privateKey.extractable).toBe(false);
    expect(await t.store.get("key:claim:next")).toBeUndefined();
    expect((await t.store.get("reader")).claimPublicKey).toBe(newKey);
    expect(await t.store.get("channel")).toBeUndefined();

    const paid = await t.signer.unlock("y");
    expect(paid.amountDrops).toBe(150_000);
    expect(t.asked).toHaveLength(2); // the second is the new channel's confirmation
    expect(t.server.state.accepted.map((c) => c.channel_id)).toEqual([CHANNEL_IDS[0], CHANNEL_IDS[1]]);
    expect(t.server.state.channels.get(CHANNEL_IDS[1]).key).toBe(newKey);
  });

  it("a refused rotation keeps the current key and the channel", async () => {
    const t = setup({ answers: [true] });
    await t.signer.unlock("x");
    const oldKey = await t.keyring.publicKeyHex("claim");
    t.server.routes["POST readers/me/claim-key"] = () => [422, { error: { code: "claim_key_proof_invalid", message: "no" } }];

    await expect(t.signer.rotateClaimKey()).rejects.toMatchObject({ code: "claim_key_proof_invalid" });

    expect(await t.keyring.publicKeyHex("claim")).toBe(oldKey);
    expect(await t.store.get("channel")).toBe(CHANNEL_IDS[0]);
    expect(await t.store.get("key:claim:next")).toBeDefined(); // retried with the same next key
  });

  it("a retry after a lost answer proves the same next key", async () => {
    const t = setup();
    const first = await t.keyring.nextClaimKeyProof("rdr_1");
    const again = await t.keyring.nextClaimKeyProof("rdr_1");
    expect(again.publicKey).toBe(first.publicKey);
    expect(first.publicKey).not.toBe(await t.keyring.publicKeyHex("claim"));
  });

  it("without a reader there is nothing to rotate", async () => {
    const t = setup();
    await expect(t.signer.rotateClaimKey()).rejects.toMatchObject({ code: "reader_not_registered" });
    expect(t.server.calls).toHaveLength(0);
  });
});

describe("replaceClaimKey (the wallet menu's request)", () => {
  it("asks the reader first, then rotates", async () => {
    const t = setup({ answers: [true, true] });
    await t.signer.unlock("x");
    const oldKey = await t.keyring.publicKeyHex("claim");

    const result = await t.signer.replaceClaimKey();

    expect(t.asked.at(-1)).toBe("Replace your claim key?");
    expect(result.claimPublicKey).toBe(await t.keyring.publicKeyHex("claim"));
    expect(result.claimPublicKey).not.toBe(oldKey);
  });

  it("cancelled, nothing is sent and the key stays", async () => {
    const t = setup({ answers: [true, false] });
    await t.signer.unlock("x");
    const oldKey = await t.keyring.publicKeyHex("claim");

    await expect(t.signer.replaceClaimKey()).rejects.toMatchObject({ code: "cancelled" });

    expect(await t.keyring.publicKeyHex("claim")).toBe(oldKey);
    expect(t.server.calls.some((c) => c.path === "readers/me/claim-key")).toBe(false);
  });
});

describe("a retired channel", () => {
  it("is forgotten and a new channel is opened and paid", async () => {
    const t = setup({ answers: [true, true] });
    await t.signer.unlock("x");
    // another tab rotated the key: the server now refuses claims on this channel
    t.server.state.channels.get(CHANNEL_IDS[0]).key = `ED${"00".repeat(32)}`;

    const paid = await t.signer.unlock("y");

    expect(paid.amountDrops).toBe(150_000);
    expect(await t.store.get("channel")).toBe(CHANNEL_IDS[1]);
    expect(t.server.state.accepted.map((c) => c.channel_id)).toEqual([CHANNEL_IDS[0], CHANNEL_IDS[1]]);
  });
});
