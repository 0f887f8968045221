/**
 * Entry of worker.js: a dedicated worker the signer frame starts (same origin as the frame,
 * from /static/js, so the frame's CSP `script-src 'self'` allows it without `blob:`). It reads
 * the same facts as the page's fingerprint, from a worker's scope, and makes the fingerprint's
 * canvas and WebGL part on OffscreenCanvases (which would cost the publisher's main thread tens
 * of milliseconds), posts them once, and the frame then terminates it.
 */
import { workerFacts, workerGraphics } from "../shared/probe.js";

const facts = workerFacts(self);
workerGraphics(self).then(
  (graphics) => self.postMessage({ dg: 1, type: "probe", worker: facts, graphics }),
  () => self.postMessage({ dg: 1, type: "probe", worker: facts, graphics: null }),
);
