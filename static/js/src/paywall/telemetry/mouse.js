/**
 * Source: mouse (and pen) movement, as `[t, x, y]` samples (t ms since page start, x/y CSS px
 * in the viewport, integers). The connection delta-encodes them into the batch's `mouse` list.
 *
 * Cost per event: a few reads and one append to the registry's typed array (no allocation). Chromium already dispatches `pointermove` at
 * most once per animation frame; where a browser sends more, samples closer than
 * COALESCE_MS to the last one replace it (the latest position wins), so the rate stays near
 * the display's. Each sample keeps its event's own timestamp, so timing is not quantised.
 * Touch moves are left out: they are scroll gestures, not a hand on a mouse.
 */
import { listen, nowMs, unlisten } from "../natives.js";

export const COALESCE_MS = 8;

export function eventTime(event, now) {
  const t = event && event.timeStamp;
  return typeof t === "number" && t > 0 && t < 1e11 ? Math.round(t) : now();
}

export function mouseSource({ window: win, now = nowMs } = {}) {
  return {
    name: "mouse",
    start(emit) {
      let lastT = -1; // the last sample's time (-1: none yet)
      let opened = 0; // when the last sample's slot opened
      const type = typeof win.PointerEvent === "function" ? "pointermove" : "mousemove";
      const onMove = (event) => {
        if (event.pointerType === "touch") return;
        const t = eventTime(event, now);
        const x = Math.round(event.clientX);
        const y = Math.round(event.clientY);
        if (lastT >= 0 && t - opened < COALESCE_MS && t >= lastT) {
          lastT = t;
          emit.amend(t, x, y); // the latest position wins (a new sample if the last went out)
          return;
        }
        lastT = t;
        opened = t;
        emit(t, x, y);
      };
      const options = { capture: true, passive: true };
      listen(win, type, onMove, options);
      return () => unlisten(win, type, onMove, options);
    },
  };
}
