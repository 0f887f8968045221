/**
 * The page's telemetry, started by the page script after load, in idle time (the telemetry
 * chunk's one export; docs/sdk-protocol.md, "Telemetry socket"):
 *
 * - the sources (`sources.js`) start listening, passively; each event appends a few numbers to
 *   the registry's typed array (`../telemetry.js`), nothing more;
 * - the socket opens at once, and the batcher reads the typed array once a second;
 * - the fingerprint is collected in idle slices (`fingerprint/index.js`), its canvas and WebGL
 *   part in the signer frame's worker (`probe`).
 *
 * Nothing here throws into the publisher's page.
 */
import { listen } from "../natives.js";
import { flushTelemetrySources, registerTelemetrySource, startTelemetry, stopTelemetry, telemetrySources } from "../telemetry.js";
import { createTelemetryConnection, telemetryUrl } from "./connection.js";
import { collectFingerprint } from "./fingerprint/index.js";
import { workerFingerprint } from "./fingerprint/worker.js";
import { pageSources } from "./sources.js";

function safe(fn) {
  try {
    return fn();
  } catch {
    return null;
  }
}

/**
 * @param {object} options
 * @param {Window} options.window
 * @param {string} options.origin     the paywall origin
 * @param {string} options.publisher
 * @param {() => Promise<object>} options.probe   the frame's `probe` request
 * @param {(fn: Function) => void} options.idle   schedules one idle slice
 * @returns the telemetry the page script talks to: `{state, session, flush(ms), challenge(id,
 *   events, ms), close()}`
 */
export function startPageTelemetry({ window: win, origin, publisher, probe, idle, connect = createTelemetryConnection }) {
  const running = telemetrySources();
  for (const source of pageSources(win)) {
    if (!running.includes(source.name)) registerTelemetrySource(source);
  }
  startTelemetry();
  let fingerprint = null;
  const connection = connect({ url: telemetryUrl(origin, publisher), fingerprint: () => fingerprint });
  safe(() => connection.start());
  collectFingerprint({ window: win, idle, worker: () => workerFingerprint(probe) }).then(
    (value) => {
      fingerprint = value;
    },
    () => undefined,
  );
  listen(
    win,
    "pagehide",
    () => {
      safe(flushTelemetrySources);
      safe(() => connection.sendNow());
    },
    { passive: true },
  );
  return {
    get state() {
      return connection.state;
    },
    get session() {
      return connection.session;
    },
    /** Emit what the sources hold back (dwell), send what is buffered, wait for the ack. */
    flush(timeoutMs) {
      safe(flushTelemetrySources);
      return connection.flush(timeoutMs);
    },
    challenge: (id, events, timeoutMs) => connection.challenge(id, events, timeoutMs),
    close() {
      stopTelemetry();
      safe(() => connection.close());
    },
  };
}
