/**
 * The press-and-hold challenge (docs/sdk-protocol.md, "Challenge"): when an unlock is answered
 * with `risk_challenge`, the article's bar shows `button[data-paywall-action="challenge"]`;
 * the reader holds it (pointer, or Space/Enter from the keyboard) for `hold_ms`, and the
 * pointer trace of the hold — `[t, x, y, kind]`, kind 0 down, 1 move, 2 up; t ms since page
 * start; x/y CSS px in the viewport — goes to the server over the telemetry socket.
 *
 * A hold released too early starts over. A keyboard hold has no moves: its down and up are at
 * the button's centre. The progress is drawn by the stylesheet (`--dg-hold`, set through the
 * CSSOM, which a CSP allows).
 */
import { adoptSheet } from "../shared/sheet.js";
import { listen, nowMs } from "./natives.js";
import { eventTime } from "./telemetry/mouse.js";

const ID_RE = /^chl_[A-Za-z0-9_-]{1,64}$/;
/** Most events kept from one hold (moves beyond it are dropped; down and up always stay). */
export const MAX_TRACE_EVENTS = 400;

/** `details.challenge` of a `risk_challenge` error, checked: `{id, kind, holdMs}` or null. */
export function parseChallenge(value) {
  if (!value || typeof value !== "object") return null;
  const { id, kind } = value;
  const holdMs = value.hold_ms === undefined ? 800 : value.hold_ms;
  if (typeof id !== "string" || !ID_RE.test(id) || kind !== "press_hold") return null;
  if (!Number.isSafeInteger(holdMs) || holdMs < 100 || holdMs > 10_000) return null;
  return { id, kind, holdMs };
}

const HOLD_KEYS = new Set([" ", "Enter"]);

/** The button fills from the left while it is held, over `--dg-hold` (set through the CSSOM). */
export const CHALLENGE_CSS = `
.dg-challenge{position:relative;overflow:hidden;touch-action:none;user-select:none;-webkit-user-select:none}
.dg-challenge::before{content:"";position:absolute;inset:0;background:#fff6;transform:scaleX(0);transform-origin:left;pointer-events:none}
.dg-holding::before{transform:none;transition:transform var(--dg-hold,.8s) linear}
`;
const styled = new WeakSet();

/**
 * A hold button. `done` resolves with the trace of the first hold that lasted `holdMs`.
 * @param {{document: Document, holdMs: number, now?: () => number, onShort?: () => void}} options
 */
export function createHoldButton({ document: doc, holdMs, now = nowMs, onShort = () => {} }) {
  if (!styled.has(doc)) {
    styled.add(doc);
    adoptSheet(doc, CHALLENGE_CSS);
  }
  const button = doc.createElement("button");
  button.type = "button";
  button.className = "dg-unlock dg-challenge"; // the unlock button's look, and a progress fill
  button.setAttribute("data-paywall-action", "challenge");
  const seconds = Math.round(holdMs / 100) / 10;
  button.setAttribute("aria-label", `Press and hold for ${seconds} seconds to confirm you are a person`);
  button.textContent = "Press and hold to continue";
  if (button.style && typeof button.style.setProperty === "function") button.style.setProperty("--dg-hold", `${holdMs}ms`);

  let trace = null;
  let downAt = 0;
  let by = null; // the pointerId, or "key:<key>"
  let finished = false;
  let resolveDone;
  const done = new Promise((resolve) => {
    resolveDone = resolve;
  });

  function centre() {
    const r = button.getBoundingClientRect();
    return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)];
  }

  function begin(t, x, y, who) {
    trace = [[t, x, y, 0]];
    downAt = t;
    by = who;
    button.classList.add("dg-holding");
    button.setAttribute("aria-pressed", "true");
  }

  function end(t, x, y) {
    if (!trace) return;
    trace.push([Math.max(t, downAt), x, y, 2]);
    const events = trace;
    trace = null;
    by = null;
    button.classList.remove("dg-holding");
    button.removeAttribute("aria-pressed");
    if (events[events.length - 1][0] - downAt >= holdMs) {
      finished = true;
      button.setAttribute("aria-disabled", "true");
      resolveDone(events);
    } else {
      onShort();
    }
  }

  listen(button, "pointerdown", (event) => {
    if (finished || trace || event.isPrimary === false || event.button !== 0) return;
    event.preventDefault(); // no text selection, no emulated mouse events after a touch
    begin(eventTime(event, now), Math.round(event.clientX), Math.round(event.clientY), event.pointerId);
    try {
      button.setPointerCapture(event.pointerId);
    } catch {
      /* not supported: the release is still seen on the button */
    }
  });
  listen(button, "pointermove", (event) => {
    if (!trace || by !== event.pointerId || trace.length >= MAX_TRACE_EVENTS - 1) return;
    trace.push([Math.max(eventTime(event, now), downAt), Math.round(event.clientX), Math.round(event.clientY), 1]);
  });
  const release = (event) => {
    if (!trace || by !== event.pointerId) return;
    end(eventTime(event, now), Math.round(event.clientX), Math.round(event.clientY));
  };
  listen(button, "pointerup", release);
  listen(button, "pointercancel", release);
  listen(button, "lostpointercapture", release);
  listen(button, "keydown", (event) => {
    if (!HOLD_KEYS.has(event.key)) return;
    event.preventDefault(); // no click activation
    // A new key press restarts a keyboard hold whose release went elsewhere (focus moved).
    if (finished || event.repeat || (trace && typeof by !== "string")) return;
    const [x, y] = centre();
    begin(eventTime(event, now), x, y, `key:${event.key}`);
  });
  listen(button, "keyup", (event) => {
    if (!HOLD_KEYS.has(event.key)) return;
    event.preventDefault();
    if (!trace || by !== `key:${event.key}`) return;
    const [x, y] = centre();
    end(eventTime(event, now), x, y);
  });
  listen(button, "contextmenu", (event) => event.preventDefault()); // a long touch press

  return { button, done };
}

