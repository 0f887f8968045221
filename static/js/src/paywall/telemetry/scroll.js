/**
 * Source: the page's vertical scroll position, as `[t, scrollY]`. Like mouse moves, positions
 * closer than COALESCE_MS to the last one replace it.
 */
import { listen, nowMs, unlisten } from "../natives.js";
import { COALESCE_MS, eventTime } from "./mouse.js";

export function scrollSource({ window: win, now = nowMs } = {}) {
  return {
    name: "scroll",
    start(emit) {
      let lastT = -1;
      let opened = 0; // when the last sample's slot opened
      const onScroll = (event) => {
        const t = eventTime(event, now);
        const y = Math.round(win.scrollY || win.pageYOffset || 0);
        if (lastT >= 0 && t - opened < COALESCE_MS && t >= lastT) {
          lastT = t;
          emit.amend(t, y);
          return;
        }
        lastT = t;
        opened = t;
        emit(t, y);
      };
      const options = { capture: true, passive: true };
      listen(win, "scroll", onScroll, options);
      return () => unlisten(win, "scroll", onScroll, options);
    },
  };
}
