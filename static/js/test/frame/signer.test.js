import { beforeEach, describe, expect, it } from "vitest";
import { createApi } from "../../src/frame/api.js";
import { createKeyring } from "../../src/frame/keys.js";
import { createLock } from "../../src/frame/lock.js";
import { createMeter } from "../../src/frame/meter.js";
import { PENDING_KEY } from "../../src/frame/channel.js";
import { CONFIRM_ABOVE_DROPS, createSigner } from "../../src/frame/signer.js";
import { memoryStore } from "../../src/frame/store.js";
import { createTransport } from "../../src/frame/transport.js";
import { createSandboxWallet } from "../../src/frame/wallet/sandbox.js";
import { errorBody } from "../helpers.js";
import { BASE, CHANNEL_IDS, FRAME_CONFIG, createFakeServer } from "../fakeServer.js";

/** A UI double: answers confirmations from a script and records what it was asked. */
function scriptedUI(answers = []) {
  const asked = [];
  return {
    asked,
    answers,
    statuses: [],
    async confirm(options) {
      asked.push(options);
      if (!answers.length) throw new Error(`unexpected confirmation: ${options.title}`);
      return answers.shift();
    },
    async settings(summary) {
      asked.push({ title: "settings", summary });
      return answers.shift();
    },
    hold: (work) => work(),
    busy: (_, work) => work(),
    renderStatus(s) {
      this.statuses.push(s);
    },
  };
}

function setup({ answers = [true], server = createFakeServer(), store = memoryStore() } = {}) {
  const getToken = async () => (await store.get("reader"))?.token ?? null;
  const api = createApi({ base: BASE, fetch: server.fetch, getToken });
  const keyring = createKeyring({ store });
  const ui = scriptedUI(answers);
  const events = [];
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
    emit: (m) => events.push(m),
    sleep: async () => undefined,
    newId: (() => {
      let n = 0;
      return () => `idem-${++n}`;
    })(),
  });
  return { signer, server, ui, events, store, keyring };
}

const paths = (calls) => calls.map((c) => `${c.method} ${c.path}`);

