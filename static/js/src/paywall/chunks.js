/**
 * The page script's lazy chunks (docs/sdk-protocol.md, "Bundle"): the code a page needs only
 * later — the telemetry (its sources, the batcher, the socket, the fingerprint) after load, in
 * idle time; the press-and-hold challenge when the server asks for one — lives in versioned
 * files beside paywall.js, `paywall-<name>.<version>.js`.
 *
 * A chunk is loaded as a classic `<script src integrity crossorigin>`: the browser checks its
 * SRI hash, which the build wrote into this bundle (`__DROPGATE_CHUNKS__`), before running it,
 * so a pinned `paywall.<version>.js` pins its chunks too. No `import()` (a dynamic import takes
 * no integrity) and no inline script or eval: a publisher's CSP that lets paywall.js in (the
 * paywall host in `script-src`) lets its chunks in.
 *
 * A chunk hands its exports over by dispatching `dropgate:chunk` on its own <script> element
 * (`document.currentScript`), which only this loader listens on.
 */
/* global __DROPGATE_CHUNKS__ */
export const CHUNKS = typeof __DROPGATE_CHUNKS__ === "object" && __DROPGATE_CHUNKS__ ? __DROPGATE_CHUNKS__ : {};
export const CHUNK_EVENT = "dropgate:chunk";

/**
 * A loader for the chunks beside `baseUrl` (the page script's own src). Each chunk is loaded
 * once; a failed load may be tried again.
 * @returns {(name: string) => Promise<object>} resolves with the chunk's exports
 */
export function chunkLoader(doc, baseUrl, chunks = CHUNKS) {
  const loaded = new Map();
  return (name) => {
    if (loaded.has(name)) return loaded.get(name);
    const spec = Object.hasOwn(chunks, name) ? chunks[name] : null;
    const promise = new Promise((resolve, reject) => {
      if (!spec) throw new Error(`Dropgate: no chunk ${name} in this build`);
      const script = doc.createElement("script");
      script.src = new URL(spec.file, baseUrl).href;
      script.integrity = spec.integrity;
      script.crossOrigin = "anonymous";
      script.async = true;
      script.addEventListener(CHUNK_EVENT, (event) => resolve(event.detail), { once: true });
      // `load` fires after the script ran: by then it has registered, or it never will.
      script.addEventListener("load", () => reject(new Error(`Dropgate: chunk ${name} did not register`)), { once: true });
      script.addEventListener("error", () => reject(new Error(`Dropgate: chunk ${name} failed to load`)), { once: true });
      (doc.head || doc.documentElement).append(script);
    });
    promise.catch(() => loaded.delete(name));
    loaded.set(name, promise);
    return promise;
  };
}

/** In a chunk's entry: hand `exports` to the loader that inserted this script. */
export function defineChunk(exports, doc = globalThis.document) {
  const script = doc && doc.currentScript;
  if (script) script.dispatchEvent(new CustomEvent(CHUNK_EVENT, { detail: exports }));
}
