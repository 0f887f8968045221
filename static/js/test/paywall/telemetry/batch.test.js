import { describe, expect, it } from "vitest";
import { MAX_DWELL_ARTICLES, createBatcher, utf8Length } from "../../../src/paywall/telemetry/batch.js";

const mouse = (t, x, y) => ({ source: "mouse", data: [t, x, y] });
const LIMITS = { maxEvents: 512, maxBytes: 16384 };

describe("batches", () => {
  it("delta-encodes mouse samples from (0, 0, 0) for the first, then from the last one sent", () => {
    const b = createBatcher();
    const first = b.build([mouse(100, 10, 20), mouse(116, 13, 18)], LIMITS);
    const msg = JSON.parse(first.text);
    expect(msg).toEqual({ type: "batch", seq: 0, mouse: [100, 10, 20, 16, 3, -2], clicks: [], scroll: [], keys: [], focus: [], dwell: [] });
    first.commit();
    const second = JSON.parse(b.build([mouse(150, 13, 30)], LIMITS).text);
    expect(second.seq).toBe(1);
    expect(second.mouse).toEqual([34, 0, 12]);
  });

  it("the server's sum of the deltas gives back every absolute sample", () => {
    const b = createBatcher();
    const samples = Array.from({ length: 50 }, (_, i) => mouse(1000 + i * 16, Math.round(300 + 100 * Math.sin(i / 5)), 200 + i * 3));
    const absolute = [];
    let t = 0;
    let x = 0;
    let y = 0;
    for (let i = 0; i < samples.length; i += 7) {
      const batch = b.build(samples.slice(i, i + 7), LIMITS);
      batch.commit();
      const m = JSON.parse(batch.text).mouse;
      for (let j = 0; j < m.length; j += 3) {
        t += m[j];
        x += m[j + 1];
        y += m[j + 2];
        absolute.push([t, x, y]);
      }
    }
    expect(absolute).toEqual(samples.map((s) => s.data));
  });

  it("a batch that is not committed (not sent) leaves the state as it was", () => {
    const b = createBatcher();
    b.build([mouse(100, 10, 20)], LIMITS); // built, never sent
    expect(JSON.parse(b.build([mouse(100, 10, 20)], LIMITS).text)).toMatchObject({ seq: 0, mouse: [100, 10, 20] });
  });

  it("takes at most max_events samples, oldest first", () => {
    const b = createBatcher();
    const samples = Array.from({ length: 30 }, (_, i) => ({ source: "keys", data: i }));
    const batch = b.build(samples, { maxEvents: 10, maxBytes: 16384 });
    expect(batch.taken).toBe(10);
    expect(JSON.parse(batch.text).keys).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("halves the count until the batch fits max_batch_bytes", () => {
    const b = createBatcher();
    const samples = Array.from({ length: 400 }, (_, i) => ({ source: "clicks", data: [100000 + i, 1234, 567, 0, 0] }));
    const batch = b.build(samples, { maxEvents: 512, maxBytes: 2048 });
    expect(batch.bytes).toBeLessThanOrEqual(2048);
    expect(utf8Length(batch.text)).toBe(batch.bytes);
    expect(batch.taken).toBe(50); // 400 → 200 → 100 → 50
  });

  it("groups every source into its list, and keeps the latest total per article", () => {
    const b = createBatcher();
    const batch = b.build(
      [
        { source: "clicks", data: [10, 1, 2, 0, 3] },
        { source: "scroll", data: [11, 400] },
        { source: "keys", data: 120 },
        { source: "focus", data: [12, 2] },
        { source: "dwell", data: { article: "a", visible_ms: 100, words: 9 } },
        { source: "dwell", data: { article: "a", visible_ms: 250, words: 9 } },
        { source: "unknown", data: 1 },
      ],
      { ...LIMITS, extra: { fingerprint: { canvas: "x" }, integrity: { replaced: ["JSON.stringify"] } } },
    );
    expect(JSON.parse(batch.text)).toEqual({
      type: "batch",
      seq: 0,
      mouse: [],
      clicks: [[10, 1, 2, 0, 3]],
      scroll: [[11, 400]],
      keys: [120],
      focus: [[12, 2]],
      dwell: [{ article: "a", visible_ms: 250, words: 9 }],
      fingerprint: { canvas: "x" },
      integrity: { replaced: ["JSON.stringify"] },
    });
  });

  it("names at most MAX_DWELL_ARTICLES articles per batch; the rest wait for the next", () => {
    const b = createBatcher();
    const samples = Array.from({ length: MAX_DWELL_ARTICLES + 6 }, (_, i) => ({ source: "dwell", data: { article: `a${i}`, visible_ms: 10, words: 1 } }));
    const batch = b.build(samples, LIMITS);
    expect(batch.taken).toBe(MAX_DWELL_ARTICLES);
    expect(JSON.parse(batch.text).dwell).toHaveLength(MAX_DWELL_ARTICLES);
  });

  it("nothing to send: null; utf8Length counts bytes", () => {
    expect(createBatcher().build([], LIMITS)).toBeNull();
    expect(utf8Length("aé€😀")).toBe(1 + 2 + 3 + 4);
  });
});
