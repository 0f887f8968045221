/**
 * Fingerprint source: the time zone — the IANA name and the current offset in minutes, as
 * `Date.prototype.getTimezoneOffset` gives it (positive west of UTC: Paris in winter is -60).
 */
import { timeZone } from "../../../shared/probe.js";

export function timezoneFacts(win) {
  let offset = 0;
  try {
    offset = new win.Date().getTimezoneOffset() | 0;
  } catch {
    offset = 0;
  }
  return { tz: timeZone(win.Intl), tz_offset: offset };
}
