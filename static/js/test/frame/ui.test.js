// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFrameUI, spendSummary } from "../../src/frame/ui.js";
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

describe("frame UI", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("confirmation is an accessible dialog with confirm and cancel buttons", async () => {
    const { ui, visibility } = makeUI();
    const answer = ui.confirm({ title: "Open a channel?", message: "Deposit 1 XRP.", facts: [["Price", "0.2 XRP"]], confirmLabel: "Open" });
    await flush();
    const dialog = $('[role="dialog"]');
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    const title = document.getElementById(dialog.getAttribute("aria-labelledby"));
    expect(title.textContent).toBe("Open a channel?");
    expect(document.getElementById(dialog.getAttribute("aria-describedby")).textContent).toBe("Deposit 1 XRP.");
    expect(document.activeElement).toBe(title);
    expect($("dl").textContent).toContain("0.2 XRP");

    const confirm = $('button[data-paywall-action="confirm"]');
    const cancel = $('button[data-paywall-action="cancel"]');
    expect(confirm.type).toBe("button");
    expect(confirm.textContent).toBe("Open");
    expect(cancel.textContent).toBe("Cancel");
    expect(visibility).toEqual([true]);

    // not armed yet: an immediate click does nothing
    expect(confirm.disabled).toBe(true);
    confirm.click();
    await flush();
    expect($('[role="dialog"]')).not.toBeNull();
    await vi.advanceTimersByTimeAsync(300);
    expect(confirm.disabled).toBe(false);
    confirm.click();
    expect(await answer).toBe(true);
    expect($('[role="dialog"]')).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(visibility).toEqual([true, false]);
  });

  it("cancel and Escape answer false", async () => {
    const { ui } = makeUI();
    const first = ui.confirm({ title: "t", message: "m" });
    await flush();
    $('button[data-paywall-action="cancel"]').click();
    expect(await first).toBe(false);

    const second = ui.confirm({ title: "t", message: "m" });
    await flush();
    $('[role="dialog"]').dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(await second).toBe(false);
  });

  it("only trusted clicks count when required", async () => {
    const { ui } = makeUI({ requireTrusted: true, armDelayMs: 0 });
    const answer = ui.confirm({ title: "t", message: "m" });
    await vi.advanceTimersByTimeAsync(1);
    $('button[data-paywall-action="confirm"]').click(); // synthetic: isTrusted is false
    await flush();
    expect($('[role="dialog"]')).not.toBeNull();
    $('[role="dialog"]').dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(await answer).toBe(false);
  });

  it("shows one view at a time and stays visible between consecutive views", async () => {
    const { ui, visibility } = makeUI({ armDelayMs: 0 });
    const a = ui.confirm({ title: "A", message: "" });
    const b = ui.confirm({ title: "B", message: "" });
    await vi.advanceTimersByTimeAsync(1);
    expect(document.querySelectorAll('[role="dialog"]')).toHaveLength(1);
    expect($("h1").textContent).toBe("A");
    $('button[data-paywall-action="confirm"]').click();
    await a;
    await vi.advanceTimersByTimeAsync(1);
    expect($("h1").textContent).toBe("B");
    $('button[data-paywall-action="cancel"]').click();
    await b;
    await vi.advanceTimersByTimeAsync(1);
    expect(visibility).toEqual([true, false]);
  });

  it("cap form: labelled input, validation announced, value in drops", async () => {
    const { ui } = makeUI();
    const channel = { fundedDrops: 1_000_000n, acceptedDrops: 200_000n, status: "open" };
    const answer = ui.settings({ capDrops: 2_000_000n, spentDrops: 200_000n, channel });
    await flush();
    const input = $('input[name="cap"]');
    const label = $(`label[for="${input.id}"]`);
    expect(label.textContent).toMatch(/Spending cap/);
    expect(input.value).toBe("2");
    expect(input.getAttribute("inputmode")).toBe("decimal");
    expect($('[role="dialog"]').textContent).toContain("0.8 of 1 XRP left");

    input.value = "lots";
    $("form").dispatchEvent(new Event("submit", { cancelable: true }));
    const error = $(".dg-error");
    expect(error.hidden).toBe(false);
    expect(error.getAttribute("role")).toBe("alert");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toContain(error.id);

    input.value = "3.5";
    $("form").dispatchEvent(new Event("submit", { cancelable: true }));
    expect(await answer).toEqual({ action: "save", capDrops: 3_500_000n });
  });

  it("settings offer top-up and close for an open channel only", async () => {
    const { ui } = makeUI();
    const withChannel = ui.settings({ capDrops: 1n, spentDrops: 0n, channel: { fundedDrops: 5n, acceptedDrops: 0n, status: "open" } });
    await flush();
    expect($('button[data-frame-action="top-up"]')).not.toBeNull();
    $('button[data-frame-action="close-channel"]').click();
    expect(await withChannel).toEqual({ action: "close" });

    const without = ui.settings({ capDrops: 1n, spentDrops: 0n, channel: null });
    await flush();
    expect($('button[data-frame-action="top-up"]')).toBeNull();
    $('button[data-paywall-action="cancel"]').click();
    expect(await without).toBeNull();
  });

  it("settings offer to recover the deposit of an unusable channel", async () => {
    const { ui } = makeUI();
    const stranded = [{ channelId: "AB".repeat(32), reason: "channel_taken" }];
    const answer = ui.settings({ capDrops: 1n, spentDrops: 0n, channel: null, pendingChannel: true, stranded });
    await flush();
    expect($('[role="dialog"]').textContent).toContain("1 unusable channel to close");
    expect($('[role="dialog"]').textContent).toContain("being confirmed");
    $('button[data-frame-action="recover-channel"]').click();
    expect(await answer).toEqual({ action: "recover" });
    const none = ui.settings({ capDrops: 1n, spentDrops: 0n, channel: null });
    await flush();
    expect($('button[data-frame-action="recover-channel"]')).toBeNull();
    $('button[data-paywall-action="cancel"]').click();
    expect(await none).toBeNull();
  });

  it("status line is a polite live region", () => {
    const { ui } = makeUI();
    ui.renderStatus({ capDrops: 2_000_000n, spentDrops: 350_000n, channel: null });
    const status = $('[role="status"]');
    expect(status.getAttribute("aria-live")).toBe("polite");
    expect(status.textContent).toBe("Spent 0.35 of your 2 XRP cap on this site. No payment channel yet.");
  });

  it("busy shows progress until the work ends", async () => {
    const { ui } = makeUI();
    let finish;
    const work = ui.busy("Opening…", () => new Promise((r) => (finish = r)));
    await flush();
    expect($('[aria-busy="true"]').textContent).toBe("Opening…");
    finish(7);
    expect(await work).toBe(7);
    await flush();
    expect($('[aria-busy="true"]')).toBeNull();
  });

  it("spendSummary describes a closing channel", () => {
    expect(spendSummary({ capDrops: 1_000_000n, spentDrops: 0n, channel: { fundedDrops: 1_000_000n, acceptedDrops: 0n, status: "closing" } })).toBe(
      "Spent 0 of your 1 XRP cap on this site. Channel (closing): 1 of 1 XRP left.",
    );
  });
});