describe("unlock", () => {
  let t;
  beforeEach(() => {
    t = setup();
  });

  it("first time: registers, asks once, opens a channel, pays the server's price, returns the content", async () => {
    const result = await t.signer.unlock("x");
    expect(result).toEqual({ article: "x", amountDrops: 200_000, html: "<p>x body</p>" });
    expect(paths(t.server.calls)).toEqual([
      "GET readers/challenge",
      "POST readers",
      "POST unlocks",
      "POST readers/me/tax-preview",
      "GET readers/me/consent",
      "POST wallet/faucet",
      "POST wallet/prepare",
      "POST wallet/submit",
      "POST channels",
      "POST unlocks",
      "GET content/pub_a/x",
    ]);
    expect(t.server.state.claimKey).toBe(await t.keyring.publicKeyHex("claim"));
    expect(t.ui.asked).toHaveLength(1);
    expect(t.ui.asked[0].title).toMatch(/Open a payment channel/);
    expect(t.server.state.accepted).toEqual([expect.objectContaining({ channel_id: CHANNEL_IDS[0], amount_drops: "200000" })]);
    const claimCall = t.server.calls.filter((c) => c.path === "unlocks")[1];
    expect(claimCall.headers["Idempotency-Key"]).toBe("idem-1");
    expect(t.events.at(-1)).toEqual({
      type: "channel",
      channel: { channelId: CHANNEL_IDS[0], fundedDrops: 1_000_000, spentDrops: 200_000, remainingDrops: 800_000, status: "open" },
    });
  });

  it("then pays cumulative claims without asking again", async () => {
    await t.signer.unlock("x");
    const second = await t.signer.unlock("y");
    expect(second.amountDrops).toBe(150_000);
    expect(t.ui.asked).toHaveLength(1);
    expect(t.server.state.accepted.map((c) => c.amount_drops)).toEqual(["200000", "350000"]);
    expect(t.server.calls.filter((c) => c.path === "readers")).toHaveLength(1);
  });

  it("re-enters a paid article at 0 without a claim", async () => {
    await t.signer.unlock("x");
    const before = t.server.state.accepted.length;
    expect(await t.signer.unlock("x")).toEqual({ article: "x", amountDrops: 0, html: "<p>x body</p>" });
    expect(t.server.state.accepted).toHaveLength(before);
  });

  it("cancelled in the frame: nothing is signed, no wallet call", async () => {
    t = setup({ answers: [false] });
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "cancelled" });
    expect(paths(t.server.calls)).toEqual([
      "GET readers/challenge",
      "POST readers",
      "POST unlocks",
      "POST readers/me/tax-preview",
      "GET readers/me/consent",
    ]);
  });

  it("over the cap: refused before any channel work or signature", async () => {
    await t.signer.unlock("x");
    await t.store.update("meter", (rec) => ({ ...rec, capDrops: 300_000n }));
    const before = t.server.calls.length;
    await expect(t.signer.unlock("y")).rejects.toMatchObject({ code: "cap_exceeded" });
    expect(paths(t.server.calls.slice(before))).toEqual(["POST unlocks"]); // the price query only
    expect(t.server.state.accepted).toHaveLength(1);
  });

  it("checks the cap before offering to open a channel", async () => {
    await t.store.set("meter", { capDrops: 100_000n, channels: {} });
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "cap_exceeded" });
    expect(t.ui.asked).toHaveLength(0);
  });

  it("tops up (after a click) when the channel has too little left", async () => {
    t = setup({ answers: [true, true] });
    await t.store.set("meter", { capDrops: 10_000_000n, channels: {} });
    for (const a of ["x", "y", "z"]) await t.signer.unlock(a); // 200k + 150k + 150k = 500k of 1M
    const server = t.server;
    // another 600k article does not fit in the 500k left
    server.routes["POST unlocks"] = ((orig) => async (call, calls) => {
      if (call.body.article === "w" && !call.body.claim) return [402, errorBody("payment_required", "", { price_drops: "600000" })];
      if (call.body.article === "w") {
        const ch = server.state.channels.get(call.body.claim.channel_id);
        ch.accepted = BigInt(call.body.claim.amount_drops);
        return [201, { article: "w", grant: "grant-w", amount_drops: "600000", content_url: `${BASE}content/pub_a/w`, grant_expires_at: "t" }];
      }
      return orig(call, calls);
    })(server.routes["POST unlocks"]);
    const result = await t.signer.unlock("w");
    expect(result.amountDrops).toBe(600_000);
    expect(t.ui.asked[1].title).toMatch(/Top up/);
    const fund = t.server.calls.filter((c) => c.path === "wallet/prepare").at(-1).body;
    expect(fund).toMatchObject({ kind: "channel_fund", amount_drops: "1000000", channel_id: CHANNEL_IDS[0] });
  });

  it("declining the top-up blocks with channel_exhausted", async () => {
    t = setup({ answers: [true, false] });
    await t.signer.unlock("x");
    t.server.state.channels.get(CHANNEL_IDS[0]).funded = 300_000n;
    await t.signer.status(); // the frame learns the channel has 100k left
    await expect(t.signer.unlock("y")).rejects.toMatchObject({ code: "channel_exhausted" });
    expect(t.server.state.accepted).toHaveLength(1);
  });

  it("asks for a confirmation above the price threshold even with a funded channel", async () => {
    t = setup({ answers: [true, false, true] });
    await t.store.set("meter", { capDrops: 100_000_000n, channels: {} });
    await t.signer.unlock("x");
    t.server.state.channels.get(CHANNEL_IDS[0]).funded = 10_000_000n;
    await t.signer.status();
    expect(2_000_000n > CONFIRM_ABOVE_DROPS).toBe(true);
    await expect(t.signer.unlock("big")).rejects.toMatchObject({ code: "cancelled" });
    expect(t.ui.asked[1].title).toMatch(/Confirm this payment/);
    expect((await t.signer.unlock("big")).amountDrops).toBe(2_000_000);
  });

  it("re-reads the channel and retries when the server has a newer view (claim_stale)", async () => {
    await t.signer.unlock("x");
    t.server.state.channels.get(CHANNEL_IDS[0]).accepted = 250_000n; // paid elsewhere meanwhile
    const result = await t.signer.unlock("y");
    expect(result.amountDrops).toBe(150_000);
    expect(t.server.state.accepted.at(-1).amount_drops).toBe("400000");
  });

  it("a lost answer after the server accepted: the reservation is kept, then reconciled", async () => {
    await t.signer.unlock("x");
    t.server.state.failNextUnlockWithClaim = { acceptFirst: true, response: [500, errorBody("server_error")] };
    await expect(t.signer.unlock("y")).rejects.toMatchObject({ status: 500 });
    // the next try re-reads the channel, sees the claim was accepted, and re-enters
    const again = await t.signer.unlock("y");
    expect(again).toEqual({ article: "y", amountDrops: 0, html: "<p>y body</p>" });
    const third = await t.signer.unlock("z");
    expect(third.amountDrops).toBe(150_000);
    expect(t.server.state.accepted.map((c) => c.amount_drops)).toEqual(["200000", "350000", "500000"]);
  });

  it("a definite refusal releases the reservation", async () => {
    await t.signer.unlock("x");
    t.server.state.failNextUnlockWithClaim = { response: [403, errorBody("risk_blocked", "Refused by risk checks.")] };
    await expect(t.signer.unlock("y")).rejects.toMatchObject({ code: "risk_blocked" });
    expect((await t.signer.unlock("y")).amountDrops).toBe(150_000);
    expect(t.server.state.accepted.at(-1).amount_drops).toBe("350000");
  });

  it("never sends the grant to another origin", async () => {
    const orig = t.server.routes["POST unlocks"];
    t.server.routes["POST unlocks"] = async (call, calls) => {
      const out = await orig(call, calls);
      if (out[0] < 300) out[1] = { ...out[1], content_url: "https://evil.example/steal" };
      return out;
    };
    await t.signer.unlock("x");
    const content = t.server.calls.find((c) => c.path.startsWith("content/") || c.url.includes("evil"));
    expect(content.url).toBe(`${BASE}content/pub_a/x`);
  });

  it("runs unlocks one at a time", async () => {
    t = setup({ answers: [true] });
    const [a, b] = await Promise.all([t.signer.unlock("x"), t.signer.unlock("y")]);
    expect([a.amountDrops, b.amountDrops]).toEqual([200_000, 150_000]);
    expect(t.ui.asked).toHaveLength(1); // one channel, not two
    expect(t.server.state.channels.size).toBe(1);
    expect(t.server.calls.filter((c) => c.path === "readers")).toHaveLength(1);
  });
});

