"""Per-sector lines over report dates, as coordinates for inline SVG (no scripts, nothing to load)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

# One color per sector, in the order given (a colour-blind-safe palette).
SECTOR_COLORS = ("#3e7cb1", "#e07b39", "#5aa469", "#b45fb4", "#c9a227", "#6b7b8c", "#d1495b", "#2a9d8f")
MAX_LABELS = 12


def trend_chart(
    dates: Sequence[str],
    sectors: Sequence[str],
    values: Mapping[tuple[str, str], Decimal],
    *,
    width: int = 640,
    height: int = 220,
    margin: int = 24,
) -> dict:
    """One line per sector over ``dates`` (``values[date, sector]``; a missing value leaves a gap in the dots)."""
    top = max(values.values(), default=Decimal(0)) or Decimal(1)
    step = (width - 2 * margin) / max(len(dates) - 1, 1)
    plot_height = height - 2 * margin

    def x(index: int) -> float:
        return round(margin + index * step, 1)

    lines = []
    for number, sector in enumerate(sectors):
        dots = [
            {"x": x(i), "y": round(margin + plot_height * float(1 - value / top), 1), "date": date, "value": value}
            for i, date in enumerate(dates)
            if (value := values.get((date, sector))) is not None
        ]
        lines.append(
            {
                "sector": sector,
                "color": SECTOR_COLORS[number % len(SECTOR_COLORS)],
                "dots": dots,
                "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
            }
        )
    every = max(1, -(-len(dates) // MAX_LABELS))
    labels = [{"x": x(i), "text": date[5:]} for i, date in enumerate(dates) if i % every == 0]
    return {"width": width, "height": height, "lines": lines, "labels": labels}


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
