"""The reports index: every published date, newest first, and a ``latest`` link.

Only dates whose summary passed validation (``summary.json``) and whose report was
rendered are listed, so a failed run never shows up as published.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .i18n import messages
from .render import template_env
from .run_folder import RunFolder, atomic_writer
from .trend import trend_chart
from .validate import read_summary

INDEX_TEMPLATE = "index.html.j2"


def publish_index(data_root: Path, *, locale: str) -> Path:
    """Rewrite ``reports/index.html`` and ``reports/latest.html`` under ``data_root``."""
    reports = Path(data_root) / "reports"
    runs = sorted(
        (
            RunFolder(folder)
            for folder in (Path(data_root) / "runs").iterdir()
            if (folder / "summary.json").is_file() and (folder / "report.html").is_file()
        ),
        key=lambda run: run.date,
        reverse=True,
    )
    entries = []
    values: dict[tuple[str, str], Decimal] = {}
    for run in runs:
        _, sectors = read_summary(run)
        values.update(((run.date, s.sector), s.total_value) for s in sectors)
        entries.append(
            {
                "date": run.date,
                "href": f"../runs/{run.date}/report.html",
                "total_value": sum((s.total_value for s in sectors), Decimal(0)),
                "transactions": sum(s.transaction_count for s in sectors),
            }
        )
    html = (
        template_env()
        .get_template(INDEX_TEMPLATE)
        .render(
            t=messages(locale),
            locale=locale,
            entries=entries,
            chart=_value_trend(sorted(run.date for run in runs), values),
        )
    )
    with atomic_writer(reports / "index.html") as out:
        out.write(html)
    if entries:
        latest = entries[0]["href"]
        with atomic_writer(reports / "latest.html") as out:
            out.write(
                f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={latest}">'
                f'<a href="{latest}">{latest}</a>\n'
            )
    return reports / "index.html"


def _value_trend(dates: list[str], values: dict[tuple[str, str], Decimal]) -> dict:
    """Each sector's total value over the published ``dates`` (oldest first), biggest sector first."""
    totals: dict[str, Decimal] = {}
    for (_, sector), value in values.items():
        totals[sector] = totals.get(sector, Decimal(0)) + value
    sectors = sorted(totals, key=lambda sector: (-totals[sector], sector))
    return trend_chart(dates, sectors, values)