describe("restore", () => {
  it("no reader yet: nothing to restore, and the server is not asked", async () => {
    const t = setup();
    expect(await t.signer.restore(["x", "y"])).toEqual({ unlocked: [] });
    expect(t.server.calls).toHaveLength(0);
  });

  it("returns the content of the articles the reader paid before, charging and signing nothing", async () => {
    const t = setup();
    await t.signer.unlock("x");
    await t.signer.unlock("y");
    const accepted = t.server.state.accepted.length;
    const before = t.server.calls.length;
    const result = await t.signer.restore(["z", "y", "x"]);
    expect(result).toEqual({
      unlocked: [
        { article: "y", html: "<p>y body</p>" },
        { article: "x", html: "<p>x body</p>" },
      ],
    });
    const calls = t.server.calls.slice(before);
    expect(paths(calls)).toEqual(["POST unlocks/restore", "GET content/pub_a/y", "GET content/pub_a/x"]);
    expect(calls[0].body).toEqual({ articles: ["z", "y", "x"] });
    expect(calls[0].headers.Authorization).toBe("Reader rdt_test_1");
    expect(calls[1].headers.Authorization).toBe("Bearer grant-y");
    expect(t.server.state.accepted).toHaveLength(accepted);
    expect(t.ui.asked).toHaveLength(1); // only the first unlock's channel confirmation
  });

  it("keeps only what it asked for, once, and never sends a grant to another origin", async () => {
    const t = setup();
    await t.signer.unlock("x");
    t.server.routes["POST unlocks/restore"] = () => [
      200,
      {
        unlocked: [
          { article: "x", grant: "grant-x", content_url: "https://evil.example/steal" },
          { article: "x", grant: "grant-x", content_url: `${BASE}content/pub_a/x` },
          { article: "not-asked", grant: "grant-not-asked", content_url: `${BASE}content/pub_a/not-asked` },
          { article: "y", content_url: `${BASE}content/pub_a/y` }, // no grant: left out
          null,
        ],
      },
    ];
    const before = t.server.calls.length;
    expect(await t.signer.restore(["x", "y"])).toEqual({ unlocked: [{ article: "x", html: "<p>x body</p>" }] });
    const fetched = t.server.calls.slice(before).filter((c) => c.method === "GET");
    expect(fetched.map((c) => c.url)).toEqual([`${BASE}content/pub_a/x`]);
  });

  it("a content that cannot be fetched stays locked; a refused restore is an error", async () => {
    const t = setup();
    await t.signer.unlock("x");
    await t.signer.unlock("y");
    t.server.routes["GET content/pub_a/y"] = [401, errorBody("grant_invalid")];
    expect(await t.signer.restore(["x", "y"])).toEqual({ unlocked: [{ article: "x", html: "<p>x body</p>" }] });
    t.server.routes["POST unlocks/restore"] = [403, errorBody("origin_not_allowed")];
    await expect(t.signer.restore(["x"])).rejects.toMatchObject({ code: "origin_not_allowed" });
  });
});

