// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFrameUI } from "../../src/frame/ui.js";
import { SdkError } from "../../src/frame/errors.js";
import { CONSENT_TEXTS } from "../../src/frame/compliance.js";
import { flush } from "../helpers.js";

function makeUI(options = {}) {
  document.body.innerHTML = '<div id="dropgate-frame"></div>';
  const visibility = [];
  const ui = createFrameUI({
    document,
    mount: document.getElementById("dropgate-frame"),
    onVisibility: (v) => visibility.push(v),
    requireTrusted: false,
    armDelayMs: 300,
    ...options,
  });
  return { ui, visibility };
}

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];
const escape = () => $('[role="dialog"]').dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
const labelOf = (input) => document.querySelector(`label[for="${input.id}"]`);

function submit(form) {
  form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
}

const TEXT = CONSENT_TEXTS["2026-12-01"];

describe("consent dialog", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("needs both boxes ticked (and the arming delay) before confirm does anything", async () => {
    const { ui, visibility } = makeUI();
    const answer = ui.consent({ version: "2026-12-01", ...TEXT });
    await flush();
    const dialog = $('[data-frame-dialog="consent"]');
    expect(dialog.getAttribute("role")).toBe("dialog");
    expect(document.activeElement).toBe(document.getElementById(dialog.getAttribute("aria-labelledby")));
    const boxes = $$('input[type="checkbox"]');
    expect(boxes).toHaveLength(2);
    expect(boxes.every((b) => !b.checked)).toBe(true); // unticked
    expect(labelOf(boxes[0]).textContent).toBe(TEXT.immediate);
    expect(labelOf(boxes[1]).textContent).toBe(TEXT.withdrawal);
    const confirm = $('button[data-paywall-action="confirm"]');
    await vi.advanceTimersByTimeAsync(300);
    expect(confirm.disabled).toBe(true);
    boxes[0].click();
    expect(confirm.disabled).toBe(true); // one box is not enough
    confirm.click();
    await flush();
    expect($('[data-frame-dialog="consent"]')).not.toBeNull();
    boxes[1].click();
    expect(confirm.disabled).toBe(false);
    confirm.click();
    expect(await answer).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(visibility).toEqual([true, false]);
  });

  it("ticked before the arming delay: confirm stays disabled until it passes", async () => {
    const { ui } = makeUI();
    const answer = ui.consent({ version: "2026-12-01", ...TEXT });
    await flush();
    for (const box of $$('input[type="checkbox"]')) box.click();
    const confirm = $('button[data-paywall-action="confirm"]');
    expect(confirm.disabled).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(confirm.disabled).toBe(false);
    $('button[data-paywall-action="cancel"]').click();
    expect(await answer).toBe(false);
  });

  it("Escape answers no", async () => {
    const { ui } = makeUI();
    const answer = ui.consent({ version: "2026-12-01", ...TEXT });
    await flush();
    escape();
    expect(await answer).toBe(false);
  });
});

describe("country dialog", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("offers the candidates first, then any country; answers the one picked", async () => {
    const { ui } = makeUI();
    const answer = ui.country({ candidates: ["DE", "FR"] });
    await flush();
    const radios = $$('[data-frame-dialog="country"] input[type="radio"]');
    expect(radios.map((r) => r.getAttribute("data-country"))).toEqual(["DE", "FR", "other"]);
    expect(labelOf(radios[0]).textContent).toMatch(/\(DE\)$|^DE$/);
    expect($("legend").textContent).toBe("Your country");
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    await flush();
    expect($(".dg-error").textContent).toBe("Choose your country.");
    expect($(".dg-error").getAttribute("role")).toBe("alert");
    radios[1].click();
    submit($("form"));
    expect(await answer).toEqual({ country: "FR", region: null });
  });

  it("another country from the list; Canada needs a province", async () => {
    const { ui } = makeUI();
    const answer = ui.country({ candidates: ["US"] });
    await flush();
    await vi.advanceTimersByTimeAsync(300);
    const select = $('select[data-frame-field="country"]');
    expect(select.options.length).toBe(250); // "Choose…" and the 249 ISO countries
    select.value = "CA";
    select.dispatchEvent(new Event("change"));
    const province = $('select[data-frame-field="region"]');
    expect(province.closest(".dg-field").hidden).toBe(false);
    submit($("form"));
    await flush();
    expect($(".dg-error").textContent).toMatch(/province/);
    province.value = "CA-ON";
    submit($("form"));
    expect(await answer).toEqual({ country: "CA", region: "CA-ON" });
  });

  it("without candidates it is the reader's own choice, prefilled with the declared country", async () => {
    const { ui } = makeUI();
    const answer = ui.country({ candidates: [], current: { country: "AT", region: null } });
    await flush();
    expect($("fieldset").hidden).toBe(true);
    expect($('select[data-frame-field="country"]').value).toBe("AT");
    escape();
    expect(await answer).toBeNull();
  });

  it("refuses a submit before the arming delay", async () => {
    const { ui } = makeUI();
    const answer = ui.country({ candidates: ["DE"] });
    await flush();
    $('input[data-country="DE"]').click();
    submit($("form"));
    await flush();
    expect($('[data-frame-dialog="country"]')).not.toBeNull();
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    expect(await answer).toEqual({ country: "DE", region: null });
  });
});

