/**
 * Styles without `unsafe-inline`: a constructed stylesheet adopted by the document. CSP's
 * style-src governs <style> elements and style attributes, not the CSSOM, so this works under
 * the strictest policy a publisher (or the frame page) sets.
 *
 * Browsers without constructable stylesheets get no styles; nothing depends on them to work
 * (hiding uses the `hidden` attribute and the native <dialog>).
 */
export function adoptSheet(doc, cssText) {
  const view = doc && doc.defaultView;
  if (!view || typeof view.CSSStyleSheet !== "function" || !("adoptedStyleSheets" in doc)) {
    return null;
  }
  try {
    // The sheet must come from the same window as the document that adopts it.
    const sheet = new view.CSSStyleSheet();
    sheet.replaceSync(cssText);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    return sheet;
  } catch {
    return null;
  }
}
