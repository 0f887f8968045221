/**
 * Entry of worker.js: a dedicated worker the signer frame starts (same origin as the frame,
 * from /static/js, so the frame's CSP `script-src 'self'` allows it without `blob:`). It reads
 * the same facts as the page's fingerprint, from a worker's scope, posts them once, and the
 * frame then terminates it.
 */
import { workerFacts } from "../shared/probe.js";

self.postMessage({ dg: 1, type: "probe", worker: workerFacts(self) });
