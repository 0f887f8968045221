// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { collectFingerprint } from "../../../../src/paywall/telemetry/fingerprint/index.js";
import { sha256Hex } from "../../../../src/paywall/natives.js";

const KEYS = ["canvas", "webgl", "webgl_vendor", "webgl_renderer", "screen", "tz", "tz_offset", "languages", "hw_concurrency", "device_memory", "touch_points", "platform", "webdriver", "automation", "worker"];

describe("collectFingerprint", () => {
  it("has exactly the protocol's fields, hashes as 64 hex, the worker's report included", async () => {
    const worker = { hw_concurrency: 4, languages: ["en-US"], platform: "Linux x86_64", tz: "UTC", webgl_renderer: null };
    const fp = await collectFingerprint({ window, worker: async () => worker });
    expect(Object.keys(fp)).toEqual(KEYS);
    expect(fp.canvas).toMatch(/^[0-9a-f]{64}$/);
    expect(fp.webgl).toMatch(/^[0-9a-f]{64}$/);
    expect(fp.screen).toHaveLength(6);
    expect(typeof fp.tz).toBe("string");
    expect(Number.isInteger(fp.tz_offset)).toBe(true);
    expect(Array.isArray(fp.languages)).toBe(true);
    expect(typeof fp.webdriver).toBe("boolean");
    expect(Array.isArray(fp.automation)).toBe(true);
    expect(fp.worker).toEqual(worker);
    expect(JSON.parse(JSON.stringify(fp))).toEqual(fp); // plain JSON
  });

  it("a failing worker probe gives worker: null, and hashing uses SHA-256", async () => {
    const fp = await collectFingerprint({ window, worker: async () => { throw new Error("no frame"); } });
    expect(fp.worker).toBeNull();
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("flags automation marks left on the page", async () => {
    window.cdc_adoQpoasnfa76pfcZLmcfl_Array = [];
    try {
      expect((await collectFingerprint({ window })).automation).toContain("cdc_");
    } finally {
      delete window.cdc_adoQpoasnfa76pfcZLmcfl_Array;
    }
  });
});
