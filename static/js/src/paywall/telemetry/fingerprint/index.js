/**
 * The device fingerprint sent once per connection (`fingerprint` in the batch after hello;
 * docs/sdk-protocol.md). It lists its sources, one signal each; the canvas image and the
 * WebGL description are sent only as SHA-256 hashes.
 *
 * Computed once, when the browser is idle after load (never on the load's critical path).
 */
import { sha256Hex } from "../../natives.js";
import { automationFingerprint } from "./automation.js";
import { canvasImage } from "./canvas.js";
import { navigatorFingerprint } from "./navigator.js";
import { screenFacts } from "./screen.js";
import { timezoneFacts } from "./timezone.js";
import { webglFacts } from "./webgl.js";

/**
 * @param {{window: Window, hash?: (text: string) => Promise<string>,
 *          worker?: () => Promise<object|null>}} options  `worker`: the frame's worker report
 * @returns {Promise<object>} the `fingerprint` object of the protocol
 */
export async function collectFingerprint({ window: win, hash = sha256Hex, worker = async () => null }) {
  const doc = win.document;
  const gl = webglFacts(doc);
  const nav = navigatorFingerprint(win);
  const [canvas, webgl, inWorker] = await Promise.all([
    hash(canvasImage(doc)),
    hash(gl ? gl.description : ""),
    Promise.resolve()
      .then(worker)
      .catch(() => null),
  ]);
  const { tz, tz_offset } = timezoneFacts(win);
  return {
    canvas,
    webgl,
    webgl_vendor: gl ? gl.vendor : "",
    webgl_renderer: gl ? gl.renderer : "",
    screen: screenFacts(win),
    tz,
    tz_offset,
    languages: nav.languages,
    hw_concurrency: nav.hw_concurrency,
    device_memory: nav.device_memory,
    touch_points: nav.touch_points,
    platform: nav.platform,
    webdriver: nav.webdriver,
    automation: automationFingerprint(win),
    worker: inWorker || null,
  };
}