/** How long the challenge waits for the reader's hold, then for the server's result. */
export const CHALLENGE_WAIT_MS = 60_000;
/** Presses released too early before the challenge counts as failed (a script clicking it). */
export const MAX_SHORT_HOLDS = 5;
export const CHALLENGE_RESULT_TIMEOUT_MS = 15_000;

/**
 * The press-and-hold challenge in each of an article's bars (in place of its unlock button),
 * for the page script. `list`: the article's entries `{article, button, note}`; `details`: the
 * `risk_challenge` error's details; `telemetry`: the socket that carries the trace. Resolves
 * true when the server says the hold passed; false when the challenge is unusable, the reader
 * does not hold within CHALLENGE_WAIT_MS or lets go too early MAX_SHORT_HOLDS times, or the
 * result is a fail or does not come.
 */
export async function runChallenge({ document: doc, window: win, list, details, telemetry }) {
  const spec = parseChallenge(details);
  if (!spec) return false;
  const holds = [];
  let timer = null;
  let giveUp;
  const gaveUp = new Promise((resolve) => {
    giveUp = () => resolve(null);
  });
  let shorts = 0;
  try {
    for (const entry of list) {
      const hold = createHoldButton({
        document: doc,
        holdMs: spec.holdMs,
        onShort: () => {
          entry.note.textContent = "Keep holding until the button is full.";
          if (++shorts >= MAX_SHORT_HOLDS) giveUp();
        },
      });
      const hadFocus = doc.activeElement === entry.button;
      hold.button.setAttribute("aria-describedby", entry.note.id);
      entry.button.after(hold.button);
      entry.button.hidden = true;
      entry.article.setAttribute("data-paywall-challenge", spec.kind);
      entry.note.textContent = "Press and hold the button to confirm you are a person.";
      if (hadFocus) hold.button.focus();
      holds.push([entry, hold]);
    }
    timer = win.setTimeout(giveUp, CHALLENGE_WAIT_MS);
    const events = await Promise.race([...holds.map(([, hold]) => hold.done), gaveUp]);
    if (!events) return false;
    for (const [entry] of holds) entry.note.textContent = "Checking…";
    return (await telemetry.challenge(spec.id, events, CHALLENGE_RESULT_TIMEOUT_MS)) === true;
  } finally {
    if (timer !== null) win.clearTimeout(timer);
    for (const [entry, hold] of holds) {
      const hadFocus = doc.activeElement === hold.button;
      hold.button.remove();
      entry.button.hidden = false;
      entry.article.removeAttribute("data-paywall-challenge");
      if (hadFocus) entry.button.focus();
    }
  }
}
