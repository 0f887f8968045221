/**
 * The frame's side of compliance (issue 12; docs/sdk-protocol.md, "Compliance"): what it asks
 * the reader, and when, before a paid unlock.
 *
 * - **Tax preview** before anything is signed: `POST readers/me/tax-preview` with the evidence.
 *   `block` stops the unlock with `jurisdiction_blocked` (no channel is opened, nothing
 *   signed); `confirm_country` asks the reader (below) and previews again; `allow` gives the
 *   price with its tax for the confirmations.
 * - **Consent before immediate access** (EU CRD Art. 16(m)): when `GET readers/me/consent` says
 *   it is required and not given, the consent dialog comes before the first paid unlock for
 *   this publisher; the answer is `POST readers/me/consent`. Remembered in the frame once given.
 * - **Country confirmation**: the candidates first, then any country (a province for Canada);
 *   `POST readers/me/country`, and the answer is kept as the declared country.
 * - The refusals of a claim (409 `country_confirmation_required`, 428 `consent_required`) are
 *   answered the same way, and the signer sends the same claim again.
 */
import { SdkError } from "./errors.js";
import { DECLARED_KEY, collectEvidence, declareCountry } from "./evidence.js";
import { formatXrp, parseDrops } from "../shared/drops.js";

/** Where the frame remembers the consent text version the reader accepted. */
export const CONSENT_KEY = "consent:given";

/**
 * The consent texts the frame can show, keyed by the version of the rule
 * `consumer.eu.crd_immediate_access` (compliance/rulebook/eu.yaml). The server only records a
 * consent to the version in force, so a version the frame does not know is refused rather
 * than shown with some other text.
 */
export const CONSENT_TEXTS = Object.freeze({
  "2026-12-01": Object.freeze({
    title: "Start reading now?",
    text:
      "Articles on this site are digital content supplied as soon as you pay. Under EU consumer " +
      "law you have a 14-day right of withdrawal, which ends when the supply starts with your " +
      "express consent. This is asked once for this site.",
    immediate: "I ask for access to each article I pay for to start immediately.",
    withdrawal: "I acknowledge that I lose my right of withdrawal once access has started.",
    confirm: "Agree and continue",
  }),
});

