/**
 * Fingerprint source: WebGL — the unmasked vendor and renderer (WEBGL_debug_renderer_info)
 * and a description of the context (its extensions and limits) for the caller to hash. The
 * parameters are read, nothing is drawn: a few dozen getParameter calls.
 */
import { webglContext, webglIdentity } from "../../../shared/probe.js";

const PARAMETERS = [
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

/** `{vendor, renderer, description}`, or null where there is no WebGL. */
export function webglFacts(doc) {
  try {
    const gl = webglContext(doc.createElement("canvas"));
    if (!gl) return null;
    const identity = webglIdentity(gl) || { vendor: "", renderer: "" };
    const parts = [identity.vendor, identity.renderer];
    for (const p of PARAMETERS) {
      const value = gl.getParameter(p);
      parts.push(value && typeof value === "object" && "length" in value ? Array.from(value).join(",") : String(value));
    }
    parts.push((gl.getSupportedExtensions() || []).join(","));
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext(); // give the GPU context back at once
    return { ...identity, description: parts.join("|") };
  } catch {
    return null;
  }
}
