"""The trend charts' geometry and labels: value axis, sessions, gaps, colours."""

from __future__ import annotations

from decimal import Decimal

import pytest

from include.sector_report.reporting.trend import SECTOR_COLORS, compact_money, trend_chart

DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"]


@pytest.mark.parametrize(
    ("value", "ko", "en"),
    [
        (Decimal("0"), "0", "0"),
        (Decimal("9500"), "9,500", "9.5K"),
        (Decimal("12345678"), "1,235만", "12.3M"),
        (Decimal("350000000"), "3.5억", "350M"),
        (Decimal("100000000000"), "1,000억", "100B"),
        (Decimal("1500000000000"), "1.5조", "1.5T"),
        (Decimal("20000000000000"), "20조", "20T"),
    ],
)
def test_value_labels_in_the_readers_units(value: Decimal, ko: str, en: str) -> None:
    assert (compact_money(value, "ko"), compact_money(value, "en")) == (ko, en)


def chart(values: dict[tuple[str, str], Decimal], names=("a", "b"), days=DAYS) -> dict:
    return trend_chart(days, list(names), values, locale="en")


def test_similar_values_get_a_linear_axis_from_zero_with_round_ticks() -> None:
    shape = chart({(d, n): Decimal(100 + 10 * i) * 10**6 for i, d in enumerate(DAYS) for n in ("a", "b")})
    assert not shape["log_scale"]
    assert [tick["text"] for tick in shape["y_ticks"]] == ["0", "50M", "100M", "150M"]
    # The ticks run from the bottom of the plot upwards, evenly.
    ys = [tick["y"] for tick in shape["y_ticks"]]
    assert ys[0] == shape["plot"]["bottom"]
    assert ys == sorted(ys, reverse=True)


def test_one_huge_day_turns_the_axis_logarithmic_so_small_days_stay_readable() -> None:
    values = {(d, "a"): Decimal(10**8) for d in DAYS} | {("2024-03-06", "a"): Decimal(10**12)}
    shape = chart(values, names=("a",))
    assert shape["log_scale"]
    assert [tick["text"] for tick in shape["y_ticks"]] == ["100M", "1B", "10B", "100B", "1T"]
    small, huge = shape["series"][0].dots[0]["y"], shape["series"][0].dots[2]["y"]
    assert small == shape["plot"]["bottom"]
    assert huge == shape["plot"]["top"]


def test_sessions_are_evenly_spaced_and_a_session_without_a_report_is_a_gap() -> None:
    values = {(d, "a"): Decimal(100) for d in DAYS if d != "2024-03-06"}
    shape = chart(values, names=("a",))
    xs = [dot["x"] for dot in shape["series"][0].dots]
    assert xs[1] - xs[0] == pytest.approx((xs[2] - xs[1]) / 2, abs=0.1)  # 03-06 keeps its place
    assert [gap["date"] for gap in shape["gaps"]] == ["2024-03-06"]
    assert len(shape["series"][0].segments) == 1, "the line stops at the gap: 04-05, then 07 alone"
    assert [tick["text"] for tick in shape["x_ticks"]] == ["03-04", "03-05", "03-06", "03-07"]


def test_a_gap_at_either_end_stays_inside_the_plot() -> None:
    values = {(d, "a"): Decimal(100) for d in DAYS[1:-1]}
    shape = chart(values, names=("a",))
    first, last = shape["gaps"]
    assert first["x"] == shape["plot"]["left"]
    assert first["width"] > 0
    assert last["x"] + last["width"] == pytest.approx(shape["plot"]["right"], abs=0.1)


def test_twelve_sectors_are_told_apart() -> None:
    names = [f"sector {n}" for n in range(12)]
    shape = chart({(d, n): Decimal(1 + i) for i, n in enumerate(names) for d in DAYS}, names=names)
    styles = [(s.color, s.dash) for s in shape["series"]]
    assert len(set(styles)) == 12
    assert {s.color for s in shape["series"][:10]} == set(SECTOR_COLORS)
