import { describe, expect, it } from "vitest";
import { createApi } from "../../src/frame/api.js";
import { CONSENT_KEY, formatRate, priceWithTax, receiptTaxLine, taxLabel } from "../../src/frame/compliance.js";
import { DECLARED_KEY, collectEvidence, languagesOf, timeZoneOf } from "../../src/frame/evidence.js";
import { checkFiling, disputeFacts, filingErrorText, messageLength, refundText } from "../../src/frame/disputes.js";
import { createKeyring } from "../../src/frame/keys.js";
import { createLock } from "../../src/frame/lock.js";
import { createMeter } from "../../src/frame/meter.js";
import { createSigner } from "../../src/frame/signer.js";
import { memoryStore } from "../../src/frame/store.js";
import { createTransport } from "../../src/frame/transport.js";
import { createSandboxWallet } from "../../src/frame/wallet/sandbox.js";
import { BASE, FRAME_CONFIG, createFakeServer } from "../fakeServer.js";

const BERLIN = { DateTimeFormat: () => ({ resolvedOptions: () => ({ timeZone: "Europe/Berlin" }) }) };
const NAV = { languages: ["de-DE", "de", "en"] };

/** A UI double: each dialog answers from a script and records what it was shown. */
function scriptedUI({ confirms = [], consents = [], countries = [], forms = [] } = {}) {
  const asked = [];
  return {
    asked,
    async confirm(options) {
      asked.push({ kind: "confirm", ...options });
      if (!confirms.length) throw new Error(`unexpected confirmation: ${options.title}`);
      return confirms.shift();
    },
    async consent(options) {
      asked.push({ kind: "consent", ...options });
      if (!consents.length) throw new Error("unexpected consent dialog");
      return consents.shift();
    },
    async country(options) {
      asked.push({ kind: "country", ...options });
      if (!countries.length) throw new Error("unexpected country dialog");
      return countries.shift();
    },
    async disputeForm(options) {
      asked.push({ kind: "dispute", article: options.article, reason: options.reason, message: options.message });
      const script = forms.shift();
      if (!script) throw new Error("unexpected dispute form");
      return script(options);
    },
    async disputes(options) {
      asked.push({ kind: "disputes", ...options });
      return null;
    },
    hold: (work) => work(),
    busy: (_, work) => work(),
    renderStatus() {},
  };
}

function setup(answers = {}) {
  const server = createFakeServer();
  const store = memoryStore();
  const getToken = async () => (await store.get("reader"))?.token ?? null;
  const api = createApi({ base: BASE, fetch: server.fetch, getToken });
  const keyring = createKeyring({ store });
  const ui = scriptedUI(answers);
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
    sleep: async () => undefined,
  });
  return { signer, server, ui, store };
}

const paths = (calls) => calls.map((c) => `${c.method} ${c.path}`);
const claims = (server) => server.calls.filter((c) => c.path === "unlocks" && c.body.claim).map((c) => c.body.claim);
const DE_VAT = { country: "DE", category: "standard", rate_percent: "19.000", net_drops: "168067", tax_drops: "31933", scheme: "EU-OSS" };

describe("evidence", () => {
  it("is the frame's time zone, languages and the declared country", async () => {
    const store = memoryStore();
    expect(await collectEvidence({ store, intl: BERLIN, navigator: NAV })).toEqual({
      country: null,
      region: null,
      timezone: "Europe/Berlin",
      languages: ["de-DE", "de", "en"],
    });
    await store.set(DECLARED_KEY, { country: "ca", region: "ca-on" });
    expect(await collectEvidence({ store, intl: BERLIN, navigator: NAV })).toMatchObject({ country: "CA", region: "CA-ON" });
    await store.set(DECLARED_KEY, { country: "DE", region: "CA-ON" }); // a region of another country
    expect(await collectEvidence({ store, intl: BERLIN, navigator: NAV })).toMatchObject({ country: "DE", region: null });
  });

  it("keeps at most five well-formed language tags, and no time zone it cannot read", () => {
    expect(languagesOf({ languages: ["en-US", "en-US", "x y", "fr", "de", "it", "es", "pt"] })).toEqual(["en-US", "fr", "de", "it", "es"]);
    expect(languagesOf({ language: "nl-BE" })).toEqual(["nl-BE"]);
    expect(timeZoneOf({ DateTimeFormat: () => { throw new Error("no Intl"); } })).toBeNull();
  });

  it("goes with every unlock request", async () => {
    const t = setup({ confirms: [true] });
    await t.store.set(DECLARED_KEY, { country: "DE", region: null });
    await t.signer.unlock("x");
    expect(t.server.state.evidence.at(-1)).toMatchObject({ country: "DE", region: null, languages: expect.any(Array) });
    expect(t.server.state.previews[0]).toMatchObject({ article: "x", evidence: { country: "DE" } });
  });
});

