/**
 * Values the page's fingerprint and the frame's worker both read, with the same code, so the
 * server can compare the two (a stealth plugin patches the page's `navigator`, rarely a
 * worker's). Each function reads one thing and never throws.
 */

/** `{hw_concurrency, languages, platform}` of a Navigator or WorkerNavigator. */
export function navigatorFacts(nav) {
  const n = nav || {};
  let languages = [];
  try {
    languages = Array.isArray(n.languages) || (n.languages && typeof n.languages.length === "number")
      ? Array.from(n.languages, String).slice(0, 16)
      : n.language
        ? [String(n.language)]
        : [];
  } catch {
    languages = [];
  }
  const hw = Number(n.hardwareConcurrency);
  return {
    hw_concurrency: Number.isInteger(hw) && hw >= 0 ? hw : 0,
    languages,
    platform: typeof n.platform === "string" ? n.platform.slice(0, 64) : "",
  };
}

/** The IANA time zone ("Europe/Paris"), or "" when Intl does not tell. */
export function timeZone(intl = globalThis.Intl) {
  try {
    const tz = new intl.DateTimeFormat().resolvedOptions().timeZone;
    return typeof tz === "string" ? tz.slice(0, 64) : "";
  } catch {
    return "";
  }
}

const DEBUG_VENDOR = 0x9245; // UNMASKED_VENDOR_WEBGL
const DEBUG_RENDERER = 0x9246; // UNMASKED_RENDERER_WEBGL
const VENDOR = 0x1f00;
const RENDERER = 0x1f01;

/**
 * The GPU's vendor and renderer from a WebGL context: the unmasked ones through
 * WEBGL_debug_renderer_info where the browser offers it (Chromium), else the plain
 * VENDOR/RENDERER (Firefox now reports the real renderer there). Null for no context.
 */
export function webglIdentity(gl) {
  if (!gl) return null;
  try {
    const ext = gl.getExtension("WEBGL_debug_renderer_info");
    const vendor = gl.getParameter(ext ? DEBUG_VENDOR : VENDOR);
    const renderer = gl.getParameter(ext ? DEBUG_RENDERER : RENDERER);
    return { vendor: String(vendor ?? "").slice(0, 256), renderer: String(renderer ?? "").slice(0, 256) };
  } catch {
    return null;
  }
}

/** A WebGL context from a canvas (HTMLCanvasElement or OffscreenCanvas), or null. */
export function webglContext(canvas) {
  try {
    return canvas.getContext("webgl") || canvas.getContext("experimental-webgl") || null;
  } catch {
    return null;
  }
}

/**
 * What a worker reports (`fingerprint.worker`): `{hw_concurrency, languages, platform, tz,
 * webgl_renderer}` read from a worker's global scope (WebGL through an OffscreenCanvas).
 */
export function workerFacts(scope) {
  let renderer = null;
  try {
    if (typeof scope.OffscreenCanvas === "function") {
      const id = webglIdentity(webglContext(new scope.OffscreenCanvas(1, 1)));
      renderer = id ? id.renderer : null;
    }
  } catch {
    renderer = null;
  }
  return { ...navigatorFacts(scope.navigator), tz: timeZone(scope.Intl), webgl_renderer: renderer };
}

/** A worker report as received (postMessage data), checked field by field, or null. */
export function parseWorkerFacts(value) {
  if (!value || typeof value !== "object") return null;
  const { hw_concurrency: hw, languages, platform, tz, webgl_renderer: renderer } = value;
  if (!Number.isInteger(hw) || hw < 0 || hw > 4096) return null;
  if (!Array.isArray(languages) || languages.length > 16 || !languages.every((l) => typeof l === "string" && l.length <= 64)) return null;
  if (typeof platform !== "string" || platform.length > 64 || typeof tz !== "string" || tz.length > 64) return null;
  if (renderer !== null && (typeof renderer !== "string" || renderer.length > 256)) return null;
  return { hw_concurrency: hw, languages: [...languages], platform, tz, webgl_renderer: renderer };
}
