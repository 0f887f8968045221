/**
 * Detector: the automation frameworks that leave their marks on `window` or `document`
 * (chromedriver's `cdc_…`/`$cdc_…` keys, Playwright's `__playwright…`/`__pw_…` bindings,
 * PhantomJS's `callPhantom`/`_phantom`, Selenium's `_selenium`/`__webdriver…`/`__driver…`,
 * `domAutomation`, Nightmare's `__nightmare`, …).
 *
 * Pure: given the own property names of window and document, returns the flags found, each
 * once, as the prefix or name that matched (never the full key, which can hold a random part).
 */
const WINDOW_MARKS = [
  ["cdc_", /^cdc_/],
  ["$cdc_", /^\$cdc_/],
  ["__playwright", /^__playwright/],
  ["__pw_", /^__pw_/],
  ["callPhantom", /^callPhantom$/],
  ["_phantom", /^_phantom$/],
  ["domAutomation", /^domAutomation(Controller)?$/],
  ["__nightmare", /^__nightmare$/],
  ["_selenium", /^_selenium$/],
  ["__webdriver", /^__(webdriver|selenium|fxdriver|driver)_/],
  ["__puppeteer", /^__puppeteer/],
];
const DOCUMENT_MARKS = [
  ["$cdc_", /^\$?cdc_/],
  ["__webdriver", /^__(webdriver|selenium|fxdriver|driver)_/],
  ["$wdc_", /^\$wdc_/],
];

/**
 * A cheap first test every mark above passes (one regex per name instead of one per mark):
 * callers with many names may keep only those that pass, then run `automationFlags` on them.
 */
export const AUTOMATION_HINT = /^(\$?cdc_|\$wdc_|__|_phantom$|_selenium$|callPhantom$|domAutomation|webdriver$|selenium$|driver$)/;

function scan(keys, marks, found) {
  for (const key of keys) {
    for (const [flag, re] of marks) {
      if (re.test(key) && !found.includes(flag)) found.push(flag);
    }
  }
}

/**
 * @param {{windowKeys: string[], documentKeys: string[], documentAttributes?: string[]}} seen
 * @returns {string[]}
 */
export function automationFlags({ windowKeys = [], documentKeys = [], documentAttributes = [] }) {
  const found = [];
  scan(windowKeys, WINDOW_MARKS, found);
  scan(documentKeys, DOCUMENT_MARKS, found);
  // Selenium IDE / older drivers mark the root element.
  for (const name of documentAttributes) {
    if (/^(webdriver|selenium|driver)$/.test(name) && !found.includes(name)) found.push(name);
  }
  return found;
}
