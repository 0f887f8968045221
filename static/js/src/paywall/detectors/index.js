/**
 * The detectors the page script runs itself (pure functions over what the sources collected;
 * docs/sdk-protocol.md). Everything else is decided on the server.
 */
export { automationFlags } from "./automation.js";
export { looksNative, replacedBuiltins } from "./integrity.js";