describe("hello, status, cap, top-up, close", () => {
  it("hello before anything: no reader, no channel, the default cap", async () => {
    const t = setup();
    expect(await t.signer.hello()).toEqual({ reader: false, channel: null, capDrops: 2_000_000 });
    expect(t.server.calls).toHaveLength(0);
  });

  it("status after an unlock reports the server's channel", async () => {
    const t = setup();
    await t.signer.unlock("x");
    const status = await t.signer.status();
    expect(status).toEqual({
      channel: { channelId: CHANNEL_IDS[0], fundedDrops: 1_000_000, spentDrops: 200_000, remainingDrops: 800_000, status: "open" },
      capDrops: 2_000_000,
      spentDrops: 200_000,
    });
    expect((await t.signer.hello()).reader).toBe(true);
  });

  it("setCap takes the reader's value from the frame's form", async () => {
    const t = setup({ answers: [{ action: "save", capDrops: 5_000_000n }] });
    expect(await t.signer.setCap()).toEqual({ capDrops: 5_000_000, channel: null });
    expect((await t.signer.status()).capDrops).toBe(5_000_000);
    const cancelled = setup({ answers: [null] });
    await expect(cancelled.signer.setCap()).rejects.toMatchObject({ code: "cancelled" });
  });

  it("topUp and closeChannel need a click; a new channel is opened after a close", async () => {
    const t = setup({ answers: [true, true, true, true] });
    await expect(setup().signer.topUp()).rejects.toMatchObject({ code: "channel_not_found" });
    await t.signer.unlock("x");
    const topped = await t.signer.topUp();
    expect(topped.fundedDrops).toBe(2_000_000);
    const closed = await t.signer.closeChannel();
    expect(closed.status).toBe("closing");
    expect(t.ui.asked.map((a) => a.title)).toEqual([
      expect.stringMatching(/Open/),
      expect.stringMatching(/Top up/),
      expect.stringMatching(/Close/),
    ]);
    const next = await t.signer.unlock("y");
    expect(next.amountDrops).toBe(150_000);
    expect(t.server.state.channels.size).toBe(2);
    expect(t.server.state.accepted.at(-1)).toMatchObject({ channel_id: CHANNEL_IDS[1], amount_drops: "150000" });
    // spending on the closed channel still counts against the cap
    expect((await t.signer.status()).spentDrops).toBe(350_000);
  });

  it("declined top-up or close is cancelled and changes nothing", async () => {
    const t = setup({ answers: [true, false, false] });
    await t.signer.unlock("x");
    const before = t.server.calls.length;
    await expect(t.signer.topUp()).rejects.toMatchObject({ code: "cancelled" });
    await expect(t.signer.closeChannel()).rejects.toMatchObject({ code: "cancelled" });
    expect(t.server.calls.slice(before).some((c) => c.path.startsWith("wallet/"))).toBe(false);
  });
});

