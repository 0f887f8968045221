"""The console's server-drawn charts (ops.charts) and how it writes money (ops.formatting)."""

from __future__ import annotations

import pytest

from ops.charts import HEIGHT, TICKS, TOP, Point, axis_top, bar_chart, nice_step
from ops.formatting import duration_text, xrp_text


@pytest.mark.parametrize(
    ("largest", "step"),
    [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2), (9, 5), (20, 5), (21, 10), (399, 100), (401, 200)],
)
def test_gridlines_fall_on_round_numbers_at_most_four_of_them(largest, step) -> None:
    assert nice_step(largest) == step
    assert step * TICKS >= largest


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0, 1), (1, 1), (3, 3), (5, 6), (7, 8), (9, 10), (21, 30), (401, 600), (600_000, 600_000)],
)
def test_the_axis_ends_at_the_first_gridline_at_or_above_the_largest_value(largest, top) -> None:
    assert axis_top(largest)[0] == top


def chart(values: list[int], **kwargs):
    return bar_chart(
        slug="c",
        title="T",
        category_heading="Hour",
        value_heading="Unlocks",
        points=[Point(f"{i:02d}:00", v) for i, v in enumerate(values)],
        value_text=str,
        **kwargs,
    )


def test_bars_are_drawn_to_scale_and_a_small_value_never_vanishes() -> None:
    drawn = chart([0, 1, 400, 200])
    heights = [bar.height for bar in drawn.bars]
    plot = HEIGHT - 28 - TOP

    assert heights[0] == 0
    assert heights[1] >= 1  # 1/400 of the plot would be under a unit
    assert heights[2] == pytest.approx(plot * 400 / 400)
    assert heights[3] == pytest.approx(heights[2] / 2)
    # every bar stands on the baseline, left to right, without overlapping
    assert all(bar.y + bar.height == pytest.approx(drawn.baseline) for bar in drawn.bars)
    assert all(a.x + a.width < b.x for a, b in zip(drawn.bars, drawn.bars[1:], strict=False))
    assert [tick.text for tick in drawn.ticks] == ["0", "100", "200", "300", "400"]


def test_labels_every_nth_category_and_the_last_and_a_text_summary() -> None:
    drawn = chart([3, 0, 0, 0, 0, 0, 7], label_every=3, summary="Hours in UTC.")
    assert [label.text for label in drawn.labels] == ["00:00", "03:00", "06:00"]
    assert drawn.description == "Hours in UTC. In total 10; the most, 7, at 06:00."
    assert [bar.value_text for bar in drawn.bars][-1] == "7"
    assert not drawn.empty


def test_an_empty_period_says_so() -> None:
    drawn = chart([0, 0, 0])
    assert drawn.empty and drawn.description == "None in this period."
    assert all(bar.height == 0 for bar in drawn.bars)


def test_a_chart_needs_a_point() -> None:
    with pytest.raises(ValueError):
        chart([])


@pytest.mark.parametrize(
    ("drops", "text"),
    [
        (0, "0 XRP"),
        (1, "0.000001 XRP"),
        (200_000, "0.2 XRP"),
        (5_000_000, "5 XRP"),
        (12_345_678_900, "12,345.6789 XRP"),
        (-1_500_000, "-1.5 XRP"),
    ],
)
def test_xrp_is_exact(drops, text) -> None:
    assert xrp_text(drops) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45 s"),
        (600, "10 min"),
        (3_600, "1 h"),
        (12_000, "3 h 20 min"),
        (187_200, "2 d 4 h"),
        (-90, "1 min"),
    ],
)
def test_durations(seconds, text) -> None:
    assert duration_text(seconds) == text


def test_labels_count_back_from_the_last_so_they_never_crowd_it() -> None:
    drawn = chart([1] * 24, label_every=3)
    assert [label.text for label in drawn.labels] == [f"{h:02d}:00" for h in range(2, 24, 3)]
