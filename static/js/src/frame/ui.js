/**
 * The frame's own UI: the confirmations and the cap form that only a click (or a key press)
 * inside this frame can answer — scripts on the publisher's page cannot reach into it.
 *
 * - One view at a time (a queue); `onVisibility(true)` when the first opens and `false` when
 *   the last closes, so the frame can ask the page to show or hide it.
 * - Each view is a `role="dialog"` with a labelled heading (focused when it opens) and a
 *   description; confirmations are `button[data-paywall-action="confirm"]` and
 *   `button[data-paywall-action="cancel"]`; Escape cancels.
 * - The confirm button is armed `armDelayMs` after the view appears, and only trusted events
 *   count, so neither a synthetic event nor a click already under way when the dialog popped
 *   up can approve a payment.
 * - No innerHTML: every text goes in through textContent. Styles are a constructed sheet.
 * - The compliance and dispute dialogs (consent, country, report a problem, reports,
 *   receipts) are in dialogs.js, on the same views.
 */
import { adoptSheet } from "../shared/sheet.js";
import { formatXrp, parseXrp } from "../shared/drops.js";
import { createDialogs } from "./dialogs.js";

export const FRAME_CSS = `
:root{color-scheme:light dark;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0}
.dg-ui{box-sizing:border-box;padding:16px;background:Canvas;color:CanvasText}
.dg-status{margin:0 0 12px;font-size:13px;opacity:.85}
.dg-dialog h1{font-size:18px;margin:0 0 8px}
.dg-dialog h1:focus{outline:none}
.dg-dialog p{margin:0 0 10px}
.dg-facts{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0 0 14px}
.dg-facts dt{opacity:.8}.dg-facts dd{margin:0;font-weight:600}
.dg-actions{display:flex;gap:8px;justify-content:flex-end;flex-wrap:wrap;margin-top:12px}
.dg-ui button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid #8888;background:ButtonFace;color:ButtonText;cursor:pointer}
.dg-ui button.dg-primary{background:#0b5cad;border-color:#0b5cad;color:#fff}
.dg-ui button:disabled{opacity:.55;cursor:default}
.dg-ui button:focus-visible,.dg-ui input:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.dg-ui label{display:block;font-weight:600;margin-bottom:4px}
.dg-ui input{font:inherit;padding:6px 8px;width:10em;border:1px solid #888;border-radius:4px}
.dg-help{font-size:13px;opacity:.8}
.dg-error{color:#b00020;font-weight:600}
.dg-channel-actions{justify-content:flex-start;border-top:1px solid #8884;padding-top:12px}
.dg-ui fieldset{border:0;margin:0 0 10px;padding:0}
.dg-ui legend{font-weight:600;margin-bottom:6px;padding:0}
.dg-check{display:flex;gap:8px;align-items:flex-start;margin:4px 0}
.dg-ui .dg-check label{display:inline;font-weight:400;margin:0}
.dg-ui .dg-check input{width:auto;flex:none;margin:3px 0 0;padding:0}
.dg-ui select,.dg-ui textarea{font:inherit;padding:6px 8px;border:1px solid #888;border-radius:4px;max-width:100%}
.dg-ui textarea{box-sizing:border-box;width:100%;resize:vertical}
.dg-ui select:focus-visible,.dg-ui textarea:focus-visible,.dg-ui input[type=checkbox]:focus-visible,.dg-ui input[type=radio]:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.dg-field{margin:6px 0 10px}
.dg-group{font-size:13px;opacity:.8;margin:8px 0 2px}
.dg-list{list-style:none;margin:0;padding:0;max-height:60vh;overflow:auto}
.dg-list li{border-top:1px solid #8884;padding:10px 0}
.dg-list .dg-facts{margin-bottom:6px}
`;

let uid = 0;

