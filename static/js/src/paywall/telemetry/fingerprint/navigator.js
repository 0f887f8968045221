/**
 * Fingerprint source: what `navigator` says about the device — languages, hardware
 * concurrency, device memory (null where the browser does not expose it), touch points,
 * platform, and `navigator.webdriver` (true under WebDriver, CDP automation flags, …).
 */
import { navigatorFacts } from "../../../shared/probe.js";

export function navigatorFingerprint(win) {
  const nav = win.navigator || {};
  const memory = Number(nav.deviceMemory);
  const touch = Number(nav.maxTouchPoints);
  let webdriver = false;
  try {
    webdriver = nav.webdriver === true;
  } catch {
    webdriver = false;
  }
  return {
    ...navigatorFacts(nav),
    device_memory: nav.deviceMemory === undefined || !Number.isFinite(memory) ? null : memory,
    touch_points: Number.isInteger(touch) && touch >= 0 ? touch : 0,
    webdriver,
  };
}
