"""The decision: blocks (every one), the EU two-evidence rule, confirmation, VAT."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from compliance.decisions import PUBLISHER_BLOCK_RULE, decide, evidence_build
from compliance.rules import rulebook

TODAY = date(2026, 12, 1)
IR_IP, KP_IP, CU_IP, SY_IP, CN_IP = (
    "2.176.0.1",
    "175.45.176.1",
    "152.206.0.1",
    "31.9.0.1",
    "1.2.4.8",
)
GB_IP, DE_IP, US_IP = "81.2.69.160", "85.214.132.117", "23.0.0.1"


def run(
    on: date = TODAY,
    category: str = "standard",
    amount: int = 1_000_000,
    blocked=frozenset(),
    **evidence,
):
    return decide(
        rulebook(),
        evidence_build(**evidence),
        amount_drops=amount,
        category=category,
        on=on,
        publisher_blocked=frozenset(blocked),
    )


@pytest.mark.parametrize(
    ("evidence", "rule"),
    [
        ({"declared_country": "CU"}, "sanctions.ofac.cu"),
        ({"declared_country": "IR"}, "sanctions.ofac.ir"),
        ({"declared_country": "KP"}, "sanctions.ofac.kp"),
        ({"declared_country": "UA", "declared_region": "UA-43"}, "sanctions.ofac.crimea"),
        ({"declared_country": "UA", "declared_region": "UA-40"}, "sanctions.ofac.crimea"),
        ({"declared_country": "UA", "declared_region": "UA-14"}, "sanctions.ofac.dnr_lnr"),
        ({"declared_country": "UA", "declared_region": "UA-09"}, "sanctions.ofac.dnr_lnr"),
        ({"declared_country": "CN"}, "jurisdiction.cn.crypto_payments_ban"),
        ({"declared_country": "DE", "ip": IR_IP}, "sanctions.ofac.ir"),
        ({"declared_country": "DE", "ip": KP_IP}, "sanctions.ofac.kp"),
        ({"declared_country": "DE", "ip": CU_IP}, "sanctions.ofac.cu"),
        ({"declared_country": "DE", "ip": CN_IP}, "jurisdiction.cn.crypto_payments_ban"),
        ({"declared_country": "UA", "timezone": "Europe/Simferopol"}, "sanctions.ofac.crimea"),
        ({"declared_country": "DE", "timezone": "Asia/Tehran"}, "sanctions.ofac.ir"),
        ({"confirmed_country": "CU"}, "sanctions.ofac.cu"),
        ({"declared_country": "FR", "funding_country": "KP"}, "sanctions.ofac.kp"),
    ],
)
def test_every_block_refuses_and_names_its_rule(evidence, rule) -> None:
    decision = run(**evidence)
    assert decision.decision == "block"
    assert rule in decision.rules
    assert decision.vat is None and decision.code == "jurisdiction_blocked"


def test_syria_is_blocked_until_its_program_ended() -> None:
    assert run(on=date(2025, 6, 30), declared_country="SY").rules == ("sanctions.ofac.sy",)
    after = run(on=date(2025, 7, 1), declared_country="SY")
    assert after.decision == "allow" and after.country == "SY" and after.vat is None
    assert run(on=date(2025, 7, 1), declared_country="DE", ip=SY_IP).decision != "block"


def test_blocks_start_on_their_date() -> None:
    assert (
        run(on=date(2022, 2, 20), declared_country="UA", declared_region="UA-14").decision
        == "allow"
    )
    assert (
        run(on=date(2022, 2, 21), declared_country="UA", declared_region="UA-14").decision
        == "block"
    )
    assert run(on=date(2021, 9, 23), declared_country="CN").decision == "allow"


def test_ukraine_outside_the_blocked_regions_is_allowed() -> None:
    assert run(declared_country="UA", declared_region="UA-30").decision == "allow"


def test_a_language_never_blocks() -> None:
    assert run(declared_country="DE", languages=["fa-IR"]).decision == "allow"


def test_publishers_add_their_own_blocked_countries() -> None:
    decision = run(declared_country="FR", blocked={"FR"})
    assert decision.decision == "block" and decision.rules == (PUBLISHER_BLOCK_RULE,)
    assert run(declared_country="DE", blocked={"FR"}).decision == "allow"


# --- Where is the reader --------------------------------------------------------------------


def test_the_declared_country_alone_is_taken() -> None:
    decision = run(declared_country="DE")
    assert (decision.decision, decision.country, decision.rules) == (
        "allow",
        "DE",
        ("vat.de.standard",),
    )


def test_two_agreeing_pieces_fix_the_country_under_the_eu_rule() -> None:
    decision = run(declared_country="DE", ip=DE_IP)
    assert decision.country == "DE"
    assert decision.rules == ("location.eu.two_evidence", "vat.de.standard")
    assert decision.evidence_kinds == ("declared", "ip")


def test_two_contradicting_pieces_ask_the_reader() -> None:
    decision = run(declared_country="DE", ip=GB_IP)
    assert decision.decision == "confirm_country"
    assert decision.candidates == ("DE", "GB")
    assert decision.vat is None and decision.country is None
    assert decision.code == "country_confirmation_required"


def test_two_non_contradictory_pieces_outweigh_a_third() -> None:
    decision = run(declared_country="DE", ip=GB_IP, timezone="Europe/Berlin")
    assert decision.decision == "allow" and decision.country == "DE"


def test_a_tie_of_two_against_two_is_asked() -> None:
    decision = run(declared_country="DE", timezone="Europe/Berlin", ip=GB_IP, funding_country="GB")
    assert decision.decision == "confirm_country" and decision.candidates == ("DE", "GB")


def test_a_language_corroborates_but_never_contradicts() -> None:
    assert run(declared_country="AT", ip=DE_IP, languages=["de-AT"]).country == "AT"
    assert run(declared_country="DE", languages=["en-US"]).country == "DE"


def test_the_reader_s_confirmation_decides() -> None:
    decision = run(declared_country="DE", ip=GB_IP, confirmed_country="GB")
    assert decision.decision == "allow" and decision.country == "GB"


def test_a_private_ip_is_no_evidence() -> None:
    decision = run(declared_country="DE", ip="192.168.1.10")
    assert decision.evidence_kinds == ("declared",)


def test_no_evidence_leaves_the_country_unknown() -> None:
    decision = run()
    assert decision.decision == "allow" and decision.country is None and decision.vat is None


# --- VAT ---------------------------------------------------------------------------------------


def test_the_rate_follows_country_and_category() -> None:
    assert run(declared_country="FR", category="e_publication").vat.rate_percent == Decimal("2.1")
    assert run(declared_country="FR").vat.rate_percent == 20
    assert run(declared_country="GB", category="e_publication").vat.tax_drops == 0
    assert run(declared_country="US").vat is None


def test_canadian_provinces_have_their_own_rate() -> None:
    assert run(declared_country="CA").vat.rate_percent == 5
    on = run(declared_country="CA", declared_region="CA-ON")
    assert (on.vat.rate_percent, on.rules) == (13, ("vat.ca.on.standard",))
    assert (
        run(on=date(2025, 3, 31), declared_country="CA", declared_region="CA-NS").vat.rate_percent
        == 15
    )
    assert (
        run(on=date(2025, 4, 1), declared_country="CA", declared_region="CA-NS").vat.rate_percent
        == 14
    )


def test_a_category_rule_without_a_value_falls_back_to_the_standard_rate() -> None:
    before = run(on=date(2026, 1, 1), declared_country="BE", category="e_publication")
    assert before.vat.rate_percent == 21
    assert before.rules == ("vat.be.e_publication", "vat.be.standard")
    assert (
        run(on=date(2026, 10, 1), declared_country="BE", category="e_publication").vat.rate_percent
        == 6
    )


def test_rates_change_on_their_dates() -> None:
    assert run(on=date(2020, 12, 31), declared_country="DE").vat.rate_percent == 16
    assert run(on=date(2021, 1, 1), declared_country="DE").vat.rate_percent == 19
    assert run(on=date(2023, 12, 31), declared_country="SG").vat.rate_percent == 8
    assert run(on=date(2024, 1, 1), declared_country="SG").vat.rate_percent == 9
    assert run(on=date(2025, 7, 31), declared_country="RO").vat.rate_percent == 19
    assert run(on=date(2025, 8, 1), declared_country="RO").vat.rate_percent == 21
