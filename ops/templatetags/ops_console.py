"""Filters of the console's templates: money as XRP with its exact drops beside it, and spans
of time."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ops.formatting import drops_text, duration_text, xrp_text

register = template.Library()


@register.filter
def xrp(drops: int) -> SafeString:
    """`<data value="DROPS" title="N drops">X XRP</data>`: XRP to read, the exact drops in the
    machine-readable value and the tooltip."""
    return format_html(
        '<data class="ops-money" value="{}" title="{}">{}</data>',
        drops,
        drops_text(drops),
        xrp_text(drops),
    )


@register.filter
def duration(seconds: int) -> str:
    return duration_text(seconds)
