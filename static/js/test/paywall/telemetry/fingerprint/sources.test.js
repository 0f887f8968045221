import { describe, expect, it, vi } from "vitest";
import { automationFingerprint, automationNames } from "../../../../src/paywall/telemetry/fingerprint/automation.js";
import { navigatorFingerprint } from "../../../../src/paywall/telemetry/fingerprint/navigator.js";
import { screenFacts } from "../../../../src/paywall/telemetry/fingerprint/screen.js";
import { timezoneFacts } from "../../../../src/paywall/telemetry/fingerprint/timezone.js";
import { workerFingerprint } from "../../../../src/paywall/telemetry/fingerprint/worker.js";
import { drawCanvasImage, parseGraphics, webglDescription, workerGraphics } from "../../../../src/shared/probe.js";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A 2D context that records what is drawn; its "image" is the drawing log. */
function fakeCanvasDoc({ webgl = null, twoD = true } = {}) {
  const log = [];
  const ctx = new Proxy(
    {},
    {
      get: (_, name) => (name === "createLinearGradient" ? () => ({ addColorStop: () => {} }) : (...args) => log.push([name, ...args])),
      set: (_, name, value) => {
        log.push([`=${String(name)}`, value]);
        return true;
      },
    },
  );
  return {
    log,
    createElement: (tag) => ({
      tag,
      getContext: (kind) => (kind === "2d" ? (twoD ? ctx : null) : webgl),
      toDataURL: () => `data:image/png;base64,${Buffer.from(JSON.stringify(log)).toString("base64")}`,
    }),
  };
}