describe("price with tax", () => {
  it("formats the tax for people", () => {
    expect(formatRate("19.000")).toBe("19");
    expect(formatRate("5.500")).toBe("5.5");
    expect(formatRate("x")).toBeNull();
    expect(taxLabel(DE_VAT)).toBe("incl. 19 % VAT DE (0.031933 XRP)");
    expect(taxLabel(null)).toBe("no VAT collected");
    expect(taxLabel(undefined)).toBe("");
    expect(taxLabel({ ...DE_VAT, country: "AU", scheme: "AU-GST", rate_percent: "10.000", tax_drops: "18182" })).toBe("incl. 10 % GST AU (0.018182 XRP)");
    expect(priceWithTax(200_000n, DE_VAT)).toBe("0.2 XRP incl. 19 % VAT DE (0.031933 XRP)");
    expect(priceWithTax(200_000n, undefined)).toBe("0.2 XRP");
    expect(receiptTaxLine({ tax_drops: "31933", tax_rate_percent: "19.000", tax_country: "DE", tax_scheme: "EU-OSS" })).toBe("VAT DE 19 %: 0.031933 XRP");
    expect(receiptTaxLine({ tax_drops: "0", tax_rate_percent: null, tax_country: "", tax_scheme: "" })).toBe("No VAT collected");
  });

  it("the channel confirmation shows the price with its tax, from the preview", async () => {
    const t = setup({ confirms: [true] });
    t.server.state.preview = { decision: "allow", country: "DE", candidates: [], vat: DE_VAT, rules: ["vat.de.standard"] };
    await t.signer.unlock("x");
    const [open] = t.ui.asked;
    expect(Object.fromEntries(open.facts).Price).toBe("0.2 XRP incl. 19 % VAT DE (0.031933 XRP)");
  });

  it("says when no VAT is collected", async () => {
    const t = setup({ confirms: [true] });
    await t.signer.unlock("x");
    expect(Object.fromEntries(t.ui.asked[0].facts).Price).toBe("0.2 XRP no VAT collected");
  });
});

describe("blocked where the reader is", () => {
  it("a block preview stops the unlock before any channel, signature or claim", async () => {
    const t = setup();
    t.server.state.preview = { decision: "block", country: "CU", candidates: [], vat: null, rules: ["sanctions.ofac.cu"] };
    await expect(t.signer.unlock("x")).rejects.toMatchObject({
      code: "jurisdiction_blocked",
      status: 451,
      details: { country: "CU", rules: ["sanctions.ofac.cu"] },
    });
    expect(paths(t.server.calls)).toEqual(["GET readers/challenge", "POST readers", "POST unlocks", "POST readers/me/tax-preview"]);
    expect(t.ui.asked).toEqual([]);
  });

  it("a 451 on the claim itself is not retried", async () => {
    const t = setup({ confirms: [true] });
    const real = t.server.routes["POST readers/me/tax-preview"];
    t.server.routes["POST readers/me/tax-preview"] = (call) => real(call); // allow at preview time
    await t.signer.unlock("x");
    t.server.state.preview = { decision: "block", country: "IR", candidates: [], vat: null, rules: ["sanctions.ofac.ir"] };
    t.server.routes["POST readers/me/tax-preview"] = () => [503, { error: { code: "ledger_unavailable", message: "" } }];
    await expect(t.signer.unlock("y")).rejects.toMatchObject({ code: "jurisdiction_blocked" });
    expect(claims(t.server)).toHaveLength(2); // x paid; y's one claim refused, not resent
  });
});

