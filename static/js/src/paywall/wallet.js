/**
 * The wallet menu of each article's bar (the wallet chunk, loaded when a reader first opens a
 * "Wallet" menu): the status line (channel, remaining, cap) and the entries that ask the frame
 * to set the cap, top up, close the channel or replace the claim key. The page script renders
 * only each bar's `<details class="dg-wallet"><summary>Wallet</summary></details>`; this fills
 * them. The frame owns all of it: these are buttons that ask it.
 */
import { formatXrp } from "../shared/drops.js";
import { adoptSheet } from "../shared/sheet.js";

/** The entries' `data-paywall-action` → the frame request (and `window.Dropgate` method). */
export const WALLET_ACTIONS = Object.freeze({
  "set-cap": "setCap",
  "top-up": "topUp",
  "close-channel": "closeChannel",
  "rotate-key": "rotateClaimKey",
});
const LABELS = {
  "set-cap": "Spending cap…",
  "top-up": "Top up channel…",
  "close-channel": "Close channel…",
  "rotate-key": "Replace claim key…",
};

export const WALLET_CSS = `
.dg-wallet-panel{position:absolute;right:0;top:calc(100% + 4px);z-index:2147483000;box-sizing:border-box;width:18em;display:grid;gap:6px;padding:12px;border:1px solid #8886;border-radius:8px;background:Canvas;color:CanvasText;box-shadow:0 6px 24px #0004}
.dg-wallet-panel p{margin:0 0 4px}
.dg-wallet-panel button{font:inherit;padding:6px 10px;border-radius:6px;border:1px solid #8888;background:ButtonFace;color:ButtonText;cursor:pointer;text-align:left}
.dg-wallet-panel button:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
`;

/** The status line for a frame's `{channel, capDrops}` view. */
export function walletText(view) {
  const cap = Number.isSafeInteger(view.capDrops) ? ` Cap: ${formatXrp(view.capDrops)} XRP.` : "";
  const ch = view.channel;
  if (ch && Number.isSafeInteger(ch.remainingDrops)) {
    return `Channel ${ch.status}: ${formatXrp(ch.remainingDrops)} of ${formatXrp(ch.fundedDrops)} XRP left.${cap}`;
  }
  return `No payment channel yet.${cap}`;
}

/**
 * Fill each `details.dg-wallet` (once) with its panel.
 * @returns {{show(view): void, fail(code): void, action(name): string|null}}
 */
export function mountWallet({ document: doc, menus }) {
  adoptSheet(doc, WALLET_CSS);
  const statuses = [];
  for (const details of menus) {
    const panel = doc.createElement("div");
    panel.className = "dg-wallet-panel";
    panel.setAttribute("role", "group");
    panel.setAttribute("aria-label", "Reading wallet");
    const status = doc.createElement("p");
    status.className = "dg-wallet-status";
    status.setAttribute("aria-live", "polite");
    status.textContent = "Not used on this site yet.";
    panel.append(status);
    for (const action of Object.keys(WALLET_ACTIONS)) {
      const button = doc.createElement("button");
      button.type = "button";
      button.setAttribute("data-paywall-action", action);
      button.textContent = LABELS[action];
      panel.append(button);
    }
    details.append(panel);
    statuses.push(status);
  }
  const say = (text) => {
    for (const status of statuses) status.textContent = text;
  };
  return {
    show: (view) => view && say(walletText(view)),
    fail: (code) => say(`Could not finish (${code || "error"}).`),
    action: (name) => (Object.hasOwn(WALLET_ACTIONS, name) ? WALLET_ACTIONS[name] : null),
  };
}
