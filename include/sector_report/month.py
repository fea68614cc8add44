"""The month-to-date rollup: which daily inputs it reads, and its reconciliation with the dailies.

One Flink job reads the input of every published night in the months asked for (the published
revisions' input files, as one source filtered by a path pattern) and writes per day and sector, and
per month and sector. Those figures must equal, to the cent and the row, the published daily
summaries of the same days. The exchange's trading sessions up to the as-of date without a
published night are listed as missing, never silently skipped; the month is final once its last
session has passed, whatever date's publication triggered the rollup.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .atomic_files import atomic_writer
from .errors import ReportError, ValidationFailed
from .layout import DataFolder, MonthFolder, NightFolder, RevisionFolder
from .published_nights import published_revision
from .report_dates import parse_month
from .revisions import Revisions
from .summary import NightSummary, SectorSummary, SinkRow, read_sink
from .trading_days import sessions_between

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
class MonthInputs:
    month: str
    published: list[str]  # days with a published night, whose input the job reads
    revisions: list[int]  # which revision of each of those days is rolled up
    missing: list[str]  # trading sessions so far without a published night
    final: bool  # the month's last session has passed: no night of the month is still to come

    def nights(self, data: DataFolder) -> list[RevisionFolder]:
        """The revisions rolled up (the ones published when the rollup was planned, whatever is published now)."""
        return [data.revision(day, number) for day, number in zip(self.published, self.revisions, strict=True)]


def month_inputs(data_root: Path, month: str, as_of: dt.date, *, exchange: str) -> MonthInputs:
    """The month's published nights, and its trading sessions so far without one.

    "So far" runs to ``as_of`` (the day the rollup runs), or to the latest published night if that
    is later, and never past the month's end; the month is final once ``as_of`` is past its last
    session. A night published for a day the exchange was closed (a manual run) counts as published.
    """
    data = DataFolder(data_root)
    first = parse_month(month)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    nights = {day: night for day in days if (night := published_revision(data, day.isoformat()))}
    published = list(nights)
    if not published:
        raise ReportError(
            f"No night of {first:%Y-%m} is published ({data.published}): there is nothing to roll up (run the "
            "nightly DAG for its days first). A month whose every night was withdrawn keeps its last report."
        )
    for day, night in nights.items():
        if not (night.transactions_csv.is_file() and night.stocks_csv.is_file()):
            raise ReportError(f"The published night {day} has no input in {night.root / 'input'} to roll up.")
    sessions = sessions_between(exchange, first, last)
    so_far = min(max(as_of, published[-1]), last)
    missing = [day.isoformat() for day in sessions if day <= so_far and day not in published]
    final = bool(sessions) and as_of >= sessions[-1]
    numbers = [night.number for night in nights.values()]
    return MonthInputs(first.strftime("%Y-%m"), [day.isoformat() for day in published], numbers, missing, final)


@dataclass(frozen=True)
class MonthSectorSummary(SinkRow):
    month: str
    sector: str
    total_value: Decimal
    avg_price: Decimal
    total_volume: int
    transaction_count: int


def sql_params(data_root: Path, months: list[MonthInputs]) -> dict[str, str]:
    """The month job's sources (every date's revisions, filtered to the rolled-up revisions' input files) and
    sinks."""
    data = DataFolder(data_root)
    revisions = [night for inputs in months for night in inputs.nights(data)]

    def transactions(night: NightFolder) -> Path:
        return night.transactions_csv

    def stocks(night: NightFolder) -> Path:
        return night.stocks_csv

    return {
        "revisions_path": str(data.revisions_root),
        "transactions_pattern": data.input_pattern(revisions, transactions),
        "stocks_pattern": data.input_pattern(revisions, stocks),
        "transactions_date_pattern": data.report_date_pattern(transactions),
        "stocks_date_pattern": data.report_date_pattern(stocks),
        "day_sink_path": str(data.rollup / "days"),
        "month_sink_path": str(data.rollup / "months"),
    }


def reconcile_month(data_root: Path, folder: MonthFolder, inputs: MonthInputs) -> dict[str, Any]:
    """Check the job's output for one month against the published dailies; write and return ``summary.json``."""
    sinks = DataFolder(data_root).rollup
    days = [d for d in read_sink(sinks / "days", DaySectorSummary) if d.date.startswith(f"{inputs.month}-")]
    sectors = [
        SectorSummary(s.sector, s.total_value, s.avg_price, s.total_volume, s.transaction_count)
        for s in read_sink(sinks / "months", MonthSectorSummary)
        if s.month == inputs.month
    ]
    data = DataFolder(data_root)
    dailies = {night.date: {s.sector: s for s in NightSummary.read(night).sectors} for night in inputs.nights(data)}
    problems = []
    found = {(d.date, d.sector): d for d in days}
    expected = {(day, sector): s for day, by_sector in dailies.items() for sector, s in by_sector.items()}
    for key in sorted(set(found) | set(expected)):
        mine, daily = found.get(key), expected.get(key)
        if mine is None or daily is None or _figures(mine) != _figures(daily):
            problems.append(f"{key[0]} {key[1]}: month job {_figures(mine)}, daily report {_figures(daily)}")
    for sector in sorted({s.sector for s in sectors} | {k[1] for k in expected}):
        month_row = next((s for s in sectors if s.sector == sector), None)
        parts = [daily[sector] for daily in dailies.values() if sector in daily]
        want = (
            sum((p.total_value for p in parts), Decimal(0)),
            sum(p.total_volume for p in parts),
            sum(p.transaction_count for p in parts),
        )
        got = (month_row.total_value, month_row.total_volume, month_row.transaction_count) if month_row else None
        weighted = sum((p.avg_price * p.transaction_count for p in parts), Decimal(0)) / (want[2] or 1)
        if month_row is None or got != want or abs(month_row.avg_price - weighted) > AVERAGE_TOLERANCE:
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
        "days_revised": revised_days(inputs.nights(data)),
        "final": inputs.final,
        "sectors": [s.to_json() for s in sectors],
        "days": [d.to_json() for d in days],
    }
    with atomic_writer(folder.summary_json) as out:
        json.dump(summary, out, indent=2, ensure_ascii=False)
    return summary


def revised_days(nights: list[RevisionFolder]) -> list[dict[str, Any]]:
    """The nights rolled up that were reissued: the revision rolled up, and when it was published."""
    revised = []
    for night in nights:
        if night.number > 1:
            published_at = next(
                (line["published_at"] for line in Revisions.of(night).published() if line["revision"] == night.number),
                None,
            )
            revised.append({"date": night.date, "revision": night.number, "published_at": published_at})
    return revised


def _figures(row: DaySectorSummary | SectorSummary | None) -> tuple[Decimal, Decimal, int, int] | None:
    if row is None:
        return None
    return (row.total_value, row.avg_price, row.total_volume, row.transaction_count)
