"""A night's summary: its row models, Flink's sinks read as those rows, and ``summary.json`` / ``summary.csv``.

The one place that knows what a summary holds. Validation writes it; the report, the mail, the
index, the month rollup and the ``show`` command read it. Plain Python (no numpy), so reading a
summary stays cheap wherever it happens.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Self, TypeVar

from .atomic_files import atomic_writer
from .errors import ValidationFailed
from .layout import NightFolder, RunFolder
from .transactions import ControlTotals, from_cents, to_cents

_CONVERTERS = {"str": str, "Decimal": Decimal, "int": int}
# Each sector's best stocks a summary keeps, by total value.
TOP_STOCKS = 5


class SinkRow:
    """A row of a Flink sink: columns in field order, parsed by each field's type.

    A base of dataclasses: the ``type: ignore`` below are where mypy cannot see that ``cls`` is one."""

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_fields(cls, values: list[str]) -> Self:
        return cls(*(_CONVERTERS[str(f.type)](v) for f, v in zip(fields(cls), values, strict=True)))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls.from_fields([data[name] for name in cls.columns()])


@dataclass(frozen=True)
class SectorSummary(SinkRow):
    sector: str
    total_value: Decimal
    avg_price: Decimal
    total_volume: int
    transaction_count: int


@dataclass(frozen=True)
class StockSummary(SinkRow):
    sector: str
    stock_code: str
    total_value: Decimal
    total_volume: int
    transaction_count: int


Row = TypeVar("Row", bound=SinkRow)


def read_sink(sink_dir: Path, row_type: type[Row]) -> list[Row]:
    """Read every finished part file of a Flink filesystem sink (headerless CSV) as ``row_type`` rows."""
    if not sink_dir.is_dir():
        raise ValidationFailed(f"Flink sink folder {sink_dir} does not exist: the aggregate task wrote nothing.")
    columns = row_type.columns()
    rows = []
    # Flink keeps in-progress files hidden ('.part-...'); only finished part files count.
    for part in sorted(p for p in sink_dir.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
        with part.open(encoding="utf-8", newline="") as handle:
            for line_number, values in enumerate(csv.reader(handle), start=1):
                where = f"Flink sink file {part}, line {line_number}"
                if len(values) != len(columns):
                    raise ValidationFailed(f"{where} has {len(values)} fields, expected {len(columns)}: {values!r}.")
                empty = [name for name, value in zip(columns, values, strict=True) if value == ""]
                if empty:
                    raise ValidationFailed(f"{where} has NULL {', '.join(empty)}: {values!r}.")
                try:
                    rows.append(row_type.from_fields(values))
                except (InvalidOperation, ValueError):
                    raise ValidationFailed(f"{where} is not a valid {row_type.__name__} row: {values!r}.") from None
    return rows


def exact_sum(amounts: Any) -> Decimal:
    """The sum of money amounts, exact to the cent however many there are."""
    return from_cents(sum(to_cents(a) for a in amounts))


def write_stock_totals(night: RunFolder, stocks: list[StockSummary]) -> None:
    """``stock_totals.csv``: every stock's totals as Flink summed them (a summary keeps only each sector's top few)."""
    columns = StockSummary.columns()
    with atomic_writer(night.stock_totals_csv, newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([getattr(s, column) for column in columns] for s in sorted(stocks, key=lambda s: s.stock_code))


def read_stock_totals(night: NightFolder) -> list[StockSummary] | None:
    """What :func:`write_stock_totals` wrote; None for a night of a release that did not keep it."""
    if not night.stock_totals_csv.is_file():
        return None
    with night.stock_totals_csv.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        return [StockSummary.from_fields(values) for values in rows]


@dataclass(frozen=True)
class NightSummary:
    """What one night's report says: every sector (biggest first), each sector's top stocks, the totals."""

    logical_date: str
    sectors: list[SectorSummary]
    top_stocks: dict[str, list[StockSummary]]
    totals: ControlTotals
    data_rows: int
    rejected_rows: int

    @classmethod
    def of(
        cls,
        logical_date: str,
        sectors: list[SectorSummary],
        stocks: list[StockSummary],
        totals: ControlTotals,
        *,
        data_rows: int,
        rejected_rows: int,
    ) -> NightSummary:
        """Order the rows as reports show them: by total value, biggest first."""
        sectors = sorted(sectors, key=lambda s: (-s.total_value, s.sector))
        stocks = sorted(stocks, key=lambda s: (-s.total_value, s.stock_code))
        top = {sector.sector: [s for s in stocks if s.sector == sector.sector][:TOP_STOCKS] for sector in sectors}
        return cls(logical_date, sectors, top, totals, data_rows, rejected_rows)

    @property
    def total_value(self) -> Decimal:
        return exact_sum(s.total_value for s in self.sectors)

    @property
    def transaction_count(self) -> int:
        return sum(s.transaction_count for s in self.sectors)

    @property
    def total_volume(self) -> int:
        return sum(s.total_volume for s in self.sectors)

    def values_by_sector(self) -> dict[str, Decimal]:
        return {s.sector: s.total_value for s in self.sectors}

    def write(self, run: RunFolder) -> None:
        """``summary.csv`` (the sector table, with a header) and ``summary.json`` (all of it, exact decimals)."""
        columns = SectorSummary.columns()
        with atomic_writer(run.summary_csv, newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([getattr(s, column) for column in columns] for s in self.sectors)
        summary = {
            "logical_date": self.logical_date,
            "sectors": [s.to_json() for s in self.sectors],
            "top_stocks": {sector: [s.to_json() for s in stocks] for sector, stocks in self.top_stocks.items()},
            "totals": self.totals.to_json(),
            "data_rows": self.data_rows,
            "rejected_rows": self.rejected_rows,
        }
        with atomic_writer(run.summary_json) as out:
            json.dump(summary, out, indent=2, ensure_ascii=False)

    @classmethod
    def read(cls, run: NightFolder) -> NightSummary:
        return cls.load(run.summary_json)

    @classmethod
    def load(cls, path: Path) -> NightSummary:
        """A summary written by :meth:`write` (a night's ``summary.json``, or a kept copy of one)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            logical_date=data["logical_date"],
            sectors=[SectorSummary.from_json(s) for s in data["sectors"]],
            top_stocks={k: [StockSummary.from_json(s) for s in v] for k, v in data["top_stocks"].items()},
            totals=ControlTotals.from_json(data["totals"]),
            data_rows=data["data_rows"],
            rejected_rows=data["rejected_rows"],
        )