const FILED = {
  id: 7,
  article: "x",
  reason: "not_delivered",
  status: "won_by_reader",
  outcome: "reader",
  amount_drops: "200000",
  filed_at: "2030-01-01T00:00:00Z",
  decided_at: "2030-01-01T00:00:00Z",
  refund: { amount_drops: "200000", mode: "credit", status: "credited", tx_hash: null },
};

describe("report a problem", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("lists the five reasons by class, prefills the page's suggestion, counts the message", async () => {
    const { ui } = makeUI();
    const submitted = [];
    const answer = ui.disputeForm({ article: "x", reason: "accidental", message: "oops", submit: async (v) => (submitted.push(v), FILED) });
    await flush();
    const reasons = $$('input[type="radio"]');
    expect(reasons.map((r) => r.value)).toEqual(["not_delivered", "charged_twice", "not_as_described", "accidental", "unauthorized"]);
    expect($$(".dg-group").map((g) => g.textContent)).toEqual(["Technical", "Content", "Fraud"]);
    expect(reasons.find((r) => r.checked).value).toBe("accidental");
    const textarea = $("textarea");
    expect(labelOf(textarea).textContent).toMatch(/Tell us more/);
    expect(textarea.value).toBe("oops");
    expect(textarea.hasAttribute("maxlength")).toBe(false); // it would count UTF-16 units
    expect(document.getElementById(textarea.getAttribute("aria-describedby")).textContent).toBe("4 of 2000 characters");
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    await flush();
    expect(submitted).toEqual([{ reason: "accidental", message: "oops" }]);
    // the filed dispute is shown with its status and refund until the reader closes it
    expect($("h1").textContent).toBe("Problem reported");
    expect($("dl").textContent).toContain("Decided in your favour");
    expect($("dl").textContent).toContain("0.2 XRP refunded as reading credit");
    $('button[data-frame-action="close"]').click();
    expect(await answer).toEqual({ dispute: FILED });
  });

  it("asks for a reason and refuses a message over 2,000 characters before sending anything", async () => {
    const { ui } = makeUI();
    const submitted = [];
    const answer = ui.disputeForm({ article: "x", submit: async (v) => (submitted.push(v), FILED) });
    await flush();
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    await flush();
    expect($(".dg-error").textContent).toBe("Choose what went wrong.");
    $('input[value="not_delivered"]').click();
    const textarea = $("textarea");
    textarea.value = "é".repeat(2001);
    textarea.dispatchEvent(new Event("input"));
    expect(textarea.getAttribute("aria-invalid")).toBe("true");
    submit($("form"));
    await flush();
    expect($(".dg-error").textContent).toMatch(/2001 characters long; at most 2000/);
    expect(submitted).toEqual([]);
    // 2,000 code points of an astral character are 4,000 UTF-16 units, and still allowed
    textarea.value = "😀".repeat(2000);
    textarea.dispatchEvent(new Event("input"));
    submit($("form"));
    await flush();
    expect(submitted).toHaveLength(1);
    $('button[data-frame-action="close"]').click();
    await answer;
  });

  it.each([
    ["unlock_not_found", 404, /no purchase of this article/],
    ["dispute_exists", 409, /already reported a problem/],
    ["dispute_window_closed", 422, /too old to report: problems can be reported for 60 days/],
  ])("a %s refusal is shown in the form, which stays open", async (code, status, text) => {
    const { ui } = makeUI();
    let fail = true;
    const answer = ui.disputeForm({
      article: "x",
      reason: "not_delivered",
      submit: async () => {
        if (fail) throw new SdkError(code, "server text", { status });
        return FILED;
      },
    });
    await flush();
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    await flush();
    const error = $("[data-frame-error]");
    expect(error.hidden).toBe(false);
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.getAttribute("data-code")).toBe(code);
    expect(error.textContent).toMatch(text);
    expect(document.activeElement).toBe(error);
    expect($('button[data-paywall-action="confirm"]').disabled).toBe(false);
    // closing after a refusal hands the refusal back
    $('button[data-paywall-action="cancel"]').click();
    expect(await answer).toEqual({ error: { code, message: expect.stringMatching(text) } });
  });

  it("server text never becomes markup", async () => {
    const { ui } = makeUI();
    const answer = ui.disputeForm({ article: "x", reason: "not_delivered", submit: async () => ({ ...FILED, article: "<img src=x onerror=alert(1)>" }) });
    await flush();
    await vi.advanceTimersByTimeAsync(300);
    submit($("form"));
    await flush();
    expect($("img")).toBeNull();
    expect($("dl").textContent).toContain("<img src=x onerror=alert(1)>");
    escape();
    await answer;
  });
});

