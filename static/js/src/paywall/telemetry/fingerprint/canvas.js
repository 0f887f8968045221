/**
 * Fingerprint source: the canvas image — a fixed drawing (text in two fonts, an emoji-free
 * glyph mix, a gradient, an arc) rendered by this browser's 2D canvas, as its data URL. The
 * caller hashes it. "" where there is no canvas (or it is blocked).
 */
export function canvasImage(doc) {
  try {
    const canvas = doc.createElement("canvas");
    canvas.width = 240;
    canvas.height = 60;
    const ctx = canvas.getContext("2d");
    if (!ctx) return "";
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
    const url = canvas.toDataURL();
    return typeof url === "string" ? url : "";
  } catch {
    return "";
  }
}
