"""Every VAT/GST rate in the rulebook against its source package (eu-vat-rates-data), and the
coverage the compliance issue asks for."""

from __future__ import annotations

from decimal import Decimal

import eu_vat_rates_data
import pytest

from compliance.rules import rulebook

REQUIRED = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "GB",
    "NO",
    "CH",
    "AU",
    "NZ",
    "JP",
    "SG",
    "CA",
]
VAT_RULES = sorted(
    (rule for rule in rulebook().rules.values() if rule.kind == "vat_rate"), key=lambda r: r.id
)
REFERENCED = [rule for rule in VAT_RULES if rule.reference.startswith("eu-vat-rates-data:")]


def test_the_reference_is_the_pinned_package() -> None:
    reference = rulebook().references["eu-vat-rates-data"]
    assert eu_vat_rates_data.data_version == reference.data_date.isoformat()
    from importlib.metadata import version

    assert version("eu-vat-rates-data") == reference.version


@pytest.mark.parametrize("country", REQUIRED)
@pytest.mark.parametrize("category", ["standard", "e_publication"])
def test_every_required_jurisdiction_has_both_rates(country: str, category: str) -> None:
    rule = rulebook().vat_rule(country, None, category)
    assert rule is not None
    assert (
        rule.value_on(rulebook().references["eu-vat-rates-data"].data_date) is not None
        or rule.fallback
    )


def test_every_eu_member_state_is_referenced_to_the_package() -> None:
    members = rulebook().eu_members(rulebook().references["eu-vat-rates-data"].data_date)
    referenced = {rule.applies_to["country"] for rule in REFERENCED}
    assert members <= referenced
    assert {
        code for code, rate in eu_vat_rates_data.get_all_rates().items() if rate["eu_member"]
    } == members


@pytest.mark.parametrize("rule", REFERENCED, ids=lambda r: r.id)
def test_rate_matches_the_package_on_its_data_date(rule) -> None:
    data_date = rulebook().references["eu-vat-rates-data"].data_date
    dated = rule.value_on(data_date)
    if dated is None:
        dated = rulebook().rule(rule.fallback).value_on(data_date)
    ours = dated.value
    theirs = eu_vat_rates_data.get_rate(rule.applies_to["country"])
    mode = rule.reference.partition(":")[2]
    published = {Decimal(str(theirs["standard"]))}
    published |= {Decimal(str(r)) for r in theirs["reduced"] or []}
    published |= {
        Decimal(str(r)) for r in (theirs["super_reduced"], theirs["parking"]) if r is not None
    }
    if mode == "standard":
        assert ours == Decimal(str(theirs["standard"])), (rule.id, ours, theirs["standard"])
    elif mode == "any":
        assert ours in published, (rule.id, ours, sorted(published))
    else:  # zero: a zero rate, which the package's lists leave out
        assert ours == 0, rule.id


def test_rules_outside_the_package_say_so() -> None:
    outside = {rule.applies_to["country"] for rule in VAT_RULES if not rule.reference}
    assert outside == {"AU", "NZ", "JP", "SG", "CA"}
    for country in outside:
        assert not eu_vat_rates_data.has_rate(country)
