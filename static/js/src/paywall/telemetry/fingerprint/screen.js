/** Fingerprint source: the screen, as `[width, height, availWidth, availHeight, dpr, colorDepth]`. */
export function screenFacts(win) {
  const s = win.screen || {};
  const int = (v) => (Number.isFinite(Number(v)) ? Math.round(Number(v)) : 0);
  const dpr = Number(win.devicePixelRatio);
  return [int(s.width), int(s.height), int(s.availWidth), int(s.availHeight), Number.isFinite(dpr) ? Math.round(dpr * 100) / 100 : 1, int(s.colorDepth)];
}
