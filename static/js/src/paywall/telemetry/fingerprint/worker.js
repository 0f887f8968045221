/**
 * Fingerprint source: the same facts read inside a dedicated worker. A page cannot start a
 * worker from another origin, and a `blob:` worker would need `worker-src blob:` in the
 * publisher's CSP, so the worker runs in the signer frame (paywall origin, `worker.js` from
 * /static/js, allowed by the frame's own `script-src 'self'`); the page asks the frame with
 * the `probe` request. Null when the frame does not answer within `timeoutMs` or has no worker.
 */
export const WORKER_PROBE_TIMEOUT_MS = 2500;

export function workerFingerprint(request, { timeoutMs = WORKER_PROBE_TIMEOUT_MS, setTimer = (fn, ms) => setTimeout(fn, ms) } = {}) {
  return new Promise((resolve) => {
    setTimer(() => resolve(null), timeoutMs);
    Promise.resolve()
      .then(() => request())
      .then(
        // The frame checked the worker's report (shared/probe.js parseWorkerFacts).
        (result) => resolve(result && typeof result.worker === "object" ? result.worker : null),
        () => resolve(null),
      );
  });
}
