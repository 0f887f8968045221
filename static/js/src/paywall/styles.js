/**
 * The page script's styles, adopted as a constructed stylesheet (no <style>, no style="",
 * so a publisher's CSP needs no 'unsafe-inline'). Every selector is scoped to `dg-` classes.
 *
 * The challenge's own rules come with the challenge chunk (`challenge.js`).
 *
 * The unlock bar keeps one height in every state, and the button a minimum width, so that
 * the price arriving or the state changing does not move the page.
 */
import { adoptSheet } from "../shared/sheet.js";

export const PAYWALL_CSS = `
.dg-bar{display:flex;align-items:center;gap:12px;box-sizing:border-box;min-height:52px;margin:16px 0;padding:6px 0;position:relative;flex-wrap:nowrap;font:inherit}
.dg-unlock{flex:0 0 auto;box-sizing:border-box;min-width:16em;height:40px;padding:0 16px;border-radius:8px;border:1px solid #0b5cad;background:#0b5cad;color:#fff;font:inherit;font-weight:600;white-space:nowrap;cursor:pointer}
.dg-unlock[aria-disabled="true"]{opacity:.7;cursor:progress}
.dg-unlock:focus-visible,.dg-wallet>summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.dg-price{font-variant-numeric:tabular-nums}
.dg-note{flex:1 1 auto;min-width:0;font-size:.9em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dg-wallet{flex:0 0 auto;margin-left:auto;position:relative;font-size:.9em}
.dg-wallet>summary{cursor:pointer;padding:6px 8px;border-radius:6px;list-style:none}
.dg-wallet>summary::-webkit-details-marker{display:none}
.dg-host{padding:0;border:0;border-radius:12px;width:min(440px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:hidden;background:Canvas;box-shadow:0 12px 40px #0006}
.dg-host::backdrop{background:#0008}
.dg-host>iframe{display:block;border:0;width:100%;height:min(420px,calc(100vh - 24px))}
`;

export function adoptPaywallStyles(doc) {
  return adoptSheet(doc, PAYWALL_CSS);
}