describe("country confirmation", () => {
  it("conflicting evidence at preview: asks with the candidates first, records the answer, then pays", async () => {
    const t = setup({ countries: [{ country: "FR", region: null }], confirms: [true] });
    t.server.state.preview = { decision: "confirm_country", country: null, candidates: ["DE", "FR"], vat: null, rules: [] };
    const result = await t.signer.unlock("x");
    expect(result.amountDrops).toBe(200_000);
    expect(t.ui.asked[0]).toMatchObject({ kind: "country", candidates: ["DE", "FR"] });
    expect(t.server.state.confirmed).toEqual({ country: "FR", region: null });
    expect(await t.store.get(DECLARED_KEY)).toEqual({ country: "FR", region: null });
    expect(t.server.state.evidence.at(-1)).toMatchObject({ country: "FR" });
    expect(t.server.state.previews).toHaveLength(2); // previewed again after the answer
  });

  it("409 on the claim: asks, then sends the same claim again", async () => {
    const t = setup({ countries: [{ country: "CA", region: "CA-ON" }], confirms: [true] });
    t.server.state.countryOnClaim = ["CA", "US"];
    const result = await t.signer.unlock("x");
    expect(result.amountDrops).toBe(200_000);
    const [first, second] = claims(t.server);
    expect(second).toEqual(first); // the same cumulative amount and signature
    expect(t.server.state.confirmed).toEqual({ country: "CA", region: "CA-ON" });
    expect(t.ui.asked.filter((a) => a.kind === "country")[0].candidates).toEqual(["CA", "US"]);
  });

  it("cancelled: nothing is charged, and the reservation is released", async () => {
    const t = setup({ countries: [null], confirms: [true] });
    t.server.state.countryOnClaim = ["DE", "GB"];
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "cancelled" });
    expect(t.server.state.accepted).toEqual([]);
    const meter = await t.store.get("meter");
    expect(Object.values(meter.channels).every((c) => c.pendingDrops === 0n || c.pendingDrops === undefined)).toBe(true);
  });
});

describe("consent before immediate access", () => {
  it("asked up front when required and not given, recorded, then not asked again", async () => {
    const t = setup({ consents: [true], confirms: [true] });
    t.server.state.consent.required = true;
    await t.signer.unlock("x");
    const consent = t.ui.asked.find((a) => a.kind === "consent");
    expect(consent.version).toBe("2026-12-01");
    expect(t.ui.asked.map((a) => a.kind)).toEqual(["consent", "confirm"]); // before the channel
    const post = t.server.calls.find((c) => c.method === "POST" && c.path === "readers/me/consent");
    expect(post.body).toEqual({ text_version: "2026-12-01", immediate_access: true, withdrawal_right_lost: true });
    expect(await t.store.get(CONSENT_KEY)).toBe("2026-12-01");
    await t.signer.unlock("y");
    expect(t.ui.asked.filter((a) => a.kind === "consent")).toHaveLength(1);
    expect(t.server.calls.filter((c) => c.path === "readers/me/consent")).toHaveLength(2); // one GET, one POST
  });

  it("declined: cancelled before any channel is opened", async () => {
    const t = setup({ consents: [false] });
    t.server.state.consent.required = true;
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "cancelled" });
    expect(paths(t.server.calls)).not.toContain("POST wallet/prepare");
    expect(t.server.state.consent.given).toBe(false);
  });

  it("not required: not asked", async () => {
    const t = setup({ confirms: [true] });
    await t.signer.unlock("x");
    expect(t.ui.asked.map((a) => a.kind)).toEqual(["confirm"]);
  });

  it("428 on the claim: the consent dialog, then the same claim again", async () => {
    const t = setup({ consents: [true], confirms: [true] });
    t.server.state.consent.onClaim = true; // the server turned it on after the frame asked
    const result = await t.signer.unlock("x");
    expect(result.amountDrops).toBe(200_000);
    const [first, second] = claims(t.server);
    expect(second).toEqual(first);
    expect(t.server.state.consent.given).toBe(true);
  });

  it("a version the frame has no text for is refused, never shown with another text", async () => {
    const t = setup();
    t.server.state.consent = { version: "2099-01-01", required: true, given: false, onClaim: false };
    await expect(t.signer.unlock("x")).rejects.toMatchObject({ code: "consent_text_unavailable" });
    expect(t.ui.asked).toEqual([]);
  });
});

