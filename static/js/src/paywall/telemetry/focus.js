/**
 * Source: focus and visibility, as `[t, state]` with state 0 blur, 1 focus (the window), 2
 * hidden, 3 visible (the document).
 */
import { listen, nowMs, unlisten } from "../natives.js";
import { eventTime } from "./mouse.js";

export const FOCUS_STATES = Object.freeze({ blur: 0, focus: 1, hidden: 2, visible: 3 });

export function focusSource({ window: win, now = nowMs } = {}) {
  const doc = win.document;
  return {
    name: "focus",
    start(emit) {
      // Not in the capture phase: an element's focus (which does not bubble) never reaches it.
      const onFocus = (event) => {
        emit(eventTime(event, now), event.type === "focus" ? 1 : 0);
      };
      const onVisibility = (event) => {
        emit(eventTime(event, now), doc.visibilityState === "hidden" ? 2 : 3);
      };
      const options = { passive: true };
      listen(win, "focus", onFocus, options);
      listen(win, "blur", onFocus, options);
      listen(doc, "visibilitychange", onVisibility, options);
      return () => {
        unlisten(win, "focus", onFocus, options);
        unlisten(win, "blur", onFocus, options);
        unlisten(doc, "visibilitychange", onVisibility, options);
      };
    },
  };
}
