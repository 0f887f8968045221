/**
 * Source: dwell per article — how long each `article[data-paywall-article]` has been on screen
 * while the page was visible, and its length in words, as
 * `{article: slug, visible_ms, words}`.
 *
 * `visible_ms` is the article's total so far (not an increment), so a lost batch loses
 * nothing: the server keeps the latest. An entry is emitted when an article leaves the
 * viewport, when the page is hidden, and on `flush()` (the page flushes before an unlock).
 * Visibility comes from one IntersectionObserver (no per-frame work) and `visibilitychange`.
 * `words` counts the article's text without the paywall's own bar, at emit time (the paid
 * body counts once it is in). A slug on the page twice is counted by its first article.
 */
import { isSlug } from "../../shared/messages.js";
import { listen, nowMs, unlisten } from "../natives.js";

export function countWords(text) {
  const m = typeof text === "string" ? text.match(/\S+/g) : null;
  return m ? m.length : 0;
}

export function articleWords(article) {
  let words = countWords(article.textContent);
  for (const ui of article.querySelectorAll("[data-paywall-ui]")) words -= countWords(ui.textContent);
  return Math.max(0, words);
}

/** A dwell sample's numbers `[slug id, visible_ms, words]` as the batch carries it. */
export function dwellShape(values, text) {
  return { article: text(values[0]), visible_ms: values[1], words: values[2] };
}

export function dwellSource({ window: win, now = nowMs } = {}) {
  const doc = win.document;
  const tracked = new Map(); // element → {slug, inView, since, total, sent}
  let emitFn = null;

  /** Close the running interval (if any) and emit the total when it changed. */
  function settle(element, entry, t, reopen) {
    if (entry.since !== null) entry.total += Math.max(0, t - entry.since);
    entry.since = reopen && entry.inView && doc.visibilityState !== "hidden" ? t : null;
    if (emitFn && entry.total > entry.sent) {
      entry.sent = entry.total;
      emitFn(emitFn.text(entry.slug), Math.round(entry.total), articleWords(element));
    }
  }

  const settleAll = (reopen) => {
    const t = now();
    for (const [element, entry] of tracked) settle(element, entry, t, reopen);
  };

  return {
    name: "dwell",
    shape: dwellShape,
    flush: () => settleAll(true),
    start(emit) {
      if (typeof win.IntersectionObserver !== "function") return undefined;
      emitFn = emit;
      const observer = new win.IntersectionObserver((records) => {
        const t = now();
        for (const record of records) {
          const entry = tracked.get(record.target);
          if (!entry) continue;
          entry.inView = record.isIntersecting;
          settle(record.target, entry, t, true);
        }
      });
      const observe = () => {
        const seen = new Set();
        for (const article of doc.querySelectorAll("article[data-paywall-article]")) {
          const slug = article.getAttribute("data-paywall-article");
          if (!isSlug(slug) || seen.has(slug)) continue;
          seen.add(slug);
          tracked.set(article, { slug, inView: false, since: null, total: 0, sent: 0 });
          observer.observe(article);
        }
      };
      const onVisibility = () => settleAll(true);
      if (doc.readyState === "loading") listen(doc, "DOMContentLoaded", observe, { once: true });
      else observe();
      listen(doc, "visibilitychange", onVisibility, { passive: true });
      return () => {
        observer.disconnect();
        unlisten(doc, "visibilitychange", onVisibility, { passive: true });
        emitFn = null;
      };
    },
  };
}
