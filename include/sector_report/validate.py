"""Reconcile Flink's sink output with the input's control totals, then publish the summary.

Nothing is trusted because Flink wrote it: counts, volumes and money must equal
the totals computed independently while the input was written, to the cent.
``summary.csv`` and ``summary.json`` are written only once every check has passed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import ValidationFailed
from .run_folder import RunFolder, atomic_writer
from .transactions import ControlTotals, from_cents, to_cents

_CONVERTERS = {"str": str, "Decimal": Decimal, "int": int}


class SinkRow:
    """A row of a Flink sink: columns in field order, parsed by each field's type."""

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_fields(cls, values: list[str]):
        return cls(*(_CONVERTERS[f.type](v) for f, v in zip(fields(cls), values, strict=True)))

    def to_json(self) -> dict:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict):
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


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    expected: str
    actual: str


def read_sink(sink_dir: Path, row_type: type[SinkRow]) -> list:
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


TOP_STOCKS = 5


def reconcile(
    sectors: list[SectorSummary],
    stocks: list[StockSummary],
    control: ControlTotals,
    *,
    data_rows: int,
    rejected_rows: int,
    max_reject_ratio: float,
    allow_empty: bool = False,
) -> list[Check]:
    """Every check that decides whether a run's figures can be published."""
    names = [s.sector for s in sectors]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    negative = sorted(s.sector for s in sectors if s.total_volume < 0 or s.transaction_count < 0)
    reject_ratio = rejected_rows / data_rows if data_rows else 0.0
    flink_value = _exact_sum(s.total_value for s in sectors)
    flink_count = sum(s.transaction_count for s in sectors)
    flink_volume = sum(s.total_volume for s in sectors)
    unbalanced = _sectors_not_matching_their_stocks(sectors, stocks)
    return [
        Check(
            "every input row accounted for",
            control.rows + rejected_rows == data_rows,
            f"{data_rows} data rows",
            f"{control.rows} valid + {rejected_rows} rejected",
        ),
        Check(
            "input has transactions",
            control.rows > 0 or allow_empty,
            "any number of rows (allow_empty)" if allow_empty else "at least 1 valid row",
            f"{control.rows} valid rows",
        ),
        Check(
            "reject ratio",
            reject_ratio <= max_reject_ratio,
            f"<= {max_reject_ratio:g}",
            f"{reject_ratio:.4g} ({rejected_rows} of {data_rows} rows)",
        ),
        Check("sector names unique", not duplicated, "no duplicates", ", ".join(duplicated) or "no duplicates"),
        Check("counts and volumes non-negative", not negative, "none negative", ", ".join(negative) or "none negative"),
        Check("transaction count", flink_count == control.rows, str(control.rows), str(flink_count)),
        Check("total volume", flink_volume == control.total_volume, str(control.total_volume), str(flink_volume)),
        Check("total value", flink_value == control.total_value, str(control.total_value), str(flink_value)),
        Check(
            "stocks add up to their sectors",
            not unbalanced,
            "per sector: value, volume and count of its stocks",
            ", ".join(unbalanced) or "all sectors match",
        ),
    ]


def _exact_sum(amounts) -> Decimal:
    return from_cents(sum(to_cents(a) for a in amounts))


def _sectors_not_matching_their_stocks(sectors: list[SectorSummary], stocks: list[StockSummary]) -> list[str]:
    by_sector: dict[str, list[StockSummary]] = {}
    for stock in stocks:
        by_sector.setdefault(stock.sector, []).append(stock)
    mismatched = sorted(set(by_sector) - {s.sector for s in sectors})
    for sector in sectors:
        own = by_sector.get(sector.sector, [])
        if (
            _exact_sum(s.total_value for s in own) != sector.total_value
            or sum(s.total_volume for s in own) != sector.total_volume
            or sum(s.transaction_count for s in own) != sector.transaction_count
        ):
            mismatched.append(sector.sector)
    return mismatched


def validate_run(run: RunFolder, *, max_reject_ratio: float, logical_date: str) -> list[SectorSummary]:
    """Check the run's sinks against its control totals; publish the summary only if all checks pass.

    ``validation.json`` is written either way, so a failed run can be diagnosed.
    """
    manifest = run.read_manifest()
    control = ControlTotals.from_json(manifest["control"])
    sectors = read_sink(run.sector_sink_dir, SectorSummary)
    stocks = read_sink(run.stock_sink_dir, StockSummary)
    checks = reconcile(
        sectors,
        stocks,
        control,
        data_rows=manifest["data_rows"],
        rejected_rows=manifest["rejected_rows"],
        max_reject_ratio=max_reject_ratio,
        allow_empty=manifest["allow_empty"],
    )
    failed = [c for c in checks if not c.passed]
    with atomic_writer(run.validation_json) as out:
        json.dump({"passed": not failed, "checks": [asdict(c) for c in checks]}, out, indent=2, ensure_ascii=False)
    if failed:
        details = "; ".join(f"{c.name}: expected {c.expected}, got {c.actual}" for c in failed)
        raise ValidationFailed(
            f"Validation of {run.sink_dir} against {run.control_json} failed ({details}). "
            f"Rejected rows are in {run.rejected_csv}; nothing was published for {logical_date}."
        )
    sectors.sort(key=lambda s: (-s.total_value, s.sector))
    stocks.sort(key=lambda s: (-s.total_value, s.stock_code))
    _write_summary(run, sectors, stocks, control, manifest, logical_date)
    return sectors


def _write_summary(
    run: RunFolder,
    sectors: list[SectorSummary],
    stocks: list[StockSummary],
    control: ControlTotals,
    manifest: dict,
    logical_date: str,
) -> None:
    columns = SectorSummary.columns()
    with atomic_writer(run.summary_csv, newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([getattr(s, column) for column in columns] for s in sectors)
    summary = {
        "logical_date": logical_date,
        "sectors": [s.to_json() for s in sectors],
        "top_stocks": {
            sector.sector: [s.to_json() for s in stocks if s.sector == sector.sector][:TOP_STOCKS] for sector in sectors
        },
        "totals": control.to_json(),
        "data_rows": manifest["data_rows"],
        "rejected_rows": manifest["rejected_rows"],
    }
    with atomic_writer(run.summary_json) as out:
        json.dump(summary, out, indent=2, ensure_ascii=False)


def read_summary(run: RunFolder) -> tuple[dict, list[SectorSummary]]:
    summary = json.loads(run.summary_json.read_text(encoding="utf-8"))
    return summary, [SectorSummary.from_json(s) for s in summary["sectors"]]
