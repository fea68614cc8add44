"""Charts of values over trading sessions, as coordinates for inline SVG (no scripts, nothing to load).

One line per sector over the sessions, evenly spaced: a weekend or a holiday is no gap, a session
without a published report is (its band is shaded, and no line crosses it). The value axis is
labelled in the reader's units (억/조 in Korean, M/B in English). When the values span a factor of
``LOG_SCALE_AT`` or more (one huge day, or one huge sector), the axis is logarithmic, so a small day
stays as readable beside it as the others; otherwise it is linear from zero, so differences keep
their proportions. The chart says which.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Ten colours told apart also by people with a colour-vision deficiency (Tableau 10); beyond ten
# sectors the colours repeat with a dash pattern of their own.
SECTOR_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#79706e",
)
DASHES = ("", "6 3", "2 3")
LOG_SCALE_AT = 20
MAX_DATE_LABELS = 10
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 12, 30


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    dash: str
    # Consecutive sessions with a value each: a session without one breaks the line.
    segments: list[str] = field(default_factory=list)
    dots: list[dict[str, Any]] = field(default_factory=list)


def compact_money(value: Decimal | float, locale: str) -> str:
    """A value axis label: ``3.2억``, ``1.5조`` in Korean; ``320M``, ``1.5B`` in English."""
    units = (
        ((Decimal(10) ** 12, "조"), (Decimal(10) ** 8, "억"), (Decimal(10) ** 4, "만"))
        if locale == "ko"
        else ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))
    )
    amount = Decimal(str(value))
    for size, unit in units:
        if abs(amount) >= size:
            scaled = amount / size
            text = f"{scaled:,.1f}".removesuffix(".0") if scaled < 100 else f"{scaled:,.0f}"
            return f"{text}{unit}"
    return f"{amount:,.0f}"


def trend_chart(
    dates: Sequence[str],
    series_names: Sequence[str],
    values: Mapping[tuple[str, str], Decimal],
    *,
    locale: str,
    reported: Collection[str] | None = None,
) -> dict[str, Any]:
    """``values[date, name]`` over ``dates`` (ISO, oldest first; every session of the span): the chart's shapes.

    A date not ``reported`` (by default: with no value at all) is a session without a published report: a
    shaded band.
    """
    positive = [v for v in values.values() if v > 0]
    low, high = (min(positive), max(positive)) if positive else (Decimal(1), Decimal(1))
    log_scale = high / low >= LOG_SCALE_AT
    axis = _log_axis(low, high) if log_scale else _linear_axis(high)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(dates) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + (index * step if len(dates) > 1 else plot_width / 2), 1)

    def y(value: Decimal) -> float:
        share = axis.share(value)
        return round(TOP + plot_height * (1 - share), 1)

    series = []
    for number, name in enumerate(series_names):
        line = Series(name, SECTOR_COLORS[number % len(SECTOR_COLORS)], DASHES[number // len(SECTOR_COLORS) % 3])
        run: list[str] = []
        for index, date in enumerate(dates):
            value = values.get((date, name))
            if value is None:
                if len(run) > 1:
                    line.segments.append(" ".join(run))
                run = []
                continue
            point = (x(index), y(value))
            run.append(f"{point[0]},{point[1]}")
            line.dots.append({"x": point[0], "y": point[1], "date": date, "value": value})
        if len(run) > 1:
            line.segments.append(" ".join(run))
        series.append(line)
    reported = set(reported) if reported is not None else {date for (date, _) in values}
    band = max(step, 6.0)
    gaps = []
    for index, date in enumerate(dates):
        if date not in reported:  # a band around the session's position, clipped to the plot
            left, right = max(x(index) - band / 2, LEFT), min(x(index) + band / 2, WIDTH - RIGHT)
            gaps.append({"x": round(left, 1), "width": round(right - left, 1), "date": date})
    every = max(1, math.ceil(len(dates) / MAX_DATE_LABELS))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "plot": {"left": LEFT, "top": TOP, "right": WIDTH - RIGHT, "bottom": HEIGHT - BOTTOM},
        "log_scale": log_scale,
        "series": series,
        "gaps": gaps,
        "y_ticks": [{"y": y(tick), "text": compact_money(tick, locale)} for tick in axis.ticks],
        "x_ticks": [{"x": x(i), "text": d[5:]} for i, d in enumerate(dates) if i % every == 0 or i == len(dates) - 1],
    }


@dataclass(frozen=True)
class _Axis:
    ticks: list[Decimal]
    lowest: float
    highest: float
    log: bool

    def share(self, value: Decimal) -> float:
        """Where ``value`` lies between the axis's ends, 0 to 1."""
        if self.log:
            return (math.log10(max(float(value), self.lowest)) - math.log10(self.lowest)) / (
                math.log10(self.highest) - math.log10(self.lowest)
            )
        return float(value) / self.highest


def _linear_axis(high: Decimal) -> _Axis:
    """From zero to a round number above ``high``, in steps of 1, 2 or 5 times a power of ten."""
    raw_step = float(high) / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    top = step * math.ceil(float(high) / step)
    ticks = [Decimal(str(step * n)) for n in range(round(top / step) + 1)]
    return _Axis(ticks, 0.0, float(top), log=False)


def _log_axis(low: Decimal, high: Decimal) -> _Axis:
    """Powers of ten from just below ``low`` to just above ``high``."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if first == last:
        last += 1
    ticks = [Decimal(10) ** power for power in range(first, last + 1)]
    return _Axis(ticks, 10.0**first, 10.0**last, log=True)


def sparkline(values: Sequence[Decimal], *, width: int = 72, height: int = 18) -> str:
    """The ``points`` of a small polyline of ``values`` (oldest first), scaled to their own range."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or Decimal(1)
    step = (width - 2) / (len(values) - 1)
    return " ".join(
        f"{round(1 + i * step, 1)},{round(1 + (height - 2) * float(1 - (v - low) / span), 1)}"
        for i, v in enumerate(values)
    )
