import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createKeyring, registrationMessage } from "../../src/frame/keys.js";
import { memoryStore, openIdbStore } from "../../src/frame/store.js";
import { bytesToHex, hexToBytes } from "../../src/shared/bytes.js";

describe("IndexedDB store", () => {
  it("gets, sets, deletes, and keeps publishers apart", async () => {
    const indexedDB = new IDBFactory();
    const a = await openIdbStore({ namespace: "pub_a", indexedDB });
    const b = await openIdbStore({ namespace: "pub_b", indexedDB });
    await a.set("reader", { token: "rdt_a" });
    expect(await a.get("reader")).toEqual({ token: "rdt_a" });
    expect(await b.get("reader")).toBeUndefined();
    await a.delete("reader");
    expect(await a.get("reader")).toBeUndefined();
  });

  it("putIfAbsent keeps the first value", async () => {
    const store = await openIdbStore({ namespace: "p", indexedDB: new IDBFactory() });
    expect(await store.putIfAbsent("k", 1)).toBe(1);
    expect(await store.putIfAbsent("k", 2)).toBe(1);
  });

  it("update is a read-modify-write; a throwing update changes nothing and rethrows", async () => {
    const store = await openIdbStore({ namespace: "p", indexedDB: new IDBFactory() });
    await store.set("n", 1n);
    expect(await store.update("n", (v) => v + 1n)).toBe(2n);
    const boom = new Error("refused");
    await expect(
      store.update("n", () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.get("n")).toBe(2n);
  });

  it("without IndexedDB it is an error, never a silent memory fallback", async () => {
    await expect(openIdbStore({ namespace: "p", indexedDB: null })).rejects.toMatchObject({ code: "storage_unavailable" });
  });
});

describe("keys", () => {
  it("are non-extractable Ed25519 CryptoKeys, persisted as such", async () => {
    const indexedDB = new IDBFactory();
    const store = await openIdbStore({ namespace: "pub_x", indexedDB });
    const keyring = createKeyring({ store });
    const pair = await keyring.keyPair("claim");
    expect(pair.privateKey).toBeInstanceOf(CryptoKey);
    expect(pair.privateKey.extractable).toBe(false);
    expect(pair.privateKey.algorithm.name).toBe("Ed25519");
    await expect(crypto.subtle.exportKey("pkcs8", pair.privateKey)).rejects.toThrow();

    // A new frame (new keyring, same database) gets the same key back from IndexedDB.
    const again = createKeyring({ store: await openIdbStore({ namespace: "pub_x", indexedDB }) });
    expect(await again.publicKeyHex("claim")).toBe(await keyring.publicKeyHex("claim"));
    const stored = await store.get("key:claim");
    expect(stored.privateKey).toBeInstanceOf(CryptoKey);
  });

  it("exports only the public key, as ED + 64 hex digits", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    expect(await keyring.publicKeyHex("claim")).toMatch(/^ED[0-9A-F]{64}$/);
  });

  it("keeps the claim key and the funding key apart", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    expect(await keyring.publicKeyHex("claim")).not.toBe(await keyring.publicKeyHex("funding"));
    await expect(keyring.keyPair("admin")).rejects.toThrow(TypeError);
  });

  it("makes one key even when asked twice at once", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    const [a, b] = await Promise.all([keyring.publicKeyHex("claim"), keyring.publicKeyHex("claim")]);
    expect(a).toBe(b);
  });

  it("two frames racing on one database end up with one key", async () => {
    const store = memoryStore();
    const [a, b] = await Promise.all([
      createKeyring({ store }).publicKeyHex("funding"),
      createKeyring({ store }).publicKeyHex("funding"),
    ]);
    expect(a).toBe(b);
  });

  it("signs verifiable Ed25519 signatures", async () => {
    const keyring = createKeyring({ store: memoryStore() });
    const data = new TextEncoder().encode("blob");
    const signature = await keyring.sign("funding", data);
    const pub = await crypto.subtle.importKey(
      "raw",
      hexToBytes((await keyring.publicKeyHex("funding")).slice(2)),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pub, hexToBytes(signature), data)).toBe(true);
  });
});

describe("registration message", () => {
  it("is DGREG\\0, the publisher, \\0, the challenge, \\0, then the key's 33 bytes", () => {
    const hex = bytesToHex;
    const key = `ED${"AB".repeat(32)}`;
    const challenge = `rch_1800000000_${"0f".repeat(16)}_${"a1".repeat(16)}`;
    const ascii = (text) => hex(new TextEncoder().encode(text));
    expect(hex(registrationMessage("pub_a", challenge, key))).toBe(`444752454700${ascii("pub_a")}00${ascii(challenge)}00${key}`);
    expect(() => registrationMessage("someone", challenge, key)).toThrow(TypeError);
    expect(() => registrationMessage("pub_a", "rch_1", key)).toThrow(TypeError);
    expect(() => registrationMessage("pub_a", challenge, "ED00")).toThrow(TypeError);
  });
});
