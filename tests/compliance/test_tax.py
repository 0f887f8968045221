"""Prices include tax: net = round_half_even(P x 100 / (100 + r)), tax = P - net."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.tax import split_inclusive


def exact(gross: int, rate: Decimal) -> int:
    return round(Fraction(gross * 100) / (100 + Fraction(rate)))  # round() on Fraction: half-even


def test_the_issue_s_example() -> None:
    assert split_inclusive(1_000_000, Decimal(19)) == (840336, 159664)


def test_ties_round_to_even() -> None:
    assert split_inclusive(21, Decimal(5)) == (20, 1)  # exactly 20
    assert split_inclusive(3, Decimal(25)) == (2, 1)  # 2.4 → 2
    assert split_inclusive(4, Decimal(60)) == (2, 2)  # 2.5 → 2 (even)
    assert split_inclusive(12, Decimal(60)) == (8, 4)  # 7.5 → 8 (even)
    assert split_inclusive(1, Decimal(100) - Decimal("0.001")) == (1, 0)  # 0.5000025 → 1


def test_zero_rate_and_zero_price() -> None:
    assert split_inclusive(12345, Decimal(0)) == (12345, 0)
    assert split_inclusive(0, Decimal(19)) == (0, 0)


@settings(max_examples=2000, deadline=None)
@given(
    gross=st.integers(min_value=1, max_value=2**64 - 1),
    rate=st.decimals(min_value=0, max_value=Decimal("99.999"), places=3),
)
def test_matches_exact_fractions_and_adds_up(gross: int, rate: Decimal) -> None:
    net, tax = split_inclusive(gross, rate)
    assert net == exact(gross, rate)
    assert net + tax == gross
    assert 0 <= tax <= gross
