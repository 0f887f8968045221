/**
 * One error type for everything the frame reports: the server's error envelope
 * (`{"error": {"code", "message", ...}}`) and the frame's own refusals share it, so a reply to
 * the page is always `{code, message, details?}` with a stable snake_case code.
 */
export class SdkError extends Error {
  /**
   * @param {string} code stable snake_case code (the server's, or one of the frame's own)
   * @param {string} message for people; never holds a token, key or signature
   * @param {{status?: number, details?: object, retryAfter?: number|null, cause?: unknown}} [extra]
   */
  constructor(code, message, { status = 0, details = {}, retryAfter = null, cause } = {}) {
    super(message || code, cause === undefined ? undefined : { cause });
    this.name = "SdkError";
    this.code = code;
    this.status = status;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/**
 * What goes into a reply: unknown failures become `internal_error` without their text. The
 * details are filtered again by makeErrorReply (only a challenge and retry_after cross).
 */
export function toWireError(error) {
  if (error instanceof SdkError) return { code: error.code, message: error.message, details: error.details };
  return { code: "internal_error", message: "The payment frame hit an unexpected error." };
}
