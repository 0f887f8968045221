"""Bar charts drawn on the server: the geometry of an inline SVG, which the template writes
out (ops/templates/ops/bar_chart.html). No script, no inline style: the admin's
Content-Security-Policy allows neither, and a chart needs neither.

A chart is accessible as text too: the SVG has a <title> and a <desc> that sums it up, each
bar a <title> with its label and value, and the template puts the values in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# The drawing's own units (the SVG scales to the width of its box).
WIDTH = 480
HEIGHT = 200
LEFT = 76  # room for the value axis' labels
RIGHT = 8
TOP = 12
BOTTOM = 28  # room for the category labels
TICKS = 4  # at most, above the baseline
BAR_GAP = 0.2  # of each slot


@dataclass(frozen=True)
class Point:
    label: str  # the category, e.g. "14:00" or "6 Dec"
    value: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    value_text: str


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    slug: str  # unique on the page: the ids of the title and description derive from it
    title: str
    description: str
    category_heading: str  # the table's column headings: the categories, the values
    value_heading: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[AxisLabel, ...]
    empty: bool  # every value is zero
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 16
    tick_x: int = LEFT - 6
    center_x: int = (LEFT + WIDTH - RIGHT) // 2
    center_y: int = (TOP + HEIGHT - BOTTOM) // 2


def nice_step(value: int) -> int:
    """The smallest gridline step of 1, 2 or 5 times a power of ten with which at most TICKS
    steps reach `value`: the gridlines fall on round numbers."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if step * TICKS >= value:
                return step
        magnitude *= 10


def axis_top(value: int) -> tuple[int, int]:
    """(top, step): the axis ends at the first gridline at or above `value` (one step for
    an empty chart), so the largest bar fills most of the plot."""
    step = nice_step(value)
    return max(step, -(-value // step) * step), step


def bar_chart(
    *,
    slug: str,
    title: str,
    category_heading: str,
    value_heading: str,
    points: Sequence[Point],
    value_text: Callable[[int], str],
    label_every: int = 1,
    summary: str = "",
) -> BarChart:
    """A bar per point, left to right, on an axis from zero to the first round gridline at
        or above the largest value (`axis_top`). A nonzero value is never drawn thinner than one unit, so it never vanishes; a zero
        has no height. Every `label_every`-th category is labelled under the axis, counting back
    from the last.
        `summary` opens the description, which then names the total and the largest bar."""
    if not points:
        raise ValueError("a chart needs at least one point")
    top_value, step = axis_top(max(point.value for point in points))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - RIGHT - LEFT) / len(points)
    bars = []
    for index, point in enumerate(points):
        height = plot_height * point.value / top_value
        if point.value > 0:
            height = max(height, 1.0)
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * BAR_GAP / 2, 2),
                y=round(HEIGHT - BOTTOM - height, 2),
                width=round(slot * (1 - BAR_GAP), 2),
                height=round(height, 2),
                label=point.label,
                value=point.value,
                value_text=value_text(point.value),
            )
        )
    ticks = tuple(
        Tick(
            y=round(HEIGHT - BOTTOM - plot_height * index / TICKS, 2),
            text=value_text(step * index),
        )
        for index in range(top_value // step + 1)
    )
    last = len(points) - 1
    labels = tuple(
        AxisLabel(x=round(LEFT + (index + 0.5) * slot, 2), text=point.label)
        for index, point in enumerate(points)
        if (last - index) % label_every == 0
    )
    total = sum(point.value for point in points)
    largest = max(points, key=lambda point: point.value)
    if total:
        described = f"In total {value_text(total)}; the most, {value_text(largest.value)}, at {largest.label}."
    else:
        described = "None in this period."
    return BarChart(
        slug=slug,
        title=title,
        description=f"{summary} {described}".strip(),
        category_heading=category_heading,
        value_heading=value_heading,
        bars=tuple(bars),
        ticks=ticks,
        labels=labels,
        empty=total == 0,
    )