describe("report a problem", () => {
  const fill = (values) => (options) => options.submit(values).then((dispute) => ({ dispute }), (err) => ({ error: { code: err.code, message: err.message } }));

  it("files from the frame after the reader's submit, and answers with the dispute's status", async () => {
    const t = setup({ confirms: [true], forms: [fill({ reason: "not_delivered", message: "blank page" })] });
    await t.signer.unlock("x");
    const out = await t.signer.dispute("x", { reason: "not_delivered" });
    expect(out).toEqual({ id: 1, article: "x", reason: "not_delivered", status: "won_by_reader", outcome: "reader", refundDrops: 200_000 });
    const post = t.server.calls.find((c) => c.path === "readers/me/disputes");
    expect(post.body).toEqual({ unlock: "x", reason: "not_delivered", message: "blank page" });
    expect(post.headers.Authorization).toBe("Reader rdt_test_1");
    expect(t.ui.asked.at(-1)).toMatchObject({ kind: "dispute", article: "x", reason: "not_delivered" });
  });

  it("passes the server's refusal back when the reader closes the form after it", async () => {
    const t = setup({ confirms: [true], forms: [fill({ reason: "not_delivered" }), fill({ reason: "charged_twice" })] });
    await t.signer.unlock("x");
    await t.signer.dispute("x");
    await expect(t.signer.dispute("x")).rejects.toMatchObject({ code: "dispute_exists" });
  });

  it("no reader in this browser: no purchase to report, nothing sent", async () => {
    const t = setup({ forms: [fill({ reason: "accidental" })] });
    await expect(t.signer.dispute("x")).rejects.toMatchObject({ code: "unlock_not_found" });
    expect(t.server.calls).toEqual([]);
  });

  it("cancelled form: nothing is filed", async () => {
    const t = setup({ confirms: [true], forms: [() => null] });
    await t.signer.unlock("x");
    await expect(t.signer.dispute("x")).rejects.toMatchObject({ code: "cancelled" });
    expect(t.server.state.disputes).toEqual([]);
  });

  it("checks reasons and message length as the server does", () => {
    expect(checkFiling({ reason: "nope", message: "" })).toMatchObject({ field: "reason" });
    expect(checkFiling({ reason: "accidental", message: "a".repeat(2000) })).toEqual({ reason: "accidental", message: "a".repeat(2000) });
    expect(checkFiling({ reason: "accidental", message: "a".repeat(2001) })).toMatchObject({ field: "message" });
    expect(messageLength("😀😀")).toBe(2);
    expect(filingErrorText({ code: "dispute_window_closed" }).text).toMatch(/60 days/);
    expect(filingErrorText({ code: "something_new", message: "Server says." })).toEqual({ code: "something_new", text: "Server says." });
    expect(refundText({ amount_drops: "200000", mode: "ledger", status: "pending" })).toBe("0.2 XRP paid back to your wallet (pending)");
    expect(Object.fromEntries(disputeFacts({ article: "x", reason: "accidental", status: "under_review", outcome: null, amount_drops: "1", filed_at: "2030-01-02T03:04:05Z", due_by: "2030-01-16T00:00:00Z" }))).toEqual({
      Article: "x",
      Reason: "I paid by accident",
      Status: "Being reviewed by Dropgate",
      "Next step by": "2030-01-16",
      Amount: "0.000001 XRP",
      Filed: "2030-01-02",
    });
  });
});
