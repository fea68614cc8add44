"""Reconcile Flink's sink output with the input's control totals, then write the night's summary.

Nothing is trusted because Flink wrote it: counts, volumes and money must equal the totals
computed independently while the input was landed, to the cent, and every data row read must be
either in Flink's counts or in the quarantine file. The summary is written only once every check
has passed; publishing it is a later step (see :mod:`.published_nights`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass

from .atomic_files import atomic_writer
from .errors import ValidationFailed
from .layout import RunFolder
from .summary import NightSummary, SectorSummary, StockSummary, exact_sum, read_sink, write_stock_totals
from .transactions import ControlTotals


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    expected: str
    actual: str


def reconcile(
    sectors: list[SectorSummary],
    stocks: list[StockSummary],
    control: ControlTotals,
    *,
    data_rows: int,
    quarantined_rows: int,
) -> list[Check]:
    """Every check that decides whether a night's figures can be published.

    ``data_rows`` is how many data rows landing read; ``quarantined_rows`` how many records the
    quarantine file holds.
    """
    names = [s.sector for s in sectors]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    negative = sorted(s.sector for s in sectors if s.total_volume < 0 or s.transaction_count < 0)
    flink_value = exact_sum(s.total_value for s in sectors)
    flink_count = sum(s.transaction_count for s in sectors)
    flink_volume = sum(s.total_volume for s in sectors)
    unbalanced = _sectors_not_matching_their_stocks(sectors, stocks)
    return [
        Check(
            "every input row accounted for",
            flink_count + quarantined_rows == data_rows,
            f"{data_rows} data rows read",
            f"{flink_count} counted by Flink + {quarantined_rows} in the quarantine file",
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


def _sectors_not_matching_their_stocks(sectors: list[SectorSummary], stocks: list[StockSummary]) -> list[str]:
    by_sector: dict[str, list[StockSummary]] = {}
    for stock in stocks:
        by_sector.setdefault(stock.sector, []).append(stock)
    mismatched = sorted(set(by_sector) - {s.sector for s in sectors})
    for sector in sectors:
        own = by_sector.get(sector.sector, [])
        if (
            exact_sum(s.total_value for s in own) != sector.total_value
            or sum(s.total_volume for s in own) != sector.total_volume
            or sum(s.transaction_count for s in own) != sector.transaction_count
        ):
            mismatched.append(sector.sector)
    return mismatched


def quarantined_records(run: RunFolder) -> int:
    """The records in the night's quarantine file, read back from disk (its header aside)."""
    with run.rejected_csv.open(encoding="utf-8", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def validate_run(run: RunFolder, *, logical_date: str) -> NightSummary:
    """Check the night's sinks against its control totals; write its summary only if all checks pass.

    ``validation.json`` is written either way, so a failed night can be diagnosed.
    """
    manifest = run.read_manifest()
    control = ControlTotals.from_json(manifest["control"])
    sectors = read_sink(run.sector_sink_dir, SectorSummary)
    stocks = read_sink(run.stock_sink_dir, StockSummary)
    checks = reconcile(
        sectors, stocks, control, data_rows=manifest["data_rows"], quarantined_rows=quarantined_records(run)
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
    summary = NightSummary.of(
        logical_date,
        sectors,
        stocks,
        control,
        data_rows=manifest["data_rows"],
        rejected_rows=manifest["rejected_rows"],
    )
    summary.write(run)
    write_stock_totals(run, stocks)
    return summary
