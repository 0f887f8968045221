/**
 * Source: clicks, as `[t, x, y, button, kind]` (kind 0 mouse, 1 touch, 2 pen, 3 keyboard).
 * A click with `detail === 0` was made with the keyboard (Enter/Space on a control); otherwise
 * the kind is the click's `pointerType` (Chromium's clicks are PointerEvents), mouse when the
 * browser does not say. Listened to on window in the capture phase, so a page that stops
 * propagation does not hide it.
 */
import { listen, nowMs, unlisten } from "../natives.js";
import { eventTime } from "./mouse.js";

const KINDS = { mouse: 0, touch: 1, pen: 2 };

export function clickKind(event) {
  if (event.detail === 0) return 3;
  return Object.hasOwn(KINDS, event.pointerType) ? KINDS[event.pointerType] : 0;
}

export function clicksSource({ window: win, now = nowMs } = {}) {
  return {
    name: "clicks",
    start(emit) {
      const onClick = (event) => {
        emit(
          eventTime(event, now),
          Math.round(event.clientX || 0),
          Math.round(event.clientY || 0),
          event.button | 0,
          clickKind(event),
        );
      };
      const options = { capture: true, passive: true };
      listen(win, "click", onClick, options);
      return () => unlisten(win, "click", onClick, options);
    },
  };
}
