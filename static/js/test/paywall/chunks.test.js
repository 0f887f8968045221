// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from "vitest";
import { CHUNK_EVENT, chunkLoader, defineChunk } from "../../src/paywall/chunks.js";

const CHUNKS = {
  telemetry: { file: "paywall-telemetry.0.3.0.js", integrity: "sha384-abc" },
};

/** A document whose <script> elements are plain event targets (nothing is fetched). */
function fakeDocument() {
  const appended = [];
  const doc = {
    appended,
    createElement: () => Object.assign(new EventTarget(), { src: "", integrity: "", crossOrigin: null, async: false }),
    head: { append: (el) => appended.push(el) },
  };
  return doc;
}
let doc;
const inserted = () => doc.appended;

describe("chunk loader", () => {
  beforeEach(() => {
    doc = fakeDocument();
  });

  it("inserts the versioned file beside the page script, with its SRI hash and CORS, once", async () => {
    const load = chunkLoader(doc, "https://pay.example/static/js/paywall.js", CHUNKS);
    const first = load("telemetry");
    expect(load("telemetry")).toBe(first);
    const [script] = inserted();
    expect(inserted()).toHaveLength(1);
    expect(script.src).toBe("https://pay.example/static/js/paywall-telemetry.0.3.0.js");
    expect(script.integrity).toBe("sha384-abc");
    expect(script.crossOrigin).toBe("anonymous");
    expect(script.async).toBe(true);
    // the chunk, once run, hands its exports over on its own element
    const exports = { startPageTelemetry() {} };
    script.dispatchEvent(new CustomEvent(CHUNK_EVENT, { detail: exports }));
    script.dispatchEvent(new Event("load"));
    expect(await first).toBe(exports);
  });

  it("a chunk that fails to load (or to register) rejects, and may be tried again", async () => {
    const load = chunkLoader(doc, "https://pay.example/static/js/paywall.js", CHUNKS);
    const failed = load("telemetry");
    inserted()[0].dispatchEvent(new Event("error")); // e.g. an integrity mismatch
    await expect(failed).rejects.toThrow(/failed to load/);
    const again = load("telemetry");
    expect(again).not.toBe(failed);
    inserted()[1].dispatchEvent(new Event("load")); // ran, but never registered
    await expect(again).rejects.toThrow(/did not register/);
    await expect(load("nope")).rejects.toThrow(/no chunk nope/);
  });

  it("defineChunk dispatches on the running script only", () => {
    const script = document.createElement("script");
    const seen = [];
    script.addEventListener(CHUNK_EVENT, (e) => seen.push(e.detail));
    defineChunk({ a: 1 }, { currentScript: script });
    defineChunk({ b: 2 }, { currentScript: null }); // not run by the loader: nothing happens
    expect(seen).toEqual([{ a: 1 }]);
  });
});