/** "19.000" → "19", "5.500" → "5.5"; null for anything that is not a rate. */
export function formatRate(value) {
  const text = String(value ?? "");
  if (!/^[0-9]{1,3}(\.[0-9]{1,6})?$/.test(text)) return null;
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** What the tax is called where it is collected. */
function taxName(vat) {
  const scheme = String((vat && vat.scheme) || "");
  if (/^(AU|NZ|SG|CA)\b/.test(scheme) || ["AU", "NZ", "SG", "CA"].includes(vat && vat.country)) return "GST";
  if ((vat && vat.country) === "JP") return "JCT";
  return "VAT";
}

/**
 * The tax part of a price, for people: "incl. 19 % VAT (0.031933 XRP)", "no VAT collected"
 * (vat null), or "" when the frame does not know (no preview).
 * @param {object|null|undefined} vat the preview's or receipt's tax
 */
export function taxLabel(vat) {
  if (vat === undefined) return "";
  if (vat === null) return "no VAT collected";
  const rate = formatRate(vat.rate_percent);
  let tax;
  try {
    tax = parseDrops(vat.tax_drops);
  } catch {
    return "";
  }
  const name = taxName(vat);
  return `incl. ${rate === null ? "" : `${rate} % `}${name}${vat.country ? ` ${vat.country}` : ""} (${formatXrp(tax)} XRP)`;
}

/** The price with its tax: "0.2 XRP incl. 19 % VAT DE (0.031933 XRP)". */
export function priceWithTax(priceDrops, vat) {
  const label = taxLabel(vat);
  return `${formatXrp(priceDrops)} XRP${label ? ` ${label}` : ""}`;
}

/** A receipt's tax line: the receipt fields of GET readers/me/receipts. */
export function receiptTaxLine(receipt) {
  let tax;
  try {
    tax = parseDrops(receipt.tax_drops);
  } catch {
    tax = 0n;
  }
  if (!receipt.tax_rate_percent && tax === 0n) return "No VAT collected";
  const vat = {
    rate_percent: receipt.tax_rate_percent,
    tax_drops: receipt.tax_drops,
    country: receipt.tax_country || null,
    scheme: receipt.tax_scheme || "",
  };
  const rate = formatRate(vat.rate_percent);
  return `${taxName(vat)}${vat.country ? ` ${vat.country}` : ""}${rate === null ? "" : ` ${rate} %`}: ${formatXrp(tax)} XRP`;
}

const isCountry = (c) => typeof c === "string" && /^[A-Z]{2}$/.test(c);

/**
 * @param {object} deps
 * @param {object} deps.api    frame/api.js
 * @param {object} deps.store  frame/store.js
 * @param {object} deps.ui     frame/ui.js (consent, country)
 * @param {object} [deps.intl]       Intl (time zone)
 * @param {object} [deps.navigator]  languages
 */
export function createCompliance({ api, store, ui, intl = globalThis.Intl, navigator: nav = globalThis.navigator }) {
  const evidence = () => collectEvidence({ store, intl, navigator: nav });
  // Not required when this frame asked: not asked again until it reloads (a 428 still asks).
  let consentNotRequired = false;

  function blocked(preview) {
    const country = isCountry(preview.country) ? preview.country : null;
    return new SdkError(
      "jurisdiction_blocked",
      country ? `This article cannot be sold to readers in ${country}.` : "This article cannot be sold where you are.",
      { status: 451, details: { country, rules: Array.isArray(preview.rules) ? preview.rules.map(String) : [] } },
    );
  }

  /** Ask for the country (candidates first); record it on the server and as declared. */
  async function confirmCountry(candidates) {
    const picked = await ui.country({
      candidates: (Array.isArray(candidates) ? candidates : []).filter(isCountry),
      current: await store.get(DECLARED_KEY),
    });
    if (!picked) throw new SdkError("cancelled", "The country was not confirmed.");
    await api.post("readers/me/country", { country: picked.country, region: picked.region || null }, { auth: "reader" });
    await declareCountry(store, picked);
    return picked;
  }

  /** Show the consent text of `version` and record the reader's consent. */
  async function askConsent(version) {
    const text = Object.hasOwn(CONSENT_TEXTS, version) ? CONSENT_TEXTS[version] : null;
    if (!text) {
      throw new SdkError(
        "consent_text_unavailable",
        "This payment frame cannot show the consent text in force; reload the page to update it.",
      );
    }
    const ok = await ui.consent({ version, ...text });
    if (!ok) throw new SdkError("cancelled", "Immediate access was not agreed to.");
    try {
      await api.post(
        "readers/me/consent",
        { text_version: version, immediate_access: true, withdrawal_right_lost: true },
        { auth: "reader" },
      );
    } catch (err) {
      // The text changed between the question and the answer: ask again with the new one.
      const next = err instanceof SdkError && err.code === "consent_text_outdated" && err.details.text_version;
      if (!next || next === version) throw err;
      return askConsent(String(next));
    }
    await store.set(CONSENT_KEY, version);
    return version;
  }

  return {
    evidence,
    confirmCountry,
    askConsent,

    /**
     * Before a paid unlock (the reader is registered): preview, answer a country question,
     * refuse a block. Resolves with the preview (`vat` null or an object), or with null when
     * the preview could not be had (the unlock itself decides then).
     */
    async beforePaying(article) {
      for (let asked = 0; ; asked++) {
        let preview;
        try {
          preview = await api.post("readers/me/tax-preview", { article, evidence: await evidence() }, { auth: "reader" });
        } catch (err) {
          if (err instanceof SdkError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
          return null;
        }
        if (preview.decision === "block") throw blocked(preview);
        if (preview.decision === "confirm_country" && asked === 0) {
          await confirmCountry(preview.candidates);
          continue;
        }
        if (preview.decision !== "allow") return null;
        return { ...preview, vat: preview.vat && typeof preview.vat === "object" ? preview.vat : null };
      }
    },

    /** Consent up front, when the server requires it and this reader has not given it. */
    async ensureConsent() {
      if (consentNotRequired || (await store.get(CONSENT_KEY))) return false;
      let status;
      try {
        status = await api.get("readers/me/consent", { auth: "reader" });
      } catch (err) {
        if (err instanceof SdkError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
        return false; // the claim's 428 asks, if it must
      }
      if (status.given === true) {
        await store.set(CONSENT_KEY, String(status.text_version || ""));
        return false;
      }
      if (status.required !== true) {
        consentNotRequired = true;
        return false;
      }
      await askConsent(String(status.text_version || ""));
      return true;
    },

    /**
     * A claim refused by compliance: answer what can be answered (true: send the claim again),
     * else false. Cancelling rejects with `cancelled`.
     */
    async answer(err) {
      if (!(err instanceof SdkError)) return false;
      if (err.code === "country_confirmation_required") {
        await confirmCountry(err.details && err.details.candidates);
        return true;
      }
      if (err.code === "consent_required") {
        await store.delete(CONSENT_KEY);
        await askConsent(String((err.details && err.details.text_version) || ""));
        return true;
      }
      return false;
    },
  };
}
