"""Exchange rates (ECB eurofxref import, recorded XRP rates) and the tax returns: a quarter's
OSS report against the journal, and the non-EU equivalents as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.models import JournalLine
from compliance.models import TaxReport
from compliance.selectors import eur_per_xrp, fx_rate_on
from compliance.services.fx import FxImportError, fx_import_ecb, fx_rate_record
from compliance.services.reports import (
    FxUnavailable,
    parse_period,
    tax_report_generate,
    tax_reports_due,
)
from compliance.types import SubmittedEvidence
from paywall.services.unlocks import unlock_article
from paywall.types import SubmittedClaim
from tests.channels_app.factories import make_channel
from tests.paywall.factories import make_article, make_publisher, make_reader

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "compliance"


def test_the_ecb_xml_and_csv_formats_import_idempotently() -> None:
    result = fx_import_ecb(location=str(DATA / "eurofxref-sample.xml"))
    assert (result.dates, result.rates, result.created) == (2, 18, 18)
    assert (result.first, result.last) == (date(2026, 9, 29), date(2026, 9, 30))
    assert fx_import_ecb(location=str(DATA / "eurofxref-sample.xml")).created == 0
    usd = fx_rate_on("EUR", "USD", date(2026, 9, 30))
    assert usd.rate == Decimal("1.1700") and "ECB" in usd.source
    assert fx_rate_on("EUR", "USD", date(2026, 10, 4)).as_of == date(
        2026, 9, 30
    )  # weekend: last before
    csv_result = fx_import_ecb(location=str(DATA / "eurofxref-hist-sample.csv"))
    assert csv_result.rates == 20  # BGN's N/A skipped
    assert fx_rate_on("EUR", "GBP", date(2026, 6, 30)).rate == Decimal("0.85900")


def test_hostile_or_foreign_files_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "x.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>')
    with pytest.raises(FxImportError):
        fx_import_ecb(location=str(bomb))
    other = tmp_path / "y.csv"
    other.write_text("when,USD\n2026-01-01,1.1\n")
    with pytest.raises(FxImportError):
        fx_import_ecb(location=str(other))


def test_xrp_to_eur_direct_or_crossed_through_the_ecb() -> None:
    fx_import_ecb(location=str(DATA / "eurofxref-sample.xml"))
    fx_rate_record(
        base="XRP",
        quote="USD",
        rate=Decimal("0.585"),
        as_of=date(2026, 9, 30),
        source="exchange close",
    )
    crossed = eur_per_xrp(date(2026, 9, 30))
    assert crossed.rate == Decimal("0.585") / Decimal("1.1700")
    assert "exchange close" in crossed.source and "ECB" in crossed.source
    fx_rate_record(
        base="XRP", quote="EUR", rate=Decimal("0.51"), as_of=date(2026, 9, 30), source="eur market"
    )
    assert eur_per_xrp(date(2026, 9, 30)).rate == Decimal("0.51")
    with pytest.raises(FxImportError):
        fx_rate_record(
            base="XRP",
            quote="EUR",
            rate=Decimal("0.52"),
            as_of=date(2026, 9, 30),
            source="eur market",
        )


def test_periods() -> None:
    assert parse_period("2026Q3") == (date(2026, 7, 1), date(2026, 9, 30))
    assert parse_period("2026q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert parse_period("2027Q1") == (date(2027, 1, 1), date(2027, 3, 31))


# --- A quarter of unlocks ------------------------------------------------------------------------


def _at(moment: datetime):
    return clock.override(moment - datetime.now(moment.tzinfo))


@pytest.fixture
def quarter():
    """Unlocks in 2026Q3 from readers in DE (two rates), FR, GB, NO, CA-ON, US; one in Q4."""
    fx_import_ecb(location=str(DATA / "eurofxref-sample.xml"))
    fx_rate_record(
        base="XRP", quote="EUR", rate=Decimal("0.50"), as_of=date(2026, 9, 30), source="test market"
    )
    publisher = make_publisher()
    articles = {
        "std": make_article(publisher, slug="std", price_drops=1_190_000),
        "epub": make_article(publisher, slug="epub", price_drops=1_070_000),
    }
    from compliance.services.publishers import publisher_policy_set

    publisher_policy_set(
        publisher_ref=publisher.key, actor="test", article_tax_categories={"epub": "e_publication"}
    )
    sales = [
        ("DE", None, "std", datetime(2026, 7, 2, 10)),
        ("DE", None, "epub", datetime(2026, 8, 15, 12)),
        ("DE", None, "std", datetime(2026, 9, 30, 23, 59)),
        ("FR", None, "std", datetime(2026, 7, 1, 0, 1)),
        ("GB", None, "std", datetime(2026, 8, 1, 9)),
        ("NO", None, "epub", datetime(2026, 8, 2, 9)),
        ("CA", "CA-ON", "std", datetime(2026, 9, 1, 9)),
        ("US", None, "std", datetime(2026, 9, 2, 9)),
        ("DE", None, "std", datetime(2026, 10, 1, 0, 0)),  # Q4
    ]
    from datetime import UTC

    for country, region, slug, when in sales:
        reader, _, key = make_reader(publisher)
        channel = make_channel(
            key=key,
            owner_ref=reader.public_id,
            amount_drops=50_000_000,
            source_address=Wallet.create().classic_address,
        )
        price = articles[slug].price_drops
        with _at(when.replace(tzinfo=UTC)):
            unlock_article(
                reader=reader,
                article=articles[slug],
                claim=SubmittedClaim(
                    channel.channel_id, price, key.sign(channel.channel_id, price)
                ),
                telemetry_session="",
                evidence=SubmittedEvidence(country=country, region=region),
            )
    return publisher


def test_the_oss_return_of_a_quarter_equals_the_journal(quarter) -> None:
    report = tax_report_generate(scheme="oss", period="2026Q3", actor="test")
    rows = {(r["country"], r["rate_percent"]): r for r in report.rows}
    assert set(rows) == {("DE", "19"), ("DE", "7"), ("FR", "20")}
    de = rows[("DE", "19")]
    assert (de["supplies"], de["net_drops"], de["tax_drops"]) == (2, 2_000_000, 380_000)
    assert de["net_eur"] == "1.00" and de["tax_eur"] == "0.19"  # 2 XRP net x 0.50 EUR
    assert rows[("DE", "7")]["tax_drops"] == 70_000
    fr = rows[("FR", "20")]
    assert (fr["net_drops"], fr["tax_drops"]) == (991_667, 198_333)

    # The journal's VAT of the quarter's OSS claims, computed independently.
    from compliance.models import DecisionRecord

    claims = DecisionRecord.objects.filter(
        scheme="EU-OSS", at__date__lte=date(2026, 9, 30), at__date__gte=date(2026, 7, 1)
    ).values_list("claim_id", flat=True)
    journal = JournalLine.objects.filter(
        account="vat_payable",
        entry__kind="tax",
        entry__reference__in=[f"claim:{c}" for c in claims],
    )
    per_country: dict[str, int] = {}
    for line in journal:
        per_country[line.subaccount] = per_country.get(line.subaccount, 0) + line.credit_drops
    assert per_country == {"DE": 450_000, "FR": 198_333}
    assert (
        report.totals["tax_drops"]
        == sum(per_country.values())
        == report.totals["journal_tax_drops"]
    )
    assert report.totals["journal_matches"] is True
    assert report.fx["currency"] == "EUR" and report.fx["source"] == "test market"

    table = list(csv.DictReader(io.StringIO(report.csv)))
    assert {r["member_state_of_consumption"] for r in table} == {"DE", "FR"}
    assert sum(Decimal(r["vat_amount_eur"]) for r in table) == Decimal(report.totals["tax_eur"])


def test_a_report_notices_a_journal_that_disagrees(quarter, capsys) -> None:
    from datetime import UTC

    from compliance.models import DecisionRecord

    # A charge recorded with tax that the journal never booked (as a bug would leave it).
    DecisionRecord.objects.create(
        at=datetime(2026, 8, 1, tzinfo=UTC),
        decision="allow",
        publisher_ref=quarter.key,
        reader_ref="rdr_x",
        country="FR",
        rules=[],
        rulebook_version="x",
        category="standard",
        gross_drops=120,
        net_drops=100,
        tax_drops=20,
        rate_percent=Decimal(20),
        scheme="EU-OSS",
        claim_id=10**9,
    )
    report = tax_report_generate(scheme="oss", period="2026Q3", actor="test")
    assert report.totals["journal_matches"] is False
    assert report.totals["journal_check"]["FR"] == {"report": 198_353, "journal": 198_333}
    with pytest.raises(SystemExit) as exited:
        call_command("tax_report", "--scheme", "oss", "--period", "2026Q3")
    assert exited.value.code == 1
    assert "journal check FAILED" in capsys.readouterr().err


def test_non_eu_returns_in_local_currency(quarter) -> None:
    gb = tax_report_generate(scheme="gb", period="2026Q3", actor="test")
    (row,) = gb.rows
    assert (row["country"], row["rate_percent"], row["tax_drops"]) == ("GB", "20", 198_333)
    # 0.198333 XRP x 0.50 EUR/XRP x 0.8725 GBP/EUR = 0.0865… GBP
    assert row["tax_gbp"] == "0.09" and gb.currency == "GBP"
    assert "taxable_amount_gbp" in gb.csv.splitlines()[0]
    voec = tax_report_generate(scheme="voec", period="2026Q3", actor="test")
    assert voec.scheme == "NO-VOEC" and voec.rows[0]["tax_drops"] == 0
    ca = tax_report_generate(scheme="ca", period="2026Q3", actor="test")
    assert ca.rows[0]["region"] == "CA-ON" and ca.rows[0]["rate_percent"] == "13"
    jp = tax_report_generate(scheme="jp", period="2026Q3", actor="test")
    assert jp.rows == [] and jp.totals["tax_jpy"] == "0"


def test_no_rate_no_report() -> None:
    with pytest.raises(FxUnavailable):
        tax_report_generate(scheme="oss", period="2026Q3", actor="test")


def test_the_command_prints_the_csv_and_the_beat_task_makes_each_return_once(
    quarter, capsys
) -> None:
    call_command("tax_report", "--scheme", "oss", "--period", "2026Q3")
    out = capsys.readouterr().out
    assert out.startswith("scheme,period,member_state_of_consumption")
    assert "EU-OSS,2026Q3,DE,,19," in out
    with _at(datetime(2026, 10, 5, 3, tzinfo=__import__("datetime").UTC)):
        made = tax_reports_due()
        again = tax_reports_due()
    assert {r.scheme for r in made} == {
        "GB-VAT",
        "NO-VOEC",
        "CH-MWST",
        "AU-GST",
        "NZ-GST",
        "JP-CT",
        "SG-OVR",
        "CA-GST-HST",
    }
    assert again == []
    assert TaxReport.objects.filter(scheme="EU-OSS", period="2026Q3").count() == 1
