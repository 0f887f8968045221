/**
 * Detector: which of the built-ins the page script captured at start-up were replaced since, or
 * did not look native even then (docs/sdk-protocol.md, "Integrity").
 *
 * Pure: it is given, per built-in, what was captured at start, what is there now, and whether
 * the captured one looked native. A page that polyfills or instruments a built-in (zone.js,
 * an error tracker) shows up too: the server weighs the names, it never blocks on them alone.
 *
 * @param {Array<{name: string, captured: unknown, current: unknown, native: boolean}>} entries
 * @returns {string[]} the names, in the order given
 */
export function replacedBuiltins(entries) {
  const out = [];
  for (const { name, captured, current, native } of entries) {
    if (!native || current !== captured) out.push(name);
  }
  return out;
}

const NATIVE_RE = /\{\s*\[native code\]\s*\}\s*$/;

/** `fn` is a function whose source text is `[native code]` (as given by a trusted toString). */
export function looksNative(fn, toString) {
  if (typeof fn !== "function") return false;
  try {
    return NATIVE_RE.test(toString.call(fn));
  } catch {
    return false;
  }
}