function h(doc, tag, attrs = {}, ...children) {
  const el = doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** One-line summary of spending for the status line and the dialogs. */
export function spendSummary({ capDrops, spentDrops, channel, pendingChannel = false, stranded = [] }) {
  const spend = `Spent ${formatXrp(spentDrops)} of your ${formatXrp(capDrops)} XRP cap on this site`;
  const extra =
    (pendingChannel ? " A new payment channel is being confirmed." : "") +
    (stranded.length ? ` ${stranded.length} unusable channel${stranded.length > 1 ? "s" : ""} to close.` : "");
  if (!channel) return `${spend}. No payment channel yet.${extra}`;
  const remaining = channel.fundedDrops > channel.acceptedDrops ? channel.fundedDrops - channel.acceptedDrops : 0n;
  const state = channel.status === "open" ? "" : ` (${channel.status})`;
  return `${spend}. Channel${state}: ${formatXrp(remaining)} of ${formatXrp(channel.fundedDrops)} XRP left.${extra}`;
}

/**
 * @param {object} options
 * @param {Document} options.document
 * @param {Element} [options.mount]            where the UI lives (default: body)
 * @param {(visible: boolean) => void} [options.onVisibility]
 * @param {number} [options.armDelayMs]
 * @param {boolean} [options.requireTrusted]  false only in unit tests
 */
export function createFrameUI({
  document: doc,
  mount,
  onVisibility = () => {},
  armDelayMs = 500,
  requireTrusted = true,
  setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
}) {
  adoptSheet(doc, FRAME_CSS);
  const root = h(doc, "div", { class: "dg-ui" });
  const status = h(doc, "p", { class: "dg-status", role: "status", "aria-live": "polite" });
  const viewHost = h(doc, "div", { class: "dg-view" });
  root.append(status, viewHost);
  (mount || doc.body).append(root);

  let queue = Promise.resolve();
  let current = null; // the view on screen
  let open = 0;
  let visible = false;
  let hideTimer = null;
  const trusted = (event) => !requireTrusted || event.isTrusted;

  // Visible while any view is open or held; hiding waits a tick so that one view following
  // another (settings → top-up confirmation → progress) does not flash the frame away.
  function retain() {
    open++;
    if (hideTimer !== null) {
      clearTimer(hideTimer);
      hideTimer = null;
    }
    if (!visible) {
      visible = true;
      onVisibility(true);
    }
  }
  function release() {
    open--;
    if (open > 0 || hideTimer !== null) return;
    hideTimer = setTimer(() => {
      hideTimer = null;
      if (open === 0 && visible) {
        visible = false;
        onVisibility(false);
      }
    }, 0);
  }

  /** Run one view: `build(done)` returns its element and calls done(value) to close it. */
  function show(build) {
    const run = () =>
      new Promise((resolve) => {
        let finished = false;
        const done = (value) => {
          if (finished) return;
          finished = true;
          if (current === view) current = null;
          view.remove();
          resolve(value);
        };
        const view = build(done);
        view.addEventListener("keydown", (event) => {
          if (event.key === "Escape") {
            event.preventDefault();
            done(null);
          }
        });
        viewHost.append(view);
        current = view;
        focusView();
      });
    retain();
    const result = queue.then(run);
    queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(release);
  }

  // A view usually appears while the frame is still hidden, where focus() does nothing; the
  // page focuses the frame once it shows it, and the view's heading takes the focus then.
  function focusView() {
    const heading = current && current.querySelector("h1");
    const active = doc.activeElement;
    if (heading && (!active || active === doc.body || !current.contains(active))) heading.focus();
  }
  if (doc.defaultView) doc.defaultView.addEventListener("focus", focusView);

  /** Enable `button` (created disabled) after the arming delay; `then` runs instead if given. */
  function arm(button, then) {
    setTimer(() => {
      if (then) then();
      else button.disabled = false;
    }, armDelayMs);
  }

  function dialogShell(title, description) {
    const n = ++uid;
    const heading = h(doc, "h1", { id: `dg-title-${n}`, tabindex: "-1", text: title });
    const desc = h(doc, "p", { id: `dg-desc-${n}`, text: description });
    const section = h(
      doc,
      "section",
      {
        class: "dg-dialog",
        role: "dialog",
        "aria-modal": "true",
        "aria-labelledby": heading.id,
        "aria-describedby": desc.id,
      },
      heading,
      desc,
    );
    return { section, n };
  }

  const dialogs = createDialogs({ doc, h, show, dialogShell, trusted, arm });

  return {
    root,
    ...dialogs,

    /** Update the always-present spending line. */
    renderStatus(summary) {
      status.textContent = spendSummary(summary);
    },

    /** Keep the frame visible while `work()` runs (a flow of several views). */
    async hold(work) {
      retain();
      try {
        return await work();
      } finally {
        release();
      }
    },

    /** A progress view (no buttons) while `work()` runs; resolves with its result. */
    busy(text, work) {
      let finish = null;
      let ended = false;
      show((done) => {
        finish = done;
        const heading = h(doc, "h1", { tabindex: "-1", text });
        const section = h(doc, "section", { class: "dg-dialog", role: "status", "aria-busy": "true" }, heading);
        if (ended) Promise.resolve().then(() => done(null));
        return section;
      });
      return Promise.resolve()
        .then(work)
        .finally(() => {
          ended = true;
          if (finish) finish(null);
        });
    },

    /** A message in place of the UI (e.g. the frame opened on its own). */
    notice(text) {
      status.textContent = text;
    },

    /**
     * Ask for a confirmation. Resolves true on a trusted click on confirm, false on cancel or
     * Escape.
     * @param {{title: string, message: string, facts?: Array<[string, string]>,
     *          confirmLabel?: string, cancelLabel?: string}} options
     */
    confirm({ title, message, facts = [], confirmLabel = "Confirm", cancelLabel = "Cancel" }) {
      return show((done) => {
        const { section } = dialogShell(title, message);
        if (facts.length) {
          const list = h(doc, "dl", { class: "dg-facts" });
          for (const [term, value] of facts) {
            list.append(h(doc, "dt", { text: term }), h(doc, "dd", { text: value }));
          }
          section.append(list);
        }
        const cancel = h(doc, "button", { type: "button", "data-paywall-action": "cancel", text: cancelLabel });
        const confirm = h(doc, "button", {
          type: "button",
          class: "dg-primary",
          "data-paywall-action": "confirm",
          disabled: true,
          text: confirmLabel,
        });
        arm(confirm);
        cancel.addEventListener("click", (event) => {
          if (trusted(event)) done(false);
        });
        confirm.addEventListener("click", (event) => {
          if (!confirm.disabled && trusted(event)) done(true);
        });
        section.append(h(doc, "div", { class: "dg-actions" }, cancel, confirm));
        return section;
      }).then((value) => value === true);
    },

    /**
     * The reading-wallet settings: the cap form, plus top-up and close buttons when a channel
     * is open, and a recover button when a channel the site cannot use holds a deposit.
     * Then the reader's country, receipts and reports.
     * Resolves with `{action: "save", capDrops}`, `{action: "topUp"}`, `{action: "close"}`,
     * `{action: "recover"}`, `{action: "country"}`, `{action: "receipts"}`,
     * `{action: "disputes"}`, or null when cancelled.
     */
    settings({ capDrops, spentDrops, channel, pendingChannel = false, stranded = [] }) {
      return show((done) => {
        const summary = spendSummary({ capDrops, spentDrops, channel, pendingChannel, stranded });
        const { section, n } = dialogShell("Reading wallet", summary);
        const inputId = `dg-cap-${n}`;
        const help = h(doc, "p", {
          id: `dg-cap-help-${n}`,
          class: "dg-help",
          text: "Payments stop once your total spending on this site would pass this amount.",
        });
        const error = h(doc, "p", { id: `dg-cap-error-${n}`, class: "dg-error", hidden: true });
        const input = h(doc, "input", {
          id: inputId,
          name: "cap",
          type: "text",
          inputmode: "decimal",
          autocomplete: "off",
          spellcheck: "false",
          "aria-describedby": `${help.id} ${error.id}`,
          value: formatXrp(capDrops),
        });
        const cancel = h(doc, "button", { type: "button", "data-paywall-action": "cancel", text: "Cancel" });
        const save = h(doc, "button", { type: "submit", class: "dg-primary", "data-frame-action": "save-cap", text: "Save cap" });
        const form = h(
          doc,
          "form",
          { class: "dg-cap-form", novalidate: true },
          h(doc, "label", { for: inputId, text: "Spending cap for this site (XRP)" }),
          input,
          help,
          error,
          h(doc, "div", { class: "dg-actions" }, cancel, save),
        );
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          if (!trusted(event)) return;
          let drops;
          try {
            drops = parseXrp(input.value);
          } catch (err) {
            error.textContent = err.message;
            error.hidden = false;
            error.setAttribute("role", "alert");
            input.setAttribute("aria-invalid", "true");
            input.focus();
            return;
          }
          done({ action: "save", capDrops: drops });
        });
        cancel.addEventListener("click", (event) => {
          if (trusted(event)) done(null);
        });
        section.append(form);
        if (channel && channel.status === "open") {
          const topUp = h(doc, "button", { type: "button", "data-frame-action": "top-up", text: "Top up channel…" });
          const close = h(doc, "button", { type: "button", "data-frame-action": "close-channel", text: "Close channel…" });
          topUp.addEventListener("click", (event) => {
            if (trusted(event)) done({ action: "topUp" });
          });
          close.addEventListener("click", (event) => {
            if (trusted(event)) done({ action: "close" });
          });
          section.append(h(doc, "div", { class: "dg-actions dg-channel-actions", role: "group", "aria-label": "Channel" }, topUp, close));
        }
        if (stranded.length) {
          const recover = h(doc, "button", { type: "button", "data-frame-action": "recover-channel", text: "Recover deposit of an unusable channel…" });
          recover.addEventListener("click", (event) => {
            if (trusted(event)) done({ action: "recover" });
          });
          section.append(
            h(doc, "div", { class: "dg-actions dg-channel-actions", role: "group", "aria-label": "Unusable channel" }, recover),
          );
        }
        const more = [
          ["country", "Your country…"],
          ["receipts", "Receipts…"],
          ["disputes", "Your reports…"],
        ].map(([action, text]) => {
          const b = h(doc, "button", { type: "button", "data-frame-action": action, text });
          b.addEventListener("click", (event) => {
            if (trusted(event)) done({ action });
          });
          return b;
        });
        section.append(h(doc, "div", { class: "dg-actions dg-channel-actions", role: "group", "aria-label": "Your account" }, ...more));
        return section;
      });
    },
  };
}
