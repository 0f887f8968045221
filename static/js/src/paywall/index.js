/**
 * Entry of paywall.js, loaded by the publisher's tag:
 *   <script src="https://pay.example/static/js/paywall.js" data-publisher="pub_…" async>
 * `natives.js` is imported first: it captures the built-ins the SDK uses before anything else
 * of ours runs (integrity). `document.currentScript` is only set while this script runs, so it
 * is read first, before anything waits.
 */
import "./natives.js";
import { startPaywall } from "./page.js";

const script =
  document.currentScript || document.querySelector('script[data-publisher][src*="/static/js/paywall"]');
startPaywall({ window, script });