describe("telemetry session and risk refusals", () => {
  const SESSION = "tls_abcdefghijklmnopqrstuvwxyz";

  it("names the page's telemetry session in every unlock request", async () => {
    const t = setup();
    await t.signer.unlock("x", { telemetrySession: SESSION });
    const unlocks = t.server.calls.filter((c) => c.path === "unlocks");
    expect(unlocks).toHaveLength(2);
    for (const call of unlocks) expect(call.body.telemetry_session).toBe(SESSION);
    await t.signer.unlock("y");
    expect(t.server.calls.filter((c) => c.path === "unlocks").at(-1).body.telemetry_session).toBe("");
  });

  it("a risk_challenge on the claim releases the reservation and passes the challenge up", async () => {
    const t = setup();
    const challenge = { id: "chl_1", kind: "press_hold", hold_ms: 800 };
    const original = t.server.routes["POST unlocks"];
    let refused = 0;
    t.server.routes["POST unlocks"] = (call, calls) => {
      if (call.body.claim && refused === 0) {
        refused++;
        return [403, errorBody("risk_challenge", "Hold.", { challenge })];
      }
      return original(call, calls);
    };
    await expect(t.signer.unlock("x", { telemetrySession: SESSION })).rejects.toMatchObject({
      code: "risk_challenge",
      details: { challenge },
    });
    expect(t.server.state.accepted).toEqual([]);
    // the retry after a passed challenge signs the same cumulative amount again
    const again = await t.signer.unlock("x", { telemetrySession: SESSION });
    expect(again.amountDrops).toBe(200_000);
    expect(t.server.state.accepted).toEqual([expect.objectContaining({ amount_drops: "200000" })]);
  });
});

describe("registration proves the claim key", () => {
  it("signs the server's challenge with the claim key (DGREG), and the server verifies it", async () => {
    const t = setup();
    await t.signer.unlock("x");
    const [challenge, created] = t.server.calls.slice(0, 2);
    expect(`${challenge.method} ${challenge.path}`).toBe("GET readers/challenge");
    expect(challenge.headers["X-Dropgate-Publisher"]).toBe("pub_a");
    expect(created.body).toEqual({
      claim_public_key: await t.keyring.publicKeyHex("claim"),
      challenge: expect.stringMatching(/^rch_/),
      proof: expect.stringMatching(/^[0-9A-F]{128}$/),
    });
  });

  it("asks for a fresh challenge once when the first was used or expired", async () => {
    const t = setup();
    const original = t.server.routes["POST readers"];
    let refused = 0;
    t.server.routes["POST readers"] = (call, calls) =>
      refused++ === 0 ? [409, errorBody("registration_challenge_used")] : original(call, calls);
    await t.signer.unlock("x");
    expect(paths(t.server.calls).slice(0, 4)).toEqual([
      "GET readers/challenge",
      "POST readers",
      "GET readers/challenge",
      "POST readers",
    ]);
  });

  it("a refused proof is an error, and no reader is kept", async () => {
    const t = setup();
    t.server.routes["POST readers"] = [422, errorBody("claim_key_proof_invalid")];
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "claim_key_proof_invalid" });
    expect(await t.store.get("reader")).toBeUndefined();
  });
});

