/**
 * The frame's dialogs for compliance and disputes (issues 11 and 12): consent before immediate
 * access, the country confirmation, "Report a problem", the reader's reports and receipts.
 *
 * Built on ui.js's views (one at a time, `role="dialog"`, the heading focused, Escape cancels,
 * only trusted events count, the confirm button armed after a delay). Every text goes in with
 * textContent; there is no style attribute and no inline script.
 */
import { COUNTRY_CODES, PROVINCES } from "./countries.js";
import { receiptTaxLine } from "./compliance.js";
import {
  MAX_MESSAGE_CHARS,
  REASONS,
  checkFiling,
  disputeFacts,
  filingErrorText,
  isReason,
  messageLength,
} from "./disputes.js";
import { formatXrp, parseDrops } from "../shared/drops.js";

/** A country's name in the reader's language, else its code. */
export function countryName(code, { DisplayNames = globalThis.Intl && globalThis.Intl.DisplayNames, locales } = {}) {
  try {
    const names = new DisplayNames(locales, { type: "region" });
    const name = names.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

function xrpOf(value) {
  try {
    return `${formatXrp(parseDrops(value))} XRP`;
  } catch {
    return "";
  }
}

function dateTimeText(value) {
  const when = typeof value === "string" ? new Date(value) : null;
  return when && !Number.isNaN(when.getTime()) ? when.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "";
}

/**
 * @param {object} kit from ui.js
 * @param {Document} kit.doc
 * @param {Function} kit.h          element builder (text via textContent)
 * @param {Function} kit.show       runs one view: build(done) → element
 * @param {Function} kit.dialogShell (title, description) → {section, n}
 * @param {Function} kit.trusted    event → boolean
 * @param {Function} kit.arm        button → arms it after the delay (it starts disabled)
 */
export function createDialogs({ doc, h, show, dialogShell, trusted, arm }) {
  function factsList(rows) {
    const list = h(doc, "dl", { class: "dg-facts" });
    for (const [term, value] of rows) list.append(h(doc, "dt", { text: term }), h(doc, "dd", { text: value }));
    return list;
  }

  function button(text, attrs = {}) {
    return h(doc, "button", { type: "button", ...attrs, text });
  }

  function onClick(el, fn) {
    el.addEventListener("click", (event) => {
      if (trusted(event)) fn(event);
    });
  }

  function showError(el, text) {
    el.textContent = text;
    el.hidden = false;
    el.setAttribute("role", "alert");
  }

  return {
    /**
     * Consent to immediate access: two unticked boxes; the confirm button needs both (and its
     * arming delay). Resolves true or false.
     */
    consent({ version, title, text, immediate, withdrawal, confirm: confirmLabel }) {
      return show((done) => {
        const { section, n } = dialogShell(title, text);
        section.setAttribute("data-frame-dialog", "consent");
        const boxes = [
          ["immediate", immediate],
          ["withdrawal", withdrawal],
        ].map(([name, label]) => {
          const input = h(doc, "input", { type: "checkbox", id: `dg-consent-${name}-${n}`, name, "data-consent": name });
          return { input, row: h(doc, "div", { class: "dg-check" }, input, h(doc, "label", { for: input.id, text: label })) };
        });
        const note = h(doc, "p", { class: "dg-help", text: `Consent text version ${version}.` });
        const cancel = button("Cancel", { "data-paywall-action": "cancel" });
        const ok = button(confirmLabel, { class: "dg-primary", "data-paywall-action": "confirm", disabled: true });
        let armed = false;
        const ready = () => boxes.every((b) => b.input.checked);
        const refresh = () => {
          ok.disabled = !(armed && ready());
        };
        arm(ok, () => {
          armed = true;
          refresh();
        });
        for (const b of boxes) b.input.addEventListener("change", refresh);
        onClick(cancel, () => done(false));
        onClick(ok, () => {
          if (!ok.disabled && ready()) done(true);
        });
        section.append(...boxes.map((b) => b.row), note, h(doc, "div", { class: "dg-actions" }, cancel, ok));
        return section;
      }).then((value) => value === true);
    },

    /**
     * Where is the reader? The candidates first (radio buttons), then any country from a
     * list, and a province for Canada. Resolves `{country, region}` or null.
     */
    country({ candidates = [], current = null, title = "Where are you?" } = {}) {
      return show((done) => {
        const asking = candidates.length > 0;
        const { section, n } = dialogShell(
          title,
          asking
            ? "What this browser tells differs about where you are. Tax is charged by the country you are in: please confirm it."
            : "Tax is charged by the country you are in. Your answer is kept in this browser for this site.",
        );
        section.setAttribute("data-frame-dialog", "country");
        const form = h(doc, "form", { class: "dg-country-form", novalidate: true });
        const fieldset = h(doc, "fieldset", {}, h(doc, "legend", { text: "Your country" }));
        const radios = [];
        const other = "__other__";
        const choices = [...candidates, other];
        for (const [i, code] of choices.entries()) {
          const input = h(doc, "input", {
            type: "radio",
            name: `dg-country-${n}`,
            id: `dg-country-${n}-${i}`,
            value: code,
            "data-country": code === other ? "other" : code,
          });
          radios.push(input);
          const label = code === other ? (asking ? "Another country" : "Choose from the list") : countryName(code);
          fieldset.append(h(doc, "div", { class: "dg-check" }, input, h(doc, "label", { for: input.id, text: label })));
        }
        const selectId = `dg-country-list-${n}`;
        const select = h(doc, "select", { id: selectId, name: "country", "data-frame-field": "country" });
        select.append(h(doc, "option", { value: "", text: "Choose…" }));
        for (const code of COUNTRY_CODES) select.append(h(doc, "option", { value: code, text: countryName(code) }));
        const provinceId = `dg-province-${n}`;
        const province = h(doc, "select", { id: provinceId, name: "region", "data-frame-field": "region" });
        province.append(h(doc, "option", { value: "", text: "Choose…" }));
        for (const [code, name] of PROVINCES.CA) province.append(h(doc, "option", { value: code, text: name }));
        const provinceRow = h(doc, "div", { class: "dg-field", hidden: true }, h(doc, "label", { for: provinceId, text: "Province or territory" }), province);
        const listRow = h(doc, "div", { class: "dg-field" }, h(doc, "label", { for: selectId, text: asking ? "Another country" : "Country" }), select);
        const error = h(doc, "p", { class: "dg-error", hidden: true });
        const cancel = button("Cancel", { "data-paywall-action": "cancel" });
        const ok = h(doc, "button", { type: "submit", class: "dg-primary", "data-paywall-action": "confirm", disabled: true, text: "Confirm country" });
        arm(ok);

        const chosen = () => {
          const radio = radios.find((r) => r.checked);
          if (radio && radio.value !== other) return radio.value;
          return select.value || "";
        };
        const sync = () => {
          const radio = radios.find((r) => r.checked);
          listRow.hidden = Boolean(radio && radio.value !== other);
          provinceRow.hidden = chosen() !== "CA";
        };
        if (current && current.country) {
          const match = radios.find((r) => r.value === current.country);
          if (match) match.checked = true;
          else {
            radios[radios.length - 1].checked = true;
            select.value = current.country;
          }
          if (current.region) province.value = current.region;
        } else if (!asking) {
          radios[radios.length - 1].checked = true;
        }
        if (!asking) fieldset.hidden = true;
        for (const r of radios) r.addEventListener("change", sync);
        select.addEventListener("change", () => {
          radios[radios.length - 1].checked = true;
          sync();
        });
        sync();
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          if (!trusted(event) || ok.disabled) return;
          const country = chosen();
          if (!/^[A-Z]{2}$/.test(country)) {
            showError(error, "Choose your country.");
            select.focus();
            return;
          }
          const region = country === "CA" ? province.value : "";
          if (country === "CA" && !region) {
            showError(error, "Choose your province or territory: the tax depends on it.");
            province.focus();
            return;
          }
          done({ country, region: region || null });
        });
        onClick(cancel, () => done(null));
        form.append(fieldset, listRow, provinceRow, error, h(doc, "div", { class: "dg-actions" }, cancel, ok));
        section.append(form);
        return section;
      });
    },

    /**
     * "Report a problem" with an unlocked article: the reason (radio buttons by class), an
     * optional message (at most MAX_MESSAGE_CHARS, counted as the server counts), then
     * `submit(values)` (an async function that files it). A refusal is shown in the form,
     * which stays open; a filed dispute is shown with its status until the reader closes it.
     * Resolves `{dispute}` once filed and closed, `{error}` when closed after a refusal, or
     * null when cancelled.
     */
    disputeForm({ article, reason = null, message = "", submit }) {
      return show((done) => {
        const { section, n } = dialogShell(
          "Report a problem",
          `With your purchase of “${article}”. Most reports are decided at once; you can follow yours under Your reports.`,
        );
        section.setAttribute("data-frame-dialog", "dispute");
        const form = h(doc, "form", { class: "dg-dispute-form", novalidate: true });
        const fieldset = h(doc, "fieldset", {}, h(doc, "legend", { text: "What went wrong?" }));
        const radios = [];
        let group = "";
        for (const r of REASONS) {
          if (r.group !== group) {
            group = r.group;
            fieldset.append(h(doc, "p", { class: "dg-group", text: group }));
          }
          const input = h(doc, "input", { type: "radio", name: `dg-reason-${n}`, id: `dg-reason-${n}-${r.code}`, value: r.code, "data-reason": r.code });
          if (r.code === reason && isReason(reason)) input.checked = true;
          radios.push(input);
          fieldset.append(h(doc, "div", { class: "dg-check" }, input, h(doc, "label", { for: input.id, text: r.label })));
        }
        const textId = `dg-message-${n}`;
        const counter = h(doc, "p", { id: `dg-message-count-${n}`, class: "dg-help", "aria-live": "polite" });
        const textarea = h(doc, "textarea", {
          id: textId,
          name: "message",
          rows: "4",
          // No maxlength: it counts UTF-16 units, the server counts characters (the counter
          // and the check before sending count as the server does).
          "aria-describedby": counter.id,
          "data-frame-field": "message",
        });
        textarea.value = typeof message === "string" ? message : "";
        const count = () => {
          const used = messageLength(textarea.value);
          counter.textContent = `${used} of ${MAX_MESSAGE_CHARS} characters`;
          textarea.setAttribute("aria-invalid", used > MAX_MESSAGE_CHARS ? "true" : "false");
        };
        textarea.addEventListener("input", count);
        count();
        const error = h(doc, "p", { id: `dg-dispute-error-${n}`, class: "dg-error", hidden: true, tabindex: "-1", "data-frame-error": "" });
        const cancel = button("Cancel", { "data-paywall-action": "cancel" });
        const send = h(doc, "button", { type: "submit", class: "dg-primary", "data-paywall-action": "confirm", disabled: true, text: "Send report" });
        arm(send);
        let lastError = null;
        let busy = false;
        onClick(cancel, () => done(lastError ? { error: lastError } : null));

        function showFiled(dispute) {
          form.remove();
          const heading = section.querySelector("h1");
          heading.textContent = "Problem reported";
          section.querySelector(`#dg-desc-${n}`).textContent =
            "Thank you. Here is where your report stands; Your reports in the reading wallet keeps it up to date.";
          const close = button("Close", { class: "dg-primary", "data-frame-action": "close" });
          onClick(close, () => done({ dispute }));
          section.append(factsList(disputeFacts(dispute)), h(doc, "div", { class: "dg-actions" }, close));
          heading.focus();
        }

        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          if (!trusted(event) || send.disabled || busy) return;
          const radio = radios.find((r) => r.checked);
          const checked = checkFiling({ reason: radio ? radio.value : null, message: textarea.value });
          if (checked.error) {
            showError(error, checked.error);
            (checked.field === "reason" ? radios[0] : textarea).focus();
            return;
          }
          busy = true;
          send.disabled = true;
          section.setAttribute("aria-busy", "true");
          error.hidden = true;
          try {
            showFiled(await submit(checked));
          } catch (err) {
            const { code, text } = filingErrorText(err);
            lastError = { code, message: text };
            showError(error, text);
            error.setAttribute("data-code", code);
            send.disabled = false;
            error.focus();
          } finally {
            busy = false;
            section.removeAttribute("aria-busy");
          }
        });
        form.append(fieldset, h(doc, "label", { for: textId, text: "Tell us more (optional)" }), textarea, counter, error, h(doc, "div", { class: "dg-actions" }, cancel, send));
        section.append(form);
        return section;
      });
    },

    /** The reader's reports (GET readers/me/disputes): status, outcome, refund. */
    disputes({ disputes }) {
      return show((done) => {
        const { section } = dialogShell(
          "Your reports",
          disputes.length ? "Problems you reported on this site, newest first." : "You have not reported a problem on this site.",
        );
        section.setAttribute("data-frame-dialog", "disputes");
        const list = h(doc, "ul", { class: "dg-list" });
        for (const d of disputes) {
          list.append(h(doc, "li", { "data-dispute": String(d.id), "data-status": String(d.status || "") }, factsList(disputeFacts(d))));
        }
        const close = button("Close", { class: "dg-primary", "data-frame-action": "close" });
        onClick(close, () => done(null));
        section.append(list, h(doc, "div", { class: "dg-actions" }, close));
        return section;
      });
    },

    /**
     * The reader's receipts (GET readers/me/receipts): price, tax, publisher, time, claim
     * reference, each with "Report a problem". Resolves `{action: "report", article}` or null.
     */
    receipts({ receipts }) {
      return show((done) => {
        const { section } = dialogShell(
          "Receipts",
          receipts.length ? "What you paid on this site, newest first. Prices include tax." : "You have not paid for anything on this site yet.",
        );
        section.setAttribute("data-frame-dialog", "receipts");
        const list = h(doc, "ul", { class: "dg-list" });
        for (const r of receipts) {
          const report = button("Report a problem…", { "data-frame-action": "report", "data-article": String(r.article || "") });
          report.setAttribute("aria-label", `Report a problem with ${r.article}`);
          onClick(report, () => done({ action: "report", article: String(r.article || "") }));
          const rows = [
            ["Article", String(r.article || "")],
            ["Paid", xrpOf(r.price_drops)],
            ["Tax", receiptTaxLine(r)],
            ["Publisher", String(r.publisher || "")],
            ["Time", dateTimeText(r.time)],
            ["Reference", String(r.claim_reference || "")],
          ].filter(([, v]) => v);
          list.append(h(doc, "li", { "data-receipt": String(r.receipt_id), "data-article": String(r.article || "") }, factsList(rows), report));
        }
        const close = button("Close", { class: "dg-primary", "data-frame-action": "close" });
        onClick(close, () => done(null));
        section.append(list, h(doc, "div", { class: "dg-actions" }, close));
        return section;
      });
    },
  };
}
