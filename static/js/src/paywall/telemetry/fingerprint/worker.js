/**
 * Fingerprint source: what the signer frame's dedicated worker reads — the same navigator and
 * time-zone facts as the page (`worker`), and the canvas and WebGL part of the fingerprint
 * (`graphics`: drawn and read on an OffscreenCanvas there, off every main thread). A page
 * cannot start a worker from another origin, and a `blob:` worker would need `worker-src blob:`
 * in the publisher's CSP, so the worker runs in the signer frame (paywall origin, `worker.js`
 * from /static/js, allowed by the frame's own `script-src 'self'`); the page asks the frame with
 * the `probe` request. Null when the frame does not answer within `timeoutMs`.
 */
export const WORKER_PROBE_TIMEOUT_MS = 2500;

/** Resolves `{worker, graphics}` from the frame's `probe` answer, or null. */
export function workerFingerprint(request, { timeoutMs = WORKER_PROBE_TIMEOUT_MS, setTimer = (fn, ms) => setTimeout(fn, ms) } = {}) {
  return new Promise((resolve) => {
    setTimer(() => resolve(null), timeoutMs);
    Promise.resolve()
      .then(() => request())
      .then(
        // The frame checked the worker's report (shared/probe.js parseWorkerFacts, parseGraphics).
        (result) =>
          resolve(
            result && result.worker && typeof result.worker === "object"
              ? { worker: result.worker, graphics: result.graphics && typeof result.graphics === "object" ? result.graphics : null }
              : null,
          ),
        () => resolve(null),
      );
  });
}
