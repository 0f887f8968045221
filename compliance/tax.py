"""Splitting a tax-inclusive price into net and tax, in integer drops, with Decimal only.

For a gross price P (drops) at r percent: net = round_half_even(P x 100 / (100 + r)) and
tax = P - net, so net + tax is always exactly P. The division runs at 60 significant digits:
rates have at most three decimals, so 100 + r is k/1000 for an integer k < 200,000, and a
quotient that is not exactly a half lies at least 1/(2k) > 2.5e-6 from one, far above the
rounding error: no tie is ever invented or missed (tests compare with exact fractions).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

__all__ = ["split_inclusive"]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


def split_inclusive(gross_drops: int, rate_percent: Decimal) -> tuple[int, int]:
    """(net, tax) of a gross amount that includes tax at `rate_percent` (0 ≤ r < 100)."""
    if gross_drops < 0:
        raise ValueError("gross_drops must not be negative")
    if not rate_percent:
        return gross_drops, 0
    with localcontext() as ctx:
        ctx.prec = 60
        quotient = Decimal(gross_drops) * _HUNDRED / (_HUNDRED + rate_percent)
        net = int(quotient.quantize(_ONE, rounding=ROUND_HALF_EVEN))
    return net, gross_drops - net
