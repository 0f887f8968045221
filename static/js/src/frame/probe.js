/**
 * The frame's worker probe: the worker half of the page's fingerprint (docs/sdk-protocol.md,
 * "Fingerprint"). The page cannot start a worker from the paywall's origin, and a `blob:`
 * worker would need `worker-src blob:` in the publisher's CSP; the frame is on the paywall's
 * origin, so it starts `worker.<version>.js` from the same /static/js/ as its own script,
 * which the frame's CSP (`script-src 'self'`, no `worker-src`: it falls back to it) allows.
 *
 * A worker script has no SRI (the Worker constructor takes no `integrity`): what protects it is
 * that it must be same-origin with the frame, from the paywall's own static files, under a
 * versioned name. It posts `{dg: 1, type: "probe", worker: {…}, graphics: {…}}` once (graphics:
the canvas and WebGL hashes of the page's fingerprint) and is terminated.
 */
import { parseGraphics, parseWorkerFacts } from "../shared/probe.js";

export const PROBE_TIMEOUT_MS = 2000;
const NO_ANSWER = { worker: null, graphics: null };

/**
 * The worker's URL: beside the frame's own script (`…/frame.<version>.js` → `…/worker.<version>.js`),
 * else /static/js/worker.<version>.js on the frame's origin.
 */
export function workerUrlOf(doc, location, version) {
  const script = doc && doc.currentScript;
  const src = script && typeof script.src === "string" ? script.src : "";
  const m = /^(.*\/)frame((?:\.[0-9A-Za-z.-]+)?)\.js$/.exec(src.split(/[?#]/)[0]);
  if (m) {
    try {
      if (new URL(m[1], location.href).origin === location.origin) return `${m[1]}worker${m[2]}.js`;
    } catch {
      /* fall through */
    }
  }
  const safeVersion = typeof version === "string" && /^[0-9A-Za-z.-]+$/.test(version) ? `.${version}` : "";
  return `${location.origin}/static/js/worker${safeVersion}.js`;
}

/**
 * Run the worker once; resolves `{worker: facts | null, graphics: hashes | null}` (null: no
 * worker, an error or a timeout).
 */
export function probeWorker({
  url,
  Worker: WorkerImpl = globalThis.Worker,
  timeoutMs = PROBE_TIMEOUT_MS,
  setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
} = {}) {
  if (typeof WorkerImpl !== "function") return Promise.resolve(NO_ANSWER);
  return new Promise((resolve) => {
    let worker = null;
    let done = false;
    let timer = null;
    const finish = (answer) => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimer(timer);
      try {
        if (worker) worker.terminate();
      } catch {
        /* gone already */
      }
      resolve(answer);
    };
    timer = setTimer(() => finish(NO_ANSWER), timeoutMs);
    try {
      worker = new WorkerImpl(url, { name: "dropgate-probe" });
    } catch {
      finish(NO_ANSWER);
      return;
    }
    worker.onmessage = (event) => {
      const data = event && event.data;
      if (!data || data.dg !== 1 || data.type !== "probe") return finish(NO_ANSWER);
      const facts = parseWorkerFacts(data.worker);
      return finish({ worker: facts, graphics: facts ? parseGraphics(data.graphics) : null });
    };
    worker.onerror = () => finish(NO_ANSWER);
  });
}