describe("fingerprint sources", () => {
  it("canvas: a fixed drawing (text in two fonts, a gradient, an arc), the same every time", () => {
    const first = fakeCanvasDoc();
    drawCanvasImage(first.createElement("canvas").getContext("2d"));
    expect(first.log.some(([name]) => name === "fillText")).toBe(true);
    expect(first.log.some(([name]) => name === "arc")).toBe(true);
    const again = fakeCanvasDoc();
    drawCanvasImage(again.createElement("canvas").getContext("2d"));
    expect(again.log.map(([name, ...args]) => [name, ...args.filter((a) => typeof a !== "object")])).toEqual(
      first.log.map(([name, ...args]) => [name, ...args.filter((a) => typeof a !== "object")]),
    );
  });

  const fakeGl = (lose = vi.fn()) => ({
    getExtension: (name) => (name === "WEBGL_debug_renderer_info" ? {} : name === "WEBGL_lose_context" ? { loseContext: lose } : null),
    getParameter: (p) => ({ 0x9245: "Google Inc. (NVIDIA)", 0x9246: "ANGLE (NVIDIA GeForce)", 0x0d33: 16384, 0x0d3a: new Int32Array([32767, 32767]) })[p] ?? 0,
    getSupportedExtensions: () => ["OES_texture_float", "WEBGL_debug_renderer_info"],
  });

  it("webgl: unmasked vendor and renderer, and a description of the context to hash", () => {
    const facts = webglDescription(fakeGl());
    expect(facts.vendor).toBe("Google Inc. (NVIDIA)");
    expect(facts.renderer).toBe("ANGLE (NVIDIA GeForce)");
    expect(facts.description).toContain("16384");
    expect(facts.description).toContain("32767,32767");
    expect(facts.description).toContain("OES_texture_float");
  });

  it("graphics in the worker: SHA-256 of the drawing's PNG and of the WebGL description, on OffscreenCanvases", async () => {
    const lose = vi.fn();
    const drawn = fakeCanvasDoc();
    class OffscreenCanvas {
      constructor(width, height) {
        this.size = [width, height];
      }
      getContext(kind) {
        return kind === "2d" ? drawn.createElement("canvas").getContext("2d") : kind === "webgl" ? fakeGl(lose) : null;
      }
      async convertToBlob() {
        return new Blob([JSON.stringify(drawn.log)]);
      }
    }
    const graphics = await workerGraphics({ OffscreenCanvas, crypto: globalThis.crypto });
    expect(graphics.canvas).toMatch(/^[0-9a-f]{64}$/);
    expect(graphics.canvas).not.toBe(EMPTY_SHA256);
    expect(graphics.webgl).toMatch(/^[0-9a-f]{64}$/);
    expect(graphics.webgl_renderer).toBe("ANGLE (NVIDIA GeForce)");
    expect(lose).toHaveBeenCalled(); // the context is given back
    expect(parseGraphics(graphics)).toEqual(graphics);
    // No OffscreenCanvas: the hashes of nothing, and no names.
    expect(await workerGraphics({ crypto: globalThis.crypto })).toEqual({ canvas: EMPTY_SHA256, webgl: EMPTY_SHA256, webgl_vendor: "", webgl_renderer: "" });
    expect(parseGraphics({ ...graphics, canvas: "nope" })).toBeNull();
  });

  it("screen: [w, h, availW, availH, dpr, colorDepth]", () => {
    expect(screenFacts({ screen: { width: 1920, height: 1080, availWidth: 1920, availHeight: 1040, colorDepth: 24 }, devicePixelRatio: 1.25 })).toEqual([1920, 1080, 1920, 1040, 1.25, 24]);
    expect(screenFacts({})).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it("timezone: IANA name and getTimezoneOffset minutes", () => {
    class FixedDate {
      getTimezoneOffset() {
        return -60;
      }
    }
    const intl = { DateTimeFormat: class { resolvedOptions() { return { timeZone: "Europe/Paris" }; } } };
    expect(timezoneFacts({ Date: FixedDate, Intl: intl })).toEqual({ tz: "Europe/Paris", tz_offset: -60 });
  });

  it("navigator: languages, concurrency, memory (null when absent), touch points, platform, webdriver", () => {
    expect(navigatorFingerprint({ navigator: { languages: ["en-US"], hardwareConcurrency: 8, deviceMemory: 8, maxTouchPoints: 0, platform: "Win32", webdriver: true } })).toEqual({
      languages: ["en-US"],
      hw_concurrency: 8,
      device_memory: 8,
      touch_points: 0,
      platform: "Win32",
      webdriver: true,
    });
    const firefox = navigatorFingerprint({ navigator: { languages: ["de"], hardwareConcurrency: 4, maxTouchPoints: 5, platform: "Linux x86_64", webdriver: false } });
    expect(firefox.device_memory).toBeNull();
    expect(firefox.webdriver).toBe(false);
    const hidden = {};
    Object.defineProperty(hidden, "webdriver", { get: () => { throw new Error("x"); } });
    expect(navigatorFingerprint({ navigator: hidden }).webdriver).toBe(false);
  });

  it("automation: own names of window and document, turned into flags", () => {
    const win = { cdc_abc_Array: 1, __pw_manual: 2, document: { $cdc_x: 1, documentElement: { getAttributeNames: () => ["webdriver"] } } };
    expect(automationNames(win).windowKeys).toEqual(["cdc_abc_Array", "__pw_manual", "document"]);
    expect(automationFingerprint(win)).toEqual(["cdc_", "__pw_", "$cdc_", "webdriver"]);
  });

  it("worker: the frame's probe result, or null on failure or timeout", async () => {
    const facts = { hw_concurrency: 8, languages: ["en"], platform: "Linux", tz: "UTC", webgl_renderer: null };
    const graphics = { canvas: EMPTY_SHA256, webgl: EMPTY_SHA256, webgl_vendor: "", webgl_renderer: "" };
    expect(await workerFingerprint(async () => ({ worker: facts, graphics }))).toEqual({ worker: facts, graphics });
    expect(await workerFingerprint(async () => ({ worker: facts }))).toEqual({ worker: facts, graphics: null });
    expect(await workerFingerprint(async () => ({ worker: null }))).toBeNull();
    expect(await workerFingerprint(async () => { throw new Error("frame_unavailable"); })).toBeNull();
    vi.useFakeTimers();
    try {
      const pending = workerFingerprint(() => new Promise(() => {}), { timeoutMs: 50 });
      await vi.advanceTimersByTimeAsync(50);
      expect(await pending).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
