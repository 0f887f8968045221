/**
 * ISO 3166-1 alpha-2 codes (the 249 of tzdata's iso3166.tab, as the server's compliance/geo.py
 * reads them), and the regions the frame asks for where the tax depends on them (Canada's
 * provinces and territories, ISO 3166-2). Names come from Intl.DisplayNames in the reader's
 * language, so none are shipped.
 */
export const COUNTRY_CODES = Object.freeze(
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split(" "),
);

export const PROVINCES = Object.freeze({
  CA: Object.freeze([
    ["CA-AB", "Alberta"],
    ["CA-BC", "British Columbia"],
    ["CA-MB", "Manitoba"],
    ["CA-NB", "New Brunswick"],
    ["CA-NL", "Newfoundland and Labrador"],
    ["CA-NS", "Nova Scotia"],
    ["CA-NT", "Northwest Territories"],
    ["CA-NU", "Nunavut"],
    ["CA-ON", "Ontario"],
    ["CA-PE", "Prince Edward Island"],
    ["CA-QC", "Quebec"],
    ["CA-SK", "Saskatchewan"],
    ["CA-YT", "Yukon"],
  ]),
});
