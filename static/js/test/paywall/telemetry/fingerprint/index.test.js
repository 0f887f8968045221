// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { SLICE_BUDGET_MS, collectFingerprint } from "../../../../src/paywall/telemetry/fingerprint/index.js";
import { AUTOMATION_HINT } from "../../../../src/paywall/detectors/automation.js";
import { sha256Hex } from "../../../../src/paywall/natives.js";

const KEYS = ["canvas", "webgl", "webgl_vendor", "webgl_renderer", "screen", "tz", "tz_offset", "languages", "hw_concurrency", "device_memory", "touch_points", "platform", "webdriver", "automation", "worker"];

describe("collectFingerprint", () => {
  it("has exactly the protocol's fields; canvas, WebGL and the time zone's name from the worker", async () => {
    const worker = { hw_concurrency: 4, languages: ["en-US"], platform: "Linux x86_64", tz: "Europe/Paris", webgl_renderer: "ANGLE (X)" };
    const graphics = { canvas: "a".repeat(64), webgl: "b".repeat(64), webgl_vendor: "Google Inc.", webgl_renderer: "ANGLE (X)" };
    const fp = await collectFingerprint({ window, worker: async () => ({ worker, graphics }) });
    expect(Object.keys(fp)).toEqual(KEYS);
    expect(fp.canvas).toBe("a".repeat(64));
    expect(fp.webgl).toBe("b".repeat(64));
    expect(fp.webgl_renderer).toBe("ANGLE (X)");
    expect(fp.screen).toHaveLength(6);
    expect(fp.tz).toBe("Europe/Paris");
    expect(Number.isInteger(fp.tz_offset)).toBe(true);
    expect(Array.isArray(fp.languages)).toBe(true);
    expect(typeof fp.webdriver).toBe("boolean");
    expect(Array.isArray(fp.automation)).toBe(true);
    expect(fp.worker).toEqual(worker);
    expect(JSON.parse(JSON.stringify(fp))).toEqual(fp); // plain JSON
  });

  it("a failing worker probe gives worker: null, the hashes of nothing and no names, and hashing uses SHA-256", async () => {
    const fp = await collectFingerprint({ window, worker: async () => { throw new Error("no frame"); } });
    expect(fp.worker).toBeNull();
    expect(fp.canvas).toBe(await sha256Hex(""));
    expect(fp.webgl).toBe(await sha256Hex(""));
    expect([fp.webgl_vendor, fp.webgl_renderer, fp.tz]).toEqual(["", "", ""]);
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

  it("is collected in idle slices, none over the slice budget, never reading Intl on the page", async () => {
    const slices = [];
    const idle = (fn) => slices.push(fn);
    let clock = 0;
    const now = () => clock++; // every clock read "costs" 1 ms: one per 64 names scanned
    const names = Array.from({ length: 1000 }, (_, i) => `name${i}`);
    // A window with 1000 own names and no Intl at all.
    const win = { document, navigator: window.navigator, screen: window.screen, devicePixelRatio: 1, Date };
    for (const name of names) win[name] = 1;
    const done = collectFingerprint({ window: win, idle, now });
    let ran = 0;
    while (slices.length) {
      const next = slices.shift();
      const before = clock;
      next();
      expect(clock - before).toBeLessThanOrEqual(SLICE_BUDGET_MS + 1);
      ran++;
      await new Promise((resolve) => setTimeout(resolve, 0)); // the next slice is asked for
    }
    const fp = await done;
    expect(ran).toBeGreaterThan(5); // the work was spread over several slices
    expect(fp.tz).toBe("");
  });

  it("the automation scan's first test lets every known mark through", () => {
    const marks = ["cdc_x", "$cdc_x", "__playwright_x", "__pw_x", "callPhantom", "_phantom", "domAutomation", "domAutomationController", "__nightmare", "_selenium", "__webdriver_x", "__selenium_x", "__fxdriver_x", "__driver_x", "__puppeteer_x", "$wdc_x", "webdriver", "selenium", "driver"];
    for (const mark of marks) expect(AUTOMATION_HINT.test(mark), mark).toBe(true);
    expect(AUTOMATION_HINT.test("document")).toBe(false);
  });
});
