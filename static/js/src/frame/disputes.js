/**
 * The reader's side of disputes (issue 11; docs/disputes.md): "Report a problem" on an
 * unlocked article, in the signer frame, and the reader's reports with their status, outcome
 * and refund.
 *
 * The page may name the article and suggest a reason and message (`Dropgate.dispute`), but
 * only the reader's click in the frame files it: a script on the publisher's page cannot file
 * disputes in the reader's name.
 */
import { formatXrp, parseDrops } from "../shared/drops.js";
import { DISPUTE_REASONS, MAX_DISPUTE_MESSAGE } from "../shared/messages.js";

/** The server's limit on a dispute's message (disputes.models.MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = MAX_DISPUTE_MESSAGE;

/** The reasons a reader may give, grouped by their class, as the issue lists them. */
export const REASONS = Object.freeze([
  Object.freeze({ code: "not_delivered", group: "Technical", label: "I paid but the article did not load" }),
  Object.freeze({ code: "charged_twice", group: "Technical", label: "I was charged twice for this article" }),
  Object.freeze({ code: "not_as_described", group: "Content", label: "The article is not what was described" }),
  Object.freeze({ code: "accidental", group: "Content", label: "I paid by accident" }),
  Object.freeze({ code: "unauthorized", group: "Fraud", label: "I did not make this payment" }),
]);
const REASON_CODES = new Set(DISPUTE_REASONS);

export function isReason(value) {
  return typeof value === "string" && REASON_CODES.has(value);
}

export function reasonLabel(code) {
  const found = REASONS.find((r) => r.code === code);
  return found ? found.label : String(code || "");
}

/** Characters as the server counts them (code points: Python's len). */
export function messageLength(text) {
  return Array.from(String(text || "")).length;
}

/**
 * The form's values, checked as the server checks them. Returns `{reason, message}` or
 * `{error, field}`.
 */
export function checkFiling({ reason, message }) {
  if (!isReason(reason)) return { error: "Choose what went wrong.", field: "reason" };
  const text = typeof message === "string" ? message : "";
  const length = messageLength(text);
  if (length > MAX_MESSAGE_CHARS) {
    return { error: `The message is ${length} characters long; at most ${MAX_MESSAGE_CHARS} are sent.`, field: "message" };
  }
  return { reason, message: text };
}

/** What the reader is told for each refusal of a filing (the server's codes). */
const FILING_ERRORS = {
  unlock_not_found: "There is no purchase of this article by you in this browser to report.",
  not_found: "There is no purchase of this article by you in this browser to report.",
  not_authenticated: "There is no purchase of this article by you in this browser to report.",
  dispute_exists: "You have already reported a problem with this purchase; its status is under Your reports.",
  dispute_window_closed: "This purchase is too old to report: problems can be reported for 60 days after paying.",
  invalid_request: "The report could not be read by the server; check the reason and message.",
  rate_limited: "Too many requests just now. Please try again in a minute.",
  network_error: "The paywall service could not be reached. Please try again.",
};

/** A refusal of a filing, for people; names the code too. */
export function filingErrorText(err) {
  const code = err && typeof err.code === "string" ? err.code : "internal_error";
  const text = FILING_ERRORS[code] || (err && err.message) || "The report could not be sent.";
  return { code, text };
}

const STATUS_TEXT = {
  needs_response: "Waiting for the publisher's answer",
  under_review: "Being reviewed by Dropgate",
  escalated: "With an outside arbitrator",
  won_by_reader: "Decided in your favour",
  won_by_publisher: "Decided in the publisher's favour",
};

export function statusText(status) {
  return STATUS_TEXT[status] || String(status || "unknown");
}

function dateText(value) {
  if (typeof value !== "string" || !value) return "";
  const when = new Date(value);
  return Number.isNaN(when.getTime()) ? "" : when.toISOString().slice(0, 10);
}

function xrpOf(value) {
  try {
    return `${formatXrp(parseDrops(value))} XRP`;
  } catch {
    return "";
  }
}

/** The refund, for people: "0.2 XRP refunded as reading credit", "… paid back on the ledger". */
export function refundText(refund) {
  if (!refund || typeof refund !== "object") return "";
  const amount = xrpOf(refund.amount_drops);
  if (refund.mode === "ledger") {
    const state = refund.status && refund.status !== "validated" ? ` (${refund.status})` : "";
    return `${amount} paid back to your wallet${state}`;
  }
  return `${amount} refunded as reading credit on this site`;
}

/**
 * One dispute of GET readers/me/disputes as label/value rows for the frame's list. Values are
 * plain text (the list puts them in with textContent).
 */
export function disputeFacts(d) {
  const rows = [
    ["Article", String(d.article || "")],
    ["Reason", reasonLabel(d.reason)],
    ["Status", statusText(d.status)],
  ];
  if (d.outcome === "reader" || d.outcome === "publisher") {
    rows.push(["Outcome", d.outcome === "reader" ? "You won" : "The publisher won"]);
  }
  const refund = refundText(d.refund);
  if (refund) rows.push(["Refund", refund]);
  if (!d.decided_at && d.due_by) rows.push(["Next step by", dateText(d.due_by)]);
  if (d.appeal_until && d.outcome === "publisher") rows.push(["Appeal until", dateText(d.appeal_until)]);
  rows.push(["Amount", xrpOf(d.amount_drops)], ["Filed", dateText(d.filed_at)]);
  return rows.filter(([, value]) => value);
}

/** The filing's answer, as the reply to the page: only plain, checked fields. */
export function disputeSummary(d) {
  let refundDrops = 0;
  try {
    refundDrops = d.refund ? Number(parseDrops(d.refund.amount_drops)) : 0;
  } catch {
    refundDrops = 0;
  }
  return {
    id: Number.isSafeInteger(d.id) ? d.id : null,
    article: String(d.article || ""),
    reason: isReason(d.reason) ? d.reason : null,
    status: typeof d.status === "string" ? d.status : null,
    outcome: d.outcome === "reader" || d.outcome === "publisher" ? d.outcome : null,
    refundDrops: Number.isSafeInteger(refundDrops) ? refundDrops : 0,
  };
}
