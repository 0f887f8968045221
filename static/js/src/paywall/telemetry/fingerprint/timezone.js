/**
 * Fingerprint source: the time zone — the IANA name and the current offset in minutes, as
 * `Date.prototype.getTimezoneOffset` gives it (positive west of UTC: Paris in winter is -60).
 */
import { timeZone } from "../../../shared/probe.js";

/**
 * The page's own offset only: `Date#getTimezoneOffset` costs nothing, while the IANA name
 * needs `Intl.DateTimeFormat`, whose first use in a page loads ICU's data on the main thread
 * (20–150 ms measured here). The name comes from the frame's worker instead (`worker.tz`).
 */
export function timezoneOffset(win) {
  try {
    return new win.Date().getTimezoneOffset() | 0;
  } catch {
    return 0;
  }
}

/** Both, as a worker or a test reads them (never on the page's main thread: see above). */
export function timezoneFacts(win) {
  let offset = 0;
  try {
    offset = new win.Date().getTimezoneOffset() | 0;
  } catch {
    offset = 0;
  }
  return { tz: timeZone(win.Intl), tz_offset: offset };
}
