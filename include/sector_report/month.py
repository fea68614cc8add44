"""The month-to-date rollup: which daily inputs it reads, and its reconciliation with the dailies.

One Flink job reads the landed input of every day with a published daily report in the months
asked for (the run folders' ``input/*.csv``, as one source filtered by a path pattern) and
writes per day and sector, and per month and sector. Those figures must equal, to the cent and the
row, the published daily summaries of the same days; days without a published report are
listed as missing, never silently skipped.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .errors import ReportError, ValidationFailed
from .run_folder import RunFolder, atomic_writer
from .validate import SectorSummary, SinkRow, read_sink, read_summary

# A month's average price comes from Flink's own division; the dailies' averages are rounded to
# 6 decimals, so their count-weighted mean may differ from it by at most this much.
AVERAGE_TOLERANCE = Decimal("0.000001")


@dataclass(frozen=True)
class DaySectorSummary(SinkRow):
    date: str
    sector: str
    total_value: Decimal
    avg_price: Decimal
    total_volume: int
    transaction_count: int


@dataclass(frozen=True)
class MonthFolder:
    root: Path

    @classmethod
    def for_month(cls, data_root: Path | str, month: str) -> MonthFolder:
        return cls(Path(data_root).resolve() / "months" / parse_month(month).strftime("%Y-%m"))

    @property
    def month(self) -> str:
        return self.root.name

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` as the month's first day."""
    if not re.fullmatch(r"\d{4}-\d{2}", text or ""):
        raise ReportError(f"Parameter month={text!r} is not a month: expected YYYY-MM, e.g. 2024-03.")
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ReportError(f"Parameter month={text!r} is not a month: expected YYYY-MM, e.g. 2024-03.") from None


@dataclass(frozen=True)
class MonthInputs:
    month: str
    published: list[str]  # days with a published daily report, whose landed input the job reads
    missing: list[str]  # days of the month so far without one


def month_inputs(data_root: Path, month: str, as_of: dt.date) -> MonthInputs:
    """The month's days with a published daily report, and the days so far without one.

    "So far" runs to ``as_of`` (the report date that triggered the rollup, or the day it runs),
    or to the latest published day if that is later, and never past the month's end.
    """
    first = parse_month(month)
    month_days = [first + dt.timedelta(days=n) for n in range(calendar.monthrange(first.year, first.month)[1])]
    published = [day for day in month_days if _published(RunFolder.for_date(data_root, day.isoformat()))]
    if not published:
        raise ReportError(
            f"No daily report has been published for {first:%Y-%m} in {Path(data_root) / 'runs'}: "
            "there is nothing to roll up (run the nightly DAG for its days first)."
        )
    so_far = max(as_of, published[-1])
    missing = [day.isoformat() for day in month_days if day <= so_far and day not in published]
    return MonthInputs(first.strftime("%Y-%m"), [day.isoformat() for day in published], missing)


def _published(run: RunFolder) -> bool:
    return run.summary_json.is_file() and run.transactions_csv.is_file() and run.stocks_csv.is_file()


@dataclass(frozen=True)
class MonthSectorSummary(SinkRow):
    month: str
    sector: str
    total_value: Decimal
    avg_price: Decimal
    total_volume: int
    transaction_count: int


def rollup_folder(data_root: Path) -> Path:
    """Where the month job writes: one job for every month a run rolls up (runs never overlap)."""
    return Path(data_root).resolve() / "months" / "_rollup"


def sql_params(data_root: Path, months: list[MonthInputs]) -> dict[str, str]:
    """The month job's sources (the run folders, filtered to the published days' files) and sinks."""
    runs = (Path(data_root).resolve() / "runs").as_posix()
    days = "|".join(day for inputs in months for day in inputs.published)

    def pattern(name: str) -> str:
        return f"{re.escape(runs)}/({days})/input/{re.escape(name)}"

    sinks = rollup_folder(data_root)
    return {
        "runs_path": runs,
        "transactions_pattern": pattern("transactions.csv"),
        "stocks_pattern": pattern("stocks.csv"),
        "day_sink_path": str(sinks / "days"),
        "month_sink_path": str(sinks / "months"),
    }


