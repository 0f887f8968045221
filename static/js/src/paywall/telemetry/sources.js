/**
 * The one list of the page's telemetry sources (each collects one signal; see
 * `../telemetry.js` for the interface). The fingerprint's sources are listed in
 * `fingerprint/index.js`.
 */
import { clicksSource } from "./clicks.js";
import { dwellSource } from "./dwell.js";
import { focusSource } from "./focus.js";
import { keysSource } from "./keys.js";
import { mouseSource } from "./mouse.js";
import { scrollSource } from "./scroll.js";

export const SOURCES = [mouseSource, clicksSource, scrollSource, keysSource, focusSource, dwellSource];

export function pageSources(win) {
  return SOURCES.map((make) => make({ window: win }));
}
