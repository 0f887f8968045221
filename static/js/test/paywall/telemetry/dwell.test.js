// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { articleWords, countWords, dwellShape, dwellSource } from "../../../src/paywall/telemetry/dwell.js";
import { recorder } from "./sources.helpers.js";

/** An IntersectionObserver the test drives. */
class FakeObserver {
  static last = null;
  constructor(callback) {
    this.callback = callback;
    this.targets = [];
    FakeObserver.last = this;
  }
  observe(target) {
    this.targets.push(target);
  }
  disconnect() {
    this.targets = [];
  }
  fire(target, isIntersecting) {
    this.callback([{ target, isIntersecting }]);
  }
}

describe("dwell source", () => {
  let clock;
  let win;
  let stop;
  beforeEach(() => {
    clock = 0;
    document.body.innerHTML = `
      <article data-paywall-article="harbour-tides"><h2>Harbour tides</h2>
        <p>One two three four five six.</p>
        <div data-paywall-ui><button>Unlock for 0.2 XRP</button></div></article>
      <article data-paywall-article="city-bees"><p>Bees.</p></article>`;
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    win = { document, IntersectionObserver: FakeObserver };
  });
  afterEach(() => stop && stop());

  const article = (slug) => document.querySelector(`[data-paywall-article="${slug}"]`);

  it("counts words without the paywall's own bar", () => {
    expect(countWords("  a b\n c ")).toBe(3);
    expect(articleWords(article("harbour-tides"))).toBe(8);
  });

  it("emits the visible total when an article leaves the viewport, and on flush", () => {
    const { samples, emit } = recorder(dwellShape);
    const source = dwellSource({ window: win, now: () => clock });
    stop = source.start(emit);
    const io = FakeObserver.last;
    expect(io.targets).toHaveLength(2);
    clock = 1000;
    io.fire(article("harbour-tides"), true);
    clock = 4000;
    io.fire(article("harbour-tides"), false);
    expect(samples).toEqual([{ article: "harbour-tides", visible_ms: 3000, words: 8 }]);
    clock = 5000;
    io.fire(article("harbour-tides"), true);
    clock = 5500;
    source.flush();
    expect(samples.at(-1)).toEqual({ article: "harbour-tides", visible_ms: 3500, words: 8 }); // a total
    source.flush(); // nothing new: nothing sent
    expect(samples).toHaveLength(2);
  });

  it("does not count time while the page is hidden", () => {
    const { samples, emit } = recorder(dwellShape);
    const source = dwellSource({ window: win, now: () => clock });
    stop = source.start(emit);
    FakeObserver.last.fire(article("city-bees"), true);
    clock = 2000;
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    expect(samples).toEqual([{ article: "city-bees", visible_ms: 2000, words: 1 }]);
    clock = 60_000; // away
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    clock = 61_000;
    source.flush();
    expect(samples.at(-1)).toEqual({ article: "city-bees", visible_ms: 3000, words: 1 });
  });

  it("collects nothing without IntersectionObserver", () => {
    const { samples, emit } = recorder(dwellShape);
    expect(dwellSource({ window: { document } }).start(emit)).toBeUndefined();
    expect(samples).toEqual([]);
  });
});
