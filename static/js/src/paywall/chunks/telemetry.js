/** Entry of paywall-telemetry.js: the telemetry, loaded after load in idle time. */
import { defineChunk } from "../chunks.js";
import { startPageTelemetry } from "../telemetry/page.js";

defineChunk({ startPageTelemetry });
