/**
 * Where the reader is, as the frame can tell (docs/sdk-protocol.md, "Evidence sent with an
 * unlock"): the IANA time zone and `navigator.languages` of the frame's own window (never the
 * publisher's page, whose scripts could forge them), and the country (and region) the reader
 * declared in the frame, kept in its IndexedDB. The server adds the IP's country itself.
 */

/** Where the frame keeps the declared country: `{country: "DE", region: null}`. */
export const DECLARED_KEY = "country:declared";

const COUNTRY_RE = /^[A-Z]{2}$/;
const REGION_RE = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;
const LANGUAGE_RE = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,6}$/;
const MAX_LANGUAGES = 5;

/** A declared country record, cleaned, or null. */
export function cleanDeclared(value) {
  if (!value || typeof value !== "object") return null;
  const country = typeof value.country === "string" ? value.country.toUpperCase() : "";
  if (!COUNTRY_RE.test(country)) return null;
  const region = typeof value.region === "string" ? value.region.toUpperCase() : "";
  return { country, region: REGION_RE.test(region) && region.slice(0, 2) === country ? region : null };
}

/** The browser's IANA time zone, or null. */
export function timeZoneOf(intl = globalThis.Intl) {
  try {
    const zone = intl.DateTimeFormat().resolvedOptions().timeZone;
    return typeof zone === "string" && zone.length > 0 && zone.length <= 64 ? zone : null;
  } catch {
    return null;
  }
}

/** At most five well-formed BCP 47 tags of `navigator.languages` (else `navigator.language`). */
export function languagesOf(nav = globalThis.navigator) {
  if (!nav) return [];
  const raw = Array.isArray(nav.languages) || (nav.languages && typeof nav.languages.length === "number")
    ? Array.from(nav.languages)
    : [nav.language];
  const out = [];
  for (const tag of raw) {
    if (typeof tag === "string" && tag.length <= 35 && LANGUAGE_RE.test(tag) && !out.includes(tag)) out.push(tag);
    if (out.length === MAX_LANGUAGES) break;
  }
  return out;
}

/**
 * The `evidence` object of an unlock or a tax preview.
 * @param {{store: {get: Function}, intl?: object, navigator?: object}} deps
 */
export async function collectEvidence({ store, intl = globalThis.Intl, navigator: nav = globalThis.navigator }) {
  const declared = cleanDeclared(await store.get(DECLARED_KEY));
  return {
    country: declared ? declared.country : null,
    region: declared ? declared.region : null,
    timezone: timeZoneOf(intl),
    languages: languagesOf(nav),
  };
}

/** Remember the country the reader declared (or confirmed) in the frame. */
export async function declareCountry(store, { country, region = null }) {
  const clean = cleanDeclared({ country, region });
  if (!clean) throw new TypeError("not an ISO 3166 country");
  await store.set(DECLARED_KEY, clean);
  return clean;
}
