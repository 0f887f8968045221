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

// --- Graphics: the canvas and WebGL part of the page's fingerprint, made in the worker --------

const HEX = "0123456789abcdef";

async function sha256Of(subtle, data) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  let out = "";
  for (const b of digest) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

/** The fixed 2D drawing (text in two fonts, a glyph mix, a gradient, an arc). */
export function drawCanvasImage(ctx) {
  ctx.textBaseline = "alphabetic";
  ctx.fillStyle = "#f60";
  ctx.fillRect(100, 1, 62, 20);
  ctx.fillStyle = "#069";
  ctx.font = "11pt 'Times New Roman'";
  ctx.fillText("Cwm fjordbank gly \u00e6\u00f8\u00e5 \u03a9\u2248\u00e7", 2, 15);
  ctx.fillStyle = "rgba(102, 204, 0, 0.7)";
  ctx.font = "18pt Arial";
  ctx.fillText("Dropgate 0.1", 4, 45);
  const gradient = ctx.createLinearGradient(0, 0, 240, 0);
  gradient.addColorStop(0, "#f0f");
  gradient.addColorStop(1, "#0ff");
  ctx.globalCompositeOperation = "multiply";
  ctx.fillStyle = gradient;
  ctx.beginPath();
  ctx.arc(200, 30, 24, 0, Math.PI * 2, true);
  ctx.closePath();
  ctx.fill();
}

const WEBGL_LIMITS = [
  0x0d33, // MAX_TEXTURE_SIZE
  0x851c, // MAX_CUBE_MAP_TEXTURE_SIZE
  0x84e8, // MAX_RENDERBUFFER_SIZE
  0x8869, // MAX_VERTEX_ATTRIBS
  0x8dfb, // MAX_VERTEX_UNIFORM_VECTORS
  0x8dfd, // MAX_FRAGMENT_UNIFORM_VECTORS
  0x8dfc, // MAX_VARYING_VECTORS
  0x8872, // MAX_TEXTURE_IMAGE_UNITS
  0x8b4c, // MAX_VERTEX_TEXTURE_IMAGE_UNITS
  0x8b4d, // MAX_COMBINED_TEXTURE_IMAGE_UNITS
  0x0d3a, // MAX_VIEWPORT_DIMS
  0x846e, // ALIASED_LINE_WIDTH_RANGE
  0x846d, // ALIASED_POINT_SIZE_RANGE
  0x0d50, // SUBPIXEL_BITS
  0x1f02, // VERSION
  0x8b8c, // SHADING_LANGUAGE_VERSION
];

/** `{vendor, renderer, description}` of a WebGL context (its identity, limits, extensions). */
export function webglDescription(gl) {
  const identity = webglIdentity(gl) || { vendor: "", renderer: "" };
  const parts = [identity.vendor, identity.renderer];
  for (const p of WEBGL_LIMITS) {
    const value = gl.getParameter(p);
    parts.push(value && typeof value === "object" && "length" in value ? Array.from(value).join(",") : String(value));
  }
  parts.push((gl.getSupportedExtensions() || []).join(","));
  return { ...identity, description: parts.join("|") };
}

/**
 * In a worker: `{canvas, webgl, webgl_vendor, webgl_renderer}` — SHA-256 (hex) of the fixed
 * drawing's PNG and of the WebGL description, made on OffscreenCanvases (nothing drawn with
 * WebGL; its context is given back at once). A part this scope cannot make hashes "".
 */
export async function workerGraphics(scope) {
  const subtle = scope.crypto && scope.crypto.subtle;
  const Offscreen = scope.OffscreenCanvas;
  let image = new ArrayBuffer(0);
  let gl = null;
  try {
    const canvas = new Offscreen(240, 60);
    const ctx = canvas.getContext("2d");
    if (ctx) {
      drawCanvasImage(ctx);
      image = await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer();
    }
  } catch {
    image = new ArrayBuffer(0);
  }
  try {
    const context = webglContext(new Offscreen(1, 1));
    if (context) {
      gl = webglDescription(context);
      const lose = context.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
    }
  } catch {
    gl = null;
  }
  return {
    canvas: await sha256Of(subtle, image),
    webgl: await sha256Of(subtle, gl ? gl.description : ""),
    webgl_vendor: gl ? gl.vendor : "",
    webgl_renderer: gl ? gl.renderer : "",
  };
}

/** A worker's graphics report as received, checked, or null. */
export function parseGraphics(value) {
  if (!value || typeof value !== "object") return null;
  const { canvas, webgl, webgl_vendor: vendor, webgl_renderer: renderer } = value;
  const hex = (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const text = (v) => typeof v === "string" && v.length <= 256;
  if (!hex(canvas) || !hex(webgl) || !text(vendor) || !text(renderer)) return null;
  return { canvas, webgl, webgl_vendor: vendor, webgl_renderer: renderer };
}
