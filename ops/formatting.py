"""How the console writes money and time spans. Money stays integer drops until here."""

from __future__ import annotations

DROPS_PER_XRP = 1_000_000


def xrp_text(drops: int) -> str:
    """Drops as XRP, exact, with thousands separators and no trailing zeros:
    12_345_678_900 → "12,345.6789 XRP"."""
    whole, fraction = divmod(abs(drops), DROPS_PER_XRP)
    text = f"{whole:,}"
    if fraction:
        text += "." + f"{fraction:06d}".rstrip("0")
    return f"{'-' if drops < 0 else ''}{text} XRP"


def drops_text(drops: int) -> str:
    return f"{drops:,} drops"


def duration_text(seconds: int) -> str:
    """A span in its two largest units: "2 d 4 h", "3 h 20 min", "45 s"; negative spans are
    written as positive (the caller says "ago" or "overdue")."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
