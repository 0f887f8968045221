"""Tax returns from the charged unlocks: the EU One-Stop-Shop and its non-EU equivalents.

A report covers one scheme and one quarter (`2026Q3`). Its rows group the period's charged
unlocks of that scheme by country (and ISO 3166-2 region, for Canada's provinces) and rate:
supplies, net and tax in drops (exact) and in the return's currency. Conversion:

- XRP → EUR at the rate of the period's last day (`compliance.selectors.eur_per_xrp`: a
  recorded XRP/EUR market rate, or XRP/<currency> crossed with the ECB reference rate of that
  day). XRP is not an ECB currency; the OSS asks for the ECB rate of the last day of the
  period for amounts in other currencies (Directive 2006/112/EC Art. 369h(2)), so the ECB
  leg is that day's ECB rate and the XRP leg is the recorded market source, both named.
- EUR → the scheme's currency (GBP, NOK, CHF, AUD, NZD, JPY, SGD, CAD) at the ECB reference
  rate of the same day.
Each group's drops are converted once and rounded half-even to the currency's minor unit;
totals are sums of the rows.

The report checks itself against the journal: the VAT of its unlocks must equal the
`vat_payable` credits of their claims' `tax` entries, per country (`journal_check`).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import Sum

from channels_app import clock
from channels_app.models import JournalLine
from compliance.exceptions import ComplianceError
from compliance.models import DecisionRecord, TaxReport
from compliance.rules import rulebook
from compliance.selectors import DROPS_PER_XRP, eur_per_xrp, fx_rate_on

__all__ = ["SCHEMES", "parse_period", "tax_report_generate"]

# Report name → (scheme on the decisions, currency of the return, minor-unit exponent).
SCHEMES: dict[str, tuple[str, str, int]] = {
    "oss": ("EU-OSS", "EUR", 2),
    "gb": ("GB-VAT", "GBP", 2),
    "no": ("NO-VOEC", "NOK", 2),
    "ch": ("CH-MWST", "CHF", 2),
    "au": ("AU-GST", "AUD", 2),
    "nz": ("NZ-GST", "NZD", 2),
    "jp": ("JP-CT", "JPY", 0),
    "sg": ("SG-OVR", "SGD", 2),
    "ca": ("CA-GST-HST", "CAD", 2),
}
SCHEME_ALIASES = {"voec": "no", "uk": "gb"}
_PERIOD = re.compile(r"^(\d{4})Q([1-4])$")


class ReportError(ComplianceError):
    code = "tax_report_error"
    http_status = 400


class FxUnavailable(ReportError):
    code = "fx_rate_unavailable"
    http_status = 503


def parse_period(period: str) -> tuple[date, date]:
    """`2026Q3` → (2026-07-01, 2026-09-30)."""
    match = _PERIOD.match(period.strip().upper())
    if match is None:
        raise ReportError(f"{period!r} is not a quarter such as 2026Q3.", code="period_invalid")
    year, quarter = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)) - timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class Conversion:
    currency: str
    per_xrp: Decimal
    as_of: date
    source: str


def _conversion(currency: str, on: date) -> Conversion:
    eur = eur_per_xrp(on)
    if eur is None:
        raise FxUnavailable(f"No XRP→EUR rate is recorded on or before {on}.")
    if currency == "EUR":
        return Conversion("EUR", eur.rate, eur.as_of, eur.source)
    ecb = fx_rate_on("EUR", currency, on)
    if ecb is None:
        raise FxUnavailable(f"No ECB EUR→{currency} rate is recorded on or before {on}.")
    return Conversion(
        currency,
        eur.rate * ecb.rate,
        on,
        f"{eur.source} ({eur.rate} EUR/XRP, {eur.as_of}) x {ecb.source} ({ecb.rate} {currency}/EUR, {ecb.as_of})",
    )


def _money(drops: int, conversion: Conversion, exponent: int) -> Decimal:
    quantum = Decimal(1).scaleb(-exponent)
    return (Decimal(drops) / DROPS_PER_XRP * conversion.per_xrp).quantize(
        quantum, rounding=ROUND_HALF_EVEN
    )


def _journal_tax(claim_ids: list[int]) -> dict[str, int]:
    """vat_payable credits of these claims' `tax` entries, per country (sub-account)."""
    totals: dict[str, int] = defaultdict(int)
    references = [f"claim:{pk}" for pk in claim_ids]
    for start in range(0, len(references), 500):
        for row in (
            JournalLine.objects.filter(
                account="vat_payable",
                entry__kind="tax",
                entry__reference__in=references[start : start + 500],
            )
            .values("subaccount")
            .annotate(c=Sum("credit_drops"), d=Sum("debit_drops"))
        ):
            totals[row["subaccount"]] += int(row["c"] or 0) - int(row["d"] or 0)
    return dict(totals)


