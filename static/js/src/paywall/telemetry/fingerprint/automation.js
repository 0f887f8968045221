/**
 * Fingerprint source: the names an automation framework may leave on `window` and `document`
 * (own property names, and the root element's attributes). The detector
 * (`detectors/automation.js`) turns them into flags; only the flags are sent.
 */
import { automationFlags } from "../../detectors/automation.js";

export function automationNames(win) {
  const names = (target) => {
    try {
      return Object.getOwnPropertyNames(target);
    } catch {
      return [];
    }
  };
  const root = win.document && win.document.documentElement;
  return {
    windowKeys: names(win),
    documentKeys: names(win.document),
    documentAttributes: root && typeof root.getAttributeNames === "function" ? root.getAttributeNames() : [],
  };
}

export function automationFingerprint(win) {
  return automationFlags(automationNames(win));
}
