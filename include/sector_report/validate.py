"""Reconcile Flink's sink output with the input's control totals, then publish the summary.

Nothing is trusted because Flink wrote it: counts, volumes and money must equal
the totals computed independently while the input was written, to the cent.
``summary.csv`` and ``summary.json`` are written only once every check has passed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import ValidationFailed
from .inputs import read_manifest
from .run_folder import RunFolder, atomic_writer
from .transactions import ControlTotals, from_cents, to_cents

SINK_COLUMNS = ("sector", "total_value", "avg_price", "total_volume", "transaction_count")


@dataclass(frozen=True)
class SectorSummary:
    sector: str
    total_value: Decimal
    avg_price: Decimal
    total_volume: int
    transaction_count: int

    def to_json(self) -> dict:
        return {
            "sector": self.sector,
            "total_value": str(self.total_value),
            "avg_price": str(self.avg_price),
            "total_volume": self.total_volume,
            "transaction_count": self.transaction_count,
        }

    @classmethod
    def from_json(cls, data: dict) -> SectorSummary:
        return cls(
            sector=data["sector"],
            total_value=Decimal(data["total_value"]),
            avg_price=Decimal(data["avg_price"]),
            total_volume=int(data["total_volume"]),
            transaction_count=int(data["transaction_count"]),
        )


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    expected: str
    actual: str


def read_sink(sink_dir: Path) -> list[SectorSummary]:
    """Read every finished part file of a Flink filesystem sink (headerless CSV)."""
    if not sink_dir.is_dir():
        raise ValidationFailed(f"Flink sink folder {sink_dir} does not exist: the aggregate task wrote nothing.")
    sectors = []
    # Flink keeps in-progress files hidden ('.part-...'); only finished part files count.
    for part in sorted(p for p in sink_dir.iterdir() if p.is_file() and not p.name.startswith((".", "_"))):
        with part.open(encoding="utf-8", newline="") as handle:
            for line_number, fields in enumerate(csv.reader(handle), start=1):
                sectors.append(_parse_sink_row(part, line_number, fields))
    return sectors


def _parse_sink_row(part: Path, line_number: int, fields: list[str]) -> SectorSummary:
    where = f"Flink sink file {part}, line {line_number}"
    if len(fields) != len(SINK_COLUMNS):
        raise ValidationFailed(f"{where} has {len(fields)} fields, expected {len(SINK_COLUMNS)}: {fields!r}.")
    empty = [name for name, value in zip(SINK_COLUMNS, fields, strict=True) if value == ""]
    if empty:
        raise ValidationFailed(f"{where} has NULL {', '.join(empty)}: {fields!r}.")
    sector, total_value, avg_price, total_volume, transaction_count = fields
    try:
        return SectorSummary(
            sector=sector,
            total_value=Decimal(total_value),
            avg_price=Decimal(avg_price),
            total_volume=int(total_volume),
            transaction_count=int(transaction_count),
        )
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{where} is not a valid summary row: {fields!r}.") from None


def reconcile(
    sectors: list[SectorSummary],
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
    flink_value = from_cents(sum(to_cents(s.total_value) for s in sectors))
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
        Check(
            "transaction count",
            sum(s.transaction_count for s in sectors) == control.rows,
            str(control.rows),
            str(sum(s.transaction_count for s in sectors)),
        ),
        Check(
            "total volume",
            sum(s.total_volume for s in sectors) == control.total_volume,
            str(control.total_volume),
            str(sum(s.total_volume for s in sectors)),
        ),
        Check("total value", flink_value == control.total_value, str(control.total_value), str(flink_value)),
    ]


def validate_run(run: RunFolder, *, max_reject_ratio: float, logical_date: str) -> list[SectorSummary]:
    """Check the run's sink against its control totals; publish the summary only if all checks pass.

    ``validation.json`` is written either way, so a failed run can be diagnosed.
    """
    manifest = read_manifest(run)
    control = ControlTotals.from_json(manifest["control"])
    sectors = read_sink(run.sink_dir)
    checks = reconcile(
        sectors,
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
    _write_summary(run, sectors, control, manifest, logical_date)
    return sectors


def _write_summary(
    run: RunFolder, sectors: list[SectorSummary], control: ControlTotals, manifest: dict, logical_date: str
) -> None:
    with atomic_writer(run.summary_csv, newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SINK_COLUMNS)
        writer.writerows([getattr(s, column) for column in SINK_COLUMNS] for s in sectors)
    summary = {
        "logical_date": logical_date,
        "sectors": [s.to_json() for s in sectors],
        "totals": control.to_json(),
        "data_rows": manifest["data_rows"],
        "rejected_rows": manifest["rejected_rows"],
    }
    with atomic_writer(run.summary_json) as out:
        json.dump(summary, out, indent=2, ensure_ascii=False)


def read_summary(run: RunFolder) -> tuple[dict, list[SectorSummary]]:
    summary = json.loads(run.summary_json.read_text(encoding="utf-8"))
    return summary, [SectorSummary.from_json(s) for s in summary["sectors"]]