describe("a pending channel is never forgotten", () => {
  const creates = (t) => t.server.calls.filter((c) => c.path === "wallet/prepare" && c.body.kind === "channel_create");

  it("202 for longer than the frame waits: the unlock stops with channel_pending, and no second channel is opened", async () => {
    const t = setup({ answers: [true] });
    t.server.state.submit = "pending";
    t.server.state.validateAfterPolls = 10_000;
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "channel_pending" });
    expect(await t.store.get(PENDING_KEY)).toMatchObject({ amountDrops: "1000000" });
    // the next click: still pending, so no new confirmation and no second deposit
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "channel_pending" });
    expect(creates(t)).toHaveLength(1);
    expect(t.ui.asked).toHaveLength(1);
    // once the ledger validated it, the next unlock registers it and pays from it
    t.server.state.validateAfterPolls = 0;
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "channel_pending" }); // validated just now
    const paid = await t.signer.unlock("x");
    expect(paid.amountDrops).toBe(200_000);
    expect(creates(t)).toHaveLength(1);
    expect(t.server.state.accepted).toEqual([expect.objectContaining({ channel_id: CHANNEL_IDS[0] })]);
    expect(await t.store.get(PENDING_KEY)).toBeUndefined();
  });

  it("hello resumes it in the background and tells the page", async () => {
    const t = setup({ answers: [true] });
    t.server.state.submit = "lost"; // applied, but the answer never came
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "network_error" });
    expect(await t.store.get("channel")).toBeUndefined();
    const hello = await t.signer.hello();
    expect(hello.reader).toBe(true);
    for (let i = 0; i < 50 && !(await t.store.get("channel")); i++) await new Promise((r) => setTimeout(r, 1));
    expect(await t.store.get("channel")).toBe(CHANNEL_IDS[0]);
    expect(t.events.at(-1)).toMatchObject({ type: "channel", channel: { channelId: CHANNEL_IDS[0], status: "open" } });
    // and the unlock pays from it without asking again
    expect((await t.signer.unlock("x")).amountDrops).toBe(200_000);
    expect(creates(t)).toHaveLength(1);
  });

  it("a channel the site refuses is offered for recovery in the reading wallet, and closeChannel recovers it", async () => {
    const t = setup({ answers: [true] });
    t.server.state.submit = "lost";
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "network_error" });
    t.server.state.channels.get(CHANNEL_IDS[0]).owner = "rdt_attacker";
    // the next unlock finds it stranded and opens a new channel (after a click)
    t.server.state.submit = "validated";
    t.ui.answers.push(true);
    expect((await t.signer.unlock("x")).amountDrops).toBe(200_000);
    expect(creates(t)).toHaveLength(2);
    const s = await t.signer.status();
    expect(s.channel.channelId).toBe(CHANNEL_IDS[1]);
    // the reading wallet lists it and recovers it by its source's close
    t.ui.answers.push({ action: "recover" }, true);
    await t.signer.setCap();
    const settings = t.ui.asked.find((a) => a.title === "settings");
    expect(settings.summary.stranded).toEqual([expect.objectContaining({ channelId: CHANNEL_IDS[0], reason: "channel_taken" })]);
    expect(t.ui.asked.at(-1).title).toMatch(/Recover the deposit/);
    const close = t.server.calls.filter((c) => c.path === "wallet/prepare").at(-1).body;
    expect(close).toMatchObject({ kind: "channel_close", channel_id: CHANNEL_IDS[0] });
    expect(t.server.state.channels.get(CHANNEL_IDS[0]).status).toBe("closing");
  });
});
