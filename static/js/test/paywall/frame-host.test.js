// @vitest-environment happy-dom
// @vitest-environment-options {"url": "https://news.example/story", "settings": {"enableIframePageLoading": true}}
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createFrameHost } from "../../src/paywall/frame-host.js";
import { makeErrorReply, makeEvent, makeReply } from "../../src/shared/messages.js";
import { flush } from "../helpers.js";

const ORIGIN = "https://pay.example";

/** The iframe's window as the page sees it: it only receives postMessage. */
function stubFrameWindow(iframe) {
  const frameWindow = { posted: [], postMessage(message, targetOrigin) { this.posted.push({ message, targetOrigin }); } };
  Object.defineProperty(iframe, "contentWindow", { configurable: true, get: () => frameWindow });
  return frameWindow;
}

function fromFrame(source, data, origin = ORIGIN) {
  window.dispatchEvent(new MessageEvent("message", { data, origin, source }));
}

describe("frame host", () => {
  beforeEach(() => {
    document.body.innerHTML = '<button id="unlock">Unlock</button>';
    // serve an empty page for the frame instead of touching the network
    window.happyDOM.settings.fetch.interceptor = {
      beforeAsyncRequest: async () => new Response("<!doctype html><title>frame</title>", { headers: { "Content-Type": "text/html" } }),
    };
  });

  function create(onEvent = () => {}) {
    const host = createFrameHost({ window, origin: ORIGIN, publisher: "pub_a", onEvent });
    const frameWindow = stubFrameWindow(host.iframe);
    return { host, frameWindow };
  }

  it("embeds the frame from the paywall origin, sandboxed, in a closed dialog", () => {
    const { host } = create();
    const { iframe, dialog } = host;
    expect(iframe.getAttribute("src")).toBe(`${ORIGIN}/sdk/frame/pub_a`);
    expect(iframe.getAttribute("sandbox")).toBe("allow-scripts allow-same-origin allow-forms");
    expect(iframe.getAttribute("referrerpolicy")).toBe("origin");
    expect(iframe.title).toBe("Dropgate payment");
    expect(dialog.tagName).toBe("DIALOG");
    expect(dialog.open).toBe(false);
    expect(dialog.contains(iframe)).toBe(true);
    expect(iframe.hasAttribute("style")).toBe(false);
  });

  it("sends hello after load, to the paywall origin only, and matches the reply", async () => {
    const { host, frameWindow } = create();
    const ready = host.ready();
    host.iframe.dispatchEvent(new Event("load"));
    await flush();
    expect(frameWindow.posted).toEqual([{ message: { dg: 1, type: "hello", id: 1 }, targetOrigin: ORIGIN }]);
    fromFrame(frameWindow, makeReply(1, { reader: false, channel: null, capDrops: 2_000_000 }));
    expect(await ready).toEqual({ reader: false, channel: null, capDrops: 2_000_000 });

    const unlock = host.request("unlock", { article: "x" });
    await flush();
    expect(frameWindow.posted[1]).toEqual({ message: { dg: 1, type: "unlock", id: 2, article: "x" }, targetOrigin: ORIGIN });
    fromFrame(frameWindow, makeErrorReply(2, "cap_exceeded", "over the cap"));
    await expect(unlock).rejects.toMatchObject({ code: "cap_exceeded", message: "over the cap" });
  });

  it("passes the telemetry session with an unlock, and a challenge in the error's details", async () => {
    const { host, frameWindow } = create();
    const ready = host.ready();
    host.iframe.dispatchEvent(new Event("load"));
    await flush();
    fromFrame(frameWindow, makeReply(1, { reader: true }));
    await ready;
    const session = "tls_abcdefghijklmnopqrstuv";
    const unlock = host.request("unlock", { article: "x", telemetrySession: session });
    await flush();
    expect(frameWindow.posted[1].message).toEqual({ dg: 1, type: "unlock", id: 2, article: "x", telemetrySession: session });
    const challenge = { id: "chl_1", kind: "press_hold", hold_ms: 800 };
    fromFrame(frameWindow, makeErrorReply(2, "risk_challenge", "Hold.", { challenge }));
    await expect(unlock).rejects.toMatchObject({ code: "risk_challenge", details: { challenge } });
  });

  it("ignores messages from another origin or another window", async () => {
    const { host, frameWindow } = create();
    const ready = host.ready();
    host.iframe.dispatchEvent(new Event("load"));
    await flush();
    fromFrame(frameWindow, makeReply(1, { forged: true }), "https://evil.example");
    fromFrame({ postMessage() {} }, makeReply(1, { forged: true }));
    fromFrame(window, makeReply(1, { forged: true }));
    fromFrame(frameWindow, { dg: 1, type: "reply", id: 1, ok: "yes" });
    let settled = false;
    ready.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);
    fromFrame(frameWindow, makeReply(1, { real: true }));
    expect(await ready).toEqual({ real: true });
  });

  it("shows the frame as a modal when asked and hides it again, returning focus", async () => {
    const { host, frameWindow } = create();
    const trigger = document.getElementById("unlock");
    trigger.focus();
    fromFrame(frameWindow, makeEvent("show"));
    expect(host.dialog.open).toBe(true);
    fromFrame(frameWindow, makeEvent("hide"));
    expect(host.dialog.open).toBe(false);
    expect(document.activeElement).toBe(trigger);
    // a page script cannot show it: wrong source
    fromFrame(window, makeEvent("show"));
    expect(host.dialog.open).toBe(false);
  });

  it("passes channel events on", () => {
    const onEvent = vi.fn();
    const { frameWindow } = create(onEvent);
    const channel = { channelId: "A", fundedDrops: 1, spentDrops: 0, remainingDrops: 1, status: "open" };
    fromFrame(frameWindow, makeEvent("channel", { channel }));
    expect(onEvent).toHaveBeenCalledWith({ type: "channel", channel });
  });

  it("times out when the frame never answers", async () => {
    vi.useFakeTimers();
    try {
      const { host } = create();
      const ready = host.ready();
      const check = expect(ready).rejects.toMatchObject({ code: "frame_unavailable" });
      host.iframe.dispatchEvent(new Event("load"));
      await vi.advanceTimersByTimeAsync(20_001);
      await check;
    } finally {
      vi.useRealTimers();
    }
  });
});
