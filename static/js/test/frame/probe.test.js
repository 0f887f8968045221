import { describe, expect, it, vi } from "vitest";
import { probeWorker, workerUrlOf } from "../../src/frame/probe.js";
import { navigatorFacts, parseWorkerFacts, timeZone, webglIdentity, workerFacts } from "../../src/shared/probe.js";

const location = { origin: "https://pay.example", href: "https://pay.example/sdk/frame/pub_a" };
const FACTS = { hw_concurrency: 8, languages: ["en-GB", "en"], platform: "Linux x86_64", tz: "Europe/London", webgl_renderer: "ANGLE (Mesa)" };

/** A Worker double: it answers with `reply` (or fails) once a test calls `run()`. */
function fakeWorker(reply, { fail = false } = {}) {
  const made = [];
  class W {
    constructor(url, options) {
      this.url = url;
      this.options = options;
      this.terminated = false;
      made.push(this);
      queueMicrotask(() => {
        if (fail) this.onerror && this.onerror(new Event("error"));
        else this.onmessage && this.onmessage({ data: reply });
      });
    }
    terminate() {
      this.terminated = true;
    }
  }
  return { W, made };
}

describe("worker URL", () => {
  it("sits beside the frame's own versioned script, on the frame's origin", () => {
    const doc = { currentScript: { src: "https://pay.example/static/js/frame.0.2.0.js" } };
    expect(workerUrlOf(doc, location, "0.2.0")).toBe("https://pay.example/static/js/worker.0.2.0.js");
    const plain = { currentScript: { src: "https://pay.example/assets/js/frame.js?x=1" } };
    expect(workerUrlOf(plain, location, "0.2.0")).toBe("https://pay.example/assets/js/worker.js");
  });

  it("falls back to /static/js/worker.<version>.js, never to another origin", () => {
    expect(workerUrlOf({ currentScript: null }, location, "0.2.0")).toBe("https://pay.example/static/js/worker.0.2.0.js");
    const foreign = { currentScript: { src: "https://cdn.evil/static/js/frame.0.2.0.js" } };
    expect(workerUrlOf(foreign, location, "0.2.0")).toBe("https://pay.example/static/js/worker.0.2.0.js");
    expect(workerUrlOf({}, location, "../x")).toBe("https://pay.example/static/js/worker.js");
  });
});

describe("probeWorker", () => {
  it("runs the worker once and returns its checked report, then terminates it", async () => {
    const { W, made } = fakeWorker({ dg: 1, type: "probe", worker: FACTS });
    expect(await probeWorker({ url: "https://pay.example/static/js/worker.js", Worker: W })).toEqual({ worker: FACTS, graphics: null });
    const graphics = { canvas: "c".repeat(64), webgl: "d".repeat(64), webgl_vendor: "V", webgl_renderer: "R" };
    const withGraphics = fakeWorker({ dg: 1, type: "probe", worker: FACTS, graphics });
    expect(await probeWorker({ url: "u", Worker: withGraphics.W })).toEqual({ worker: FACTS, graphics });
    const badGraphics = fakeWorker({ dg: 1, type: "probe", worker: FACTS, graphics: { ...graphics, canvas: "<script>" } });
    expect(await probeWorker({ url: "u", Worker: badGraphics.W })).toEqual({ worker: FACTS, graphics: null });
    expect(made[0].url).toBe("https://pay.example/static/js/worker.js");
    expect(made[0].terminated).toBe(true);
  });

  it("null for no Worker, an error, a malformed report, or a timeout", async () => {
    expect(await probeWorker({ url: "u", Worker: undefined })).toEqual({ worker: null, graphics: null });
    expect(await probeWorker({ url: "u", Worker: fakeWorker(null, { fail: true }).W })).toEqual({ worker: null, graphics: null });
    expect(await probeWorker({ url: "u", Worker: fakeWorker({ dg: 1, type: "probe", worker: { ...FACTS, hw_concurrency: "8" } }).W })).toEqual({ worker: null, graphics: null });
    class Throws {
      constructor() {
        throw new DOMException("blocked by CSP", "SecurityError");
      }
    }
    expect(await probeWorker({ url: "u", Worker: Throws })).toEqual({ worker: null, graphics: null });
    vi.useFakeTimers();
    try {
      class Silent {
        terminate() {}
      }
      const pending = probeWorker({ url: "u", Worker: Silent, timeoutMs: 100 });
      await vi.advanceTimersByTimeAsync(100);
      expect(await pending).toEqual({ worker: null, graphics: null });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("shared probes", () => {
  it("navigatorFacts reads concurrency, languages and platform, with safe defaults", () => {
    expect(navigatorFacts({ hardwareConcurrency: 4, languages: ["fr-FR", "fr"], platform: "MacIntel" })).toEqual({
      hw_concurrency: 4,
      languages: ["fr-FR", "fr"],
      platform: "MacIntel",
    });
    expect(navigatorFacts({ language: "de" })).toEqual({ hw_concurrency: 0, languages: ["de"], platform: "" });
    expect(navigatorFacts(undefined)).toEqual({ hw_concurrency: 0, languages: [], platform: "" });
  });

  it("timeZone gives the IANA name, or '' when Intl fails", () => {
    expect(timeZone({ DateTimeFormat: class { resolvedOptions() { return { timeZone: "Asia/Tokyo" }; } } })).toBe("Asia/Tokyo");
    expect(timeZone({})).toBe("");
  });

  it("webglIdentity prefers the unmasked vendor and renderer", () => {
    const params = { 0x9245: "Google Inc. (Intel)", 0x9246: "ANGLE (Intel UHD 620)", 0x1f00: "WebKit", 0x1f01: "WebKit WebGL" };
    const gl = (ext) => ({ getExtension: () => (ext ? {} : null), getParameter: (p) => params[p] });
    expect(webglIdentity(gl(true))).toEqual({ vendor: "Google Inc. (Intel)", renderer: "ANGLE (Intel UHD 620)" });
    expect(webglIdentity(gl(false))).toEqual({ vendor: "WebKit", renderer: "WebKit WebGL" });
    expect(webglIdentity(null)).toBeNull();
  });

  it("workerFacts reads a worker scope (WebGL through OffscreenCanvas) and parses back", () => {
    class OffscreenCanvas {
      getContext() {
        return { getExtension: () => ({}), getParameter: (p) => (p === 0x9246 ? "ANGLE (Mesa)" : "v") };
      }
    }
    const scope = {
      navigator: { hardwareConcurrency: 8, languages: ["en-GB", "en"], platform: "Linux x86_64" },
      Intl: { DateTimeFormat: class { resolvedOptions() { return { timeZone: "Europe/London" }; } } },
      OffscreenCanvas,
    };
    expect(workerFacts(scope)).toEqual(FACTS);
    expect(parseWorkerFacts(workerFacts(scope))).toEqual(FACTS);
    expect(workerFacts({ navigator: {}, Intl: {} }).webgl_renderer).toBeNull();
    expect(parseWorkerFacts({ ...FACTS, languages: "en" })).toBeNull();
  });
});
