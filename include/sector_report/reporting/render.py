"""Render a validated run: the HTML report and the console summary table."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .i18n import messages
from .run_folder import RunFolder, atomic_writer
from .trend import sparkline
from .universe import load_universe
from .validate import SectorSummary, read_summary

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
REPORT_TEMPLATE = "report.html.j2"
# The sector table's small trend: each sector's total value on the last published days, this one included.
TREND_DAYS = 7


def format_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def format_int(value: int) -> str:
    return f"{value:,}"


def format_change(percent: Decimal | None) -> str:
    return "–" if percent is None else f"{percent:+.1f}%"


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    env.filters["money"] = format_money
    env.filters["int"] = format_int
    env.filters["change"] = format_change
    return env


def report_view(run: RunFolder, *, locale: str) -> dict:
    """What a report on a validated run shows (the template's variables), in ``locale``."""
    summary, sectors = read_summary(run)
    total_value = sum((s.total_value for s in sectors), Decimal(0))
    max_value = max((s.total_value for s in sectors), default=Decimal(0))
    earlier = run.earlier_published(TREND_DAYS - 1)
    previous_run = earlier[-1] if earlier else None
    history = [_sector_values(r) for r in earlier]
    previous = history[-1] if history else {}
    names = {stock.stock_code: getattr(stock, f"name_{locale}") for stock in load_universe()}
    rows = [
        {
            "summary": s,
            "share": (s.total_value / total_value * 100) if total_value else Decimal(0),
            "bar_fraction": float(s.total_value / max_value) if max_value else 0.0,
            "change": _change(s.total_value, previous.get(s.sector)),
            "trend": sparkline([*(day[s.sector] for day in history if s.sector in day), s.total_value]),
            "top_stocks": [
                {
                    **stock,
                    "name": names.get(stock["stock_code"], stock["stock_code"]),
                    "value": Decimal(stock["total_value"]),
                }
                for stock in summary["top_stocks"].get(s.sector, [])
            ],
        }
        for s in sectors
    ]
    return {
        "t": messages(locale),
        "locale": locale,
        "logical_date": summary["logical_date"],
        "rows": rows,
        "total_value": total_value,
        "total_change": _change(total_value, sum(previous.values(), Decimal(0)) if previous_run else None),
        "previous_date": previous_run.date if previous_run else None,
        "total_volume": sum(s.total_volume for s in sectors),
        "transaction_count": sum(s.transaction_count for s in sectors),
        "data_rows": summary["data_rows"],
        "rejected_rows": summary["rejected_rows"],
        "rejected_file": run.rejected_csv.name,
    }


def render_report(run: RunFolder, *, locale: str, run_facts: dict) -> Path:
    """Write ``report.html`` for a run whose summary has been validated and published."""
    html = template_env().get_template(REPORT_TEMPLATE).render(**report_view(run, locale=locale), run_facts=run_facts)
    with atomic_writer(run.report_html) as out:
        out.write(html)
    return run.report_html


def _sector_values(run: RunFolder) -> dict[str, Decimal]:
    _, sectors = read_summary(run)
    return {s.sector: s.total_value for s in sectors}


def _change(value: Decimal, previous: Decimal | None) -> Decimal | None:
    """Percent change against the previous report; None where there is nothing to compare with."""
    if not previous:
        return None
    return (value - previous) / previous * 100


def format_summary_table(sectors: Sequence[SectorSummary], locale: str) -> str:
    """The seed's console summary, with columns aligned even for Korean (double-width) text."""
    t = messages(locale)
    header = [t["sector"], t["total_value"], t["avg_price"], t["total_volume"], t["transaction_count"]]
    body = [
        [
            s.sector,
            format_money(s.total_value),
            format_money(s.avg_price),
            format_int(s.total_volume),
            format_int(s.transaction_count),
        ]
        for s in sectors
    ]
    widths = [max(_display_width(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = _pad(cells[0], widths[0], left=True)
        rest = (_pad(cell, width, left=False) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "-" * _display_width(line(header))
    return "\n".join([f"=== {t['title']} ===", line(header), rule, *map(line, body)])


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    fill = " " * (width - _display_width(text))
    return text + fill if left else fill + text
