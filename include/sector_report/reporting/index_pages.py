"""The reports index and ``latest``, rendered: the pages publishing puts in place (:mod:`.publish`).

The index lists the given nights newest first, with each sector's total value over the exchange's
sessions since the first of them, and the months with a report; ``latest`` sends to the newest night.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from ..layout import DataFolder, RevisionFolder, relative_link
from ..summary import NightSummary
from ..trading_days import timeline
from .i18n import messages
from .render import template_env
from .trend import trend_chart

INDEX_TEMPLATE = "index.html.j2"


def index_pages(data: DataFolder, nights: list[RevisionFolder], *, locale: str, exchange: str) -> dict[Path, str]:
    """The index of ``nights`` (each date's published revision, oldest first) and, if there is any, ``latest``: each
    page's path and HTML."""
    summaries = {run.date: NightSummary.read(run) for run in nights}
    values = {(day, s.sector): s.total_value for day, summary in summaries.items() for s in summary.sectors}
    entries = [
        {
            "date": run.date,
            "href": relative_link(data.index_html, run.report_html),
            "total_value": summaries[run.date].total_value,
            "transactions": summaries[run.date].transaction_count,
            "revision": run.number,
        }
        for run in reversed(nights)
    ]
    months = [
        {"month": month.month, "href": relative_link(data.index_html, month.report_html)}
        for month in reversed(data.month_folders())
        if month.report_html.is_file()
    ]
    html = (
        template_env()
        .get_template(INDEX_TEMPLATE)
        .render(
            t=messages(locale),
            locale=locale,
            entries=entries,
            months=months,
            chart=_value_trend(timeline(exchange, list(summaries)), list(summaries), values, locale),
        )
    )
    pages = {data.index_html: html}
    if entries:
        latest = entries[0]["href"]
        pages[data.latest_html] = (
            f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={latest}">'
            f'<a href="{latest}">{latest}</a>\n'
        )
    return pages


def _value_trend(
    days: list[str], published: list[str], values: dict[tuple[str, str], Decimal], locale: str
) -> dict[str, Any]:
    """Each sector's total value over ``days`` (oldest first), biggest sector first. On a published day a
    sector without transactions (every sector, on an empty day) is worth zero: no gap, which means no report."""
    totals: dict[str, Decimal] = {}
    for (_, sector), value in values.items():
        totals[sector] = totals.get(sector, Decimal(0)) + value
    sectors = sorted(totals, key=lambda sector: (-totals[sector], sector))
    every_value = {(day, sector): values.get((day, sector), Decimal(0)) for day in published for sector in sectors}
    return trend_chart(days, sectors, every_value, locale=locale, reported=published)