describe("reports and receipts", () => {
  it("lists the reader's reports with status, outcome and refund", async () => {
    const { ui } = makeUI();
    const open = { ...FILED, id: 8, article: "y", status: "needs_response", outcome: null, decided_at: null, refund: null, due_by: "2030-01-08T00:00:00Z" };
    const answer = ui.disputes({ disputes: [open, FILED] });
    await flush();
    const items = $$('[data-frame-dialog="disputes"] li');
    expect(items.map((li) => li.getAttribute("data-status"))).toEqual(["needs_response", "won_by_reader"]);
    expect(items[0].textContent).toContain("Waiting for the publisher's answer");
    expect(items[0].textContent).toContain("2030-01-08");
    expect(items[1].textContent).toContain("You won");
    expect(items[1].textContent).toContain("0.2 XRP refunded as reading credit");
    $('button[data-frame-action="close"]').click();
    expect(await answer).toBeNull();
  });

  it("receipts show the tax, and each offers to report a problem", async () => {
    const { ui } = makeUI();
    const receipts = [
      { receipt_id: 2, publisher: "pub_a", article: "y", time: "2030-01-01T10:00:00Z", price_drops: "200000", net_drops: "168067", tax_drops: "31933", tax_rate_percent: "19.000", tax_country: "DE", tax_scheme: "EU-OSS", claim_reference: "unlock:pub_a:2:rdr_1", claim_id: 2 },
      { receipt_id: 1, publisher: "pub_a", article: "x", time: "2030-01-01T09:00:00Z", price_drops: "150000", net_drops: "150000", tax_drops: "0", tax_rate_percent: null, tax_country: "", tax_scheme: "", claim_reference: "unlock:pub_a:1:rdr_1", claim_id: 1 },
    ];
    const answer = ui.receipts({ receipts });
    await flush();
    const items = $$('[data-frame-dialog="receipts"] li');
    expect(items[0].textContent).toContain("VAT DE 19 %: 0.031933 XRP");
    expect(items[0].textContent).toContain("unlock:pub_a:2:rdr_1");
    expect(items[1].textContent).toContain("No VAT collected");
    const report = items[1].querySelector('button[data-frame-action="report"]');
    expect(report.getAttribute("aria-label")).toBe("Report a problem with x");
    report.click();
    expect(await answer).toEqual({ action: "report", article: "x" });
  });

  it("the reading wallet leads to the country, receipts and reports", async () => {
    const { ui } = makeUI();
    const answer = ui.settings({ capDrops: 2_000_000n, spentDrops: 0n, channel: null });
    await flush();
    expect($$('[aria-label="Your account"] button').map((b) => b.getAttribute("data-frame-action"))).toEqual(["country", "receipts", "disputes"]);
    $('button[data-frame-action="disputes"]').click();
    expect(await answer).toEqual({ action: "disputes" });
  });
});
