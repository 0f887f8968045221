/**
 * Source: key cadence — the interval in ms between one key-down and the next. Never which key:
 * the handler reads `timeStamp` and `repeat` and nothing else of the event (auto-repeat is
 * not typing, so it is skipped). Intervals are capped at MAX_INTERVAL_MS.
 */
import { listen, nowMs, unlisten } from "../natives.js";
import { eventTime } from "./mouse.js";

export const MAX_INTERVAL_MS = 60_000;

export function keysSource({ window: win, now = nowMs } = {}) {
  return {
    name: "keys",
    start(emit) {
      let previous = null;
      const onKeyDown = (event) => {
        if (event.repeat) return;
        const t = eventTime(event, now);
        if (previous !== null && t >= previous) emit(Math.min(t - previous, MAX_INTERVAL_MS));
        previous = t;
      };
      const options = { capture: true, passive: true };
      listen(win, "keydown", onKeyDown, options);
      return () => unlisten(win, "keydown", onKeyDown, options);
    },
  };
}