def tax_report_generate(*, scheme: str, period: str, actor: str) -> TaxReport:
    """Build and store the return of `scheme` (oss, gb, no, ch, au, nz, jp, sg, ca) for a
    quarter. Raises ReportError (bad scheme or period) or FxUnavailable (no rate recorded)."""
    name = SCHEME_ALIASES.get(scheme.lower(), scheme.lower())
    if name not in SCHEMES:
        raise ReportError(
            f"Unknown scheme {scheme!r}; one of {', '.join(SCHEMES)}.", code="scheme_invalid"
        )
    scheme_code, currency, exponent = SCHEMES[name]
    start, end = parse_period(period)
    conversion = _conversion(currency, end)
    since = datetime.combine(start, time.min, tzinfo=clock.now().tzinfo)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=clock.now().tzinfo)
    records = DecisionRecord.objects.filter(
        claim_id__isnull=False, scheme=scheme_code, at__gte=since, at__lt=until
    )
    groups: dict[tuple[str, str, Decimal | None], dict[str, int]] = defaultdict(
        lambda: {"supplies": 0, "net_drops": 0, "tax_drops": 0, "gross_drops": 0}
    )
    claim_ids: list[int] = []
    for country, region, rate, net, tax, gross, claim_id in records.values_list(
        "country", "region", "rate_percent", "net_drops", "tax_drops", "gross_drops", "claim_id"
    ).iterator():
        group = groups[(country, region if scheme_code == "CA-GST-HST" else "", rate)]
        group["supplies"] += 1
        group["net_drops"] += net
        group["tax_drops"] += tax
        group["gross_drops"] += gross
        if claim_id is not None:
            claim_ids.append(claim_id)
    rows: list[dict[str, Any]] = []
    for (country, region, rate), sums in sorted(groups.items()):
        rows.append(
            {
                "country": country,
                "region": region,
                "rate_percent": format(rate.normalize(), "f") if rate is not None else "",
                "supplies": sums["supplies"],
                "net_drops": sums["net_drops"],
                "tax_drops": sums["tax_drops"],
                "gross_drops": sums["gross_drops"],
                f"net_{currency.lower()}": str(_money(sums["net_drops"], conversion, exponent)),
                f"tax_{currency.lower()}": str(_money(sums["tax_drops"], conversion, exponent)),
            }
        )
    journal = _journal_tax(claim_ids)
    by_country: dict[str, int] = defaultdict(int)
    for row in rows:
        by_country[row["country"]] += row["tax_drops"]
    totals = {
        "supplies": sum(r["supplies"] for r in rows),
        "net_drops": sum(r["net_drops"] for r in rows),
        "tax_drops": sum(r["tax_drops"] for r in rows),
        "gross_drops": sum(r["gross_drops"] for r in rows),
        f"net_{currency.lower()}": str(
            sum((Decimal(r[f"net_{currency.lower()}"]) for r in rows), Decimal(0))
        ),
        f"tax_{currency.lower()}": str(
            sum((Decimal(r[f"tax_{currency.lower()}"]) for r in rows), Decimal(0))
        ),
        "journal_tax_drops": sum(journal.values()),
        "journal_check": {
            country: {"report": by_country.get(country, 0), "journal": journal.get(country, 0)}
            for country in sorted(set(by_country) | set(journal))
        },
    }
    totals["journal_matches"] = all(
        item["report"] == item["journal"] for item in totals["journal_check"].values()
    )
    return TaxReport.objects.create(
        scheme=scheme_code,
        period=period.strip().upper(),
        period_start=start,
        period_end=end,
        generated_at=clock.now(),
        generated_by=actor[:150],
        rulebook_version=rulebook().version,
        currency=currency,
        fx={
            "currency": currency,
            "per_xrp": str(conversion.per_xrp),
            "as_of": conversion.as_of.isoformat(),
            "source": conversion.source,
        },
        rows=rows,
        totals=totals,
        csv=_csv(rows, currency=currency, scheme=scheme_code, period=period, conversion=conversion),
    )


def _csv(
    rows: list[dict[str, Any]], *, currency: str, scheme: str, period: str, conversion: Conversion
) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    cur = currency.lower()
    country_label = "member_state_of_consumption" if scheme == "EU-OSS" else "country"
    writer.writerow(
        [
            "scheme",
            "period",
            country_label,
            "region",
            "rate_percent",
            "supplies",
            f"taxable_amount_{cur}",
            f"vat_amount_{cur}",
            "net_drops",
            "tax_drops",
            f"{cur}_per_xrp",
            "rate_date",
            "rate_source",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                scheme,
                period.strip().upper(),
                row["country"],
                row["region"],
                row["rate_percent"],
                row["supplies"],
                row[f"net_{cur}"],
                row[f"tax_{cur}"],
                row["net_drops"],
                row["tax_drops"],
                str(conversion.per_xrp),
                conversion.as_of.isoformat(),
                conversion.source,
            ]
        )
    return out.getvalue()


def tax_reports_due(*, now: datetime | None = None, actor: str = "beat") -> list[TaxReport]:
    """Generate each scheme's return for the last ended quarter, once (the beat task).
    Schemes without an exchange rate for the period's last day are skipped (and retried on
    the next run)."""
    today = (now or clock.now()).date()
    quarter = (today.month - 1) // 3  # the previous quarter, 0 meaning Q4 of last year
    year = today.year if quarter else today.year - 1
    period = f"{year}Q{quarter or 4}"
    made: list[TaxReport] = []
    for name, (code, _, _) in SCHEMES.items():
        if TaxReport.objects.filter(scheme=code, period=period).exists():
            continue
        try:
            made.append(tax_report_generate(scheme=name, period=period, actor=actor))
        except FxUnavailable:
            continue
    return made