def reconcile_month(data_root: Path, folder: MonthFolder, inputs: MonthInputs) -> dict:
    """Check the job's output for one month against the published dailies; write and return ``summary.json``."""
    sinks = rollup_folder(data_root)
    days = [d for d in read_sink(sinks / "days", DaySectorSummary) if d.date.startswith(f"{inputs.month}-")]
    sectors = [
        SectorSummary(s.sector, s.total_value, s.avg_price, s.total_volume, s.transaction_count)
        for s in read_sink(sinks / "months", MonthSectorSummary)
        if s.month == inputs.month
    ]
    dailies = {
        day: {s.sector: s for s in read_summary(RunFolder.for_date(data_root, day))[1]} for day in inputs.published
    }
    problems = []
    found = {(d.date, d.sector): d for d in days}
    expected = {(day, sector): s for day, by_sector in dailies.items() for sector, s in by_sector.items()}
    for key in sorted(set(found) | set(expected)):
        mine, daily = found.get(key), expected.get(key)
        if mine is None or daily is None or _figures(mine) != _figures(daily):
            problems.append(f"{key[0]} {key[1]}: month job {_figures(mine)}, daily report {_figures(daily)}")
    for sector in sorted({s.sector for s in sectors} | {k[1] for k in expected}):
        mine = next((s for s in sectors if s.sector == sector), None)
        parts = [daily[sector] for daily in dailies.values() if sector in daily]
        want = (
            sum((p.total_value for p in parts), Decimal(0)),
            sum(p.total_volume for p in parts),
            sum(p.transaction_count for p in parts),
        )
        got = (mine.total_value, mine.total_volume, mine.transaction_count) if mine else None
        weighted = sum((p.avg_price * p.transaction_count for p in parts), Decimal(0)) / (want[2] or 1)
        if got != want or abs(mine.avg_price - weighted) > AVERAGE_TOLERANCE:  # got == want: mine exists
            problems.append(f"{inputs.month} {sector}: month job {got}, sum of the daily reports {want}")
    if problems:
        raise ValidationFailed(
            f"The month-to-date figures of {inputs.month} do not equal the published daily reports "
            f"({'; '.join(problems)}); nothing was published in {folder.root}."
        )
    sectors.sort(key=lambda s: (-s.total_value, s.sector))
    days.sort(key=lambda d: (d.date, -d.total_value, d.sector))
    summary = {
        "month": inputs.month,
        "days_published": inputs.published,
        "days_missing": inputs.missing,
        "sectors": [s.to_json() for s in sectors],
        "days": [d.to_json() for d in days],
    }
    with atomic_writer(folder.summary_json) as out:
        json.dump(summary, out, indent=2, ensure_ascii=False)
    return summary


def _figures(row: SinkRow | None) -> tuple | None:
    if row is None:
        return None
    return (row.total_value, row.avg_price, row.total_volume, row.transaction_count)


MONTH_TEMPLATE = "month_report.html.j2"


def render_month(folder: MonthFolder, summary: dict, *, locale: str) -> Path:
    """Write the month's self-contained report: sector table, daily trend per sector, table of days."""
    from .i18n import messages
    from .render import template_env
    from .trend import trend_chart

    sectors = [SectorSummary.from_json(s) for s in summary["sectors"]]
    days = [DaySectorSummary.from_json(d) for d in summary["days"]]
    values = {(d.date, d.sector): d.total_value for d in days}
    html = (
        template_env()
        .get_template(MONTH_TEMPLATE)
        .render(
            t=messages(locale),
            locale=locale,
            month=summary["month"],
            days_published=summary["days_published"],
            days_missing=summary["days_missing"],
            sectors=sectors,
            days=days,
            chart=trend_chart(summary["days_published"], [s.sector for s in sectors], values),
        )
    )
    with atomic_writer(folder.report_html) as out:
        out.write(html)
    return folder.report_html
