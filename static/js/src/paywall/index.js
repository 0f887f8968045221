/**
 * Entry of paywall.js, loaded by the publisher's tag:
 *   <script src="https://pay.example/static/js/paywall.js" data-publisher="pub_…" async>
 * `document.currentScript` is only set while this script runs, so it is read first, before
 * anything waits.
 */
import { startPaywall } from "./page.js";

const script =
  document.currentScript || document.querySelector('script[data-publisher][src*="/static/js/paywall"]');
startPaywall({ window, script });
