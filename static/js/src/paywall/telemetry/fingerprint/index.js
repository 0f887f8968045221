/**
 * The device fingerprint sent once per connection (`fingerprint` in the batch after hello;
 * docs/sdk-protocol.md). It lists its sources, one signal each.
 *
 * Nothing of it runs at load, and nothing of it is a long task: it is collected in idle slices
 * after the telemetry started, each slice a few cheap reads (navigator, screen, time zone) or
 * a bounded part of the automation scan (SLICE_BUDGET_MS of names, then the next slice). The
 * canvas image and the WebGL context, which cost tens of milliseconds to make (hundreds on a
 * slow phone), are not made on the page at all: the signer frame's worker draws and reads them
 * on an OffscreenCanvas, off any main thread, and sends their SHA-256 hashes with its own
 * facts (`probe` → `{worker, graphics}`; `shared/probe.js`). So does the time zone's IANA name
 * (`Intl.DateTimeFormat`, whose first use loads ICU's data: 20–150 ms); the page reads its own
 * offset. Where there is no worker answer, the hashes are those of the empty string, and the
 * WebGL names and the time zone "".
 */
import { AUTOMATION_HINT, automationFlags } from "../../detectors/automation.js";
import { nowMs } from "../../natives.js";
import { automationNames } from "./automation.js";
import { navigatorFingerprint } from "./navigator.js";
import { screenFacts } from "./screen.js";
import { timezoneOffset } from "./timezone.js";

/** SHA-256 of "" (no canvas or WebGL answer). */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** The most one idle slice of the automation scan spends before it yields. */
export const SLICE_BUDGET_MS = 3;

const immediately = (fn) => fn();

/** Run `fn` in the next idle slice; resolves with its result. */
function inSlice(idle, fn) {
  return new Promise((resolve, reject) => {
    idle(() => {
      try {
        resolve(fn());
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** The automation flags over `names`, scanned in idle slices of at most SLICE_BUDGET_MS. */
async function scanInSlices(idle, names, now) {
  const found = new Set();
  const lists = [
    ["windowKeys", names.windowKeys],
    ["documentKeys", names.documentKeys],
    ["documentAttributes", names.documentAttributes],
  ];
  for (const [key, list] of lists) {
    let i = 0;
    while (i < list.length) {
      i = await inSlice(idle, () => {
        const started = now();
        let j = i;
        // Chunks of 64 names between clock reads: the budget is kept without a read per name.
        while (j < list.length && now() - started < SLICE_BUDGET_MS) {
          const part = list.slice(j, j + 64).filter((name) => AUTOMATION_HINT.test(name));
          if (part.length) for (const flag of automationFlags({ [key]: part })) found.add(flag);
          j += 64;
        }
        return j;
      });
    }
  }
  return [...found];
}

/** A probe answer's graphics part, checked; null for anything else. */
function graphicsOf(result) {
  const g = result && typeof result === "object" ? result.graphics : null;
  if (!g || typeof g !== "object") return null;
  const hex = (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const text = (v) => typeof v === "string" && v.length <= 256;
  if (!hex(g.canvas) || !hex(g.webgl) || !text(g.webgl_vendor) || !text(g.webgl_renderer)) return null;
  return g;
}

/**
 * @param {{window: Window, idle?: (fn: Function) => void, now?: () => number,
 *          worker?: () => Promise<{worker: object|null, graphics?: object}|null>}} options
 *   `idle` schedules one slice (default: at once); `worker`: the frame's `probe` answer
 * @returns {Promise<object>} the `fingerprint` object of the protocol
 */
export async function collectFingerprint({ window: win, idle = immediately, now = nowMs, worker = async () => null }) {
  const fromWorker = Promise.resolve()
    .then(worker)
    .catch(() => null);
  const facts = await inSlice(idle, () => ({
    nav: navigatorFingerprint(win),
    screen: screenFacts(win),
    tzOffset: timezoneOffset(win),
  }));
  const names = await inSlice(idle, () => automationNames(win));
  const automation = await scanInSlices(idle, names, now);
  const probed = await fromWorker;
  const graphics = graphicsOf(probed);
  const nav = facts.nav;
  return {
    canvas: graphics ? graphics.canvas : EMPTY_SHA256,
    webgl: graphics ? graphics.webgl : EMPTY_SHA256,
    webgl_vendor: graphics ? graphics.webgl_vendor : "",
    webgl_renderer: graphics ? graphics.webgl_renderer : "",
    screen: facts.screen,
    // The IANA name is the worker's (Intl would load ICU on the page's main thread).
    tz: probed && probed.worker && typeof probed.worker.tz === "string" ? probed.worker.tz : "",
    tz_offset: facts.tzOffset,
    languages: nav.languages,
    hw_concurrency: nav.hw_concurrency,
    device_memory: nav.device_memory,
    touch_points: nav.touch_points,
    platform: nav.platform,
    webdriver: nav.webdriver,
    automation,
    worker: probed && probed.worker && typeof probed.worker === "object" ? probed.worker : null,
  };
}
