from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ValidationFailed
from include.sector_report.landing.land import QUARANTINE_HEADER
from include.sector_report.layout import RunFolder
from include.sector_report.summary import SectorSummary, read_sink
from include.sector_report.transactions import ControlTotals
from include.sector_report.validate import validate_run

CONTROL = ControlTotals(rows=5, total_volume=300, total_value_cents=1_234_567_89)
SINK_OK = ["internet,1000000.00,2000.5,100,2", "semiconductor,234567.89,1500.25,200,3"]
STOCKS_OK = [
    "internet,035420,1000000.00,100,2",
    "semiconductor,000660,34567.89,50,1",
    "semiconductor,005930,200000.00,150,2",
]


def write_parts(folder: Path, lines: list[str]) -> None:
    folder.mkdir(parents=True)
    (folder / "part-0-task-0-file-0").write_text("".join(line + "\n" for line in lines))
    (folder / ".part-in-progress").write_text("junk,that,is,not,finished\n")


def make_run(
    tmp_path: Path, sink_lines: list[str], *, rejected: int = 0, quarantined: int | None = None, stocks=STOCKS_OK
) -> RunFolder:
    """A night as landing and Flink leave it: ``rejected`` rows counted by landing, ``quarantined`` records
    in the quarantine file (the same number unless a test loses some)."""
    run = RunFolder.for_date(tmp_path, "2024-03-08")
    run.reset()
    manifest = {
        "data_rows": CONTROL.rows + rejected,
        "rejected_rows": rejected,
        "allow_empty": False,
        "control": CONTROL.to_json(),
    }
    run.control_json.write_text(json.dumps(manifest))
    with run.rejected_csv.open("w", newline="") as out:
        quarantine = csv.writer(out)
        quarantine.writerow(QUARANTINE_HEADER)
        quarantine.writerows(("in.csv", 2 + n, "volume 'x' is not a positive integer", "a,b,1,x,2024-03-08")
                             for n in range(rejected if quarantined is None else quarantined))  # fmt: skip
    write_parts(run.sector_sink_dir, sink_lines)
    write_parts(run.stock_sink_dir, stocks)
    return run


def validate(run: RunFolder):
    return validate_run(run, logical_date="2024-03-08")


def test_reconciled_sink_is_published(tmp_path: Path) -> None:
    run = make_run(tmp_path, SINK_OK, rejected=1)
    night = validate(run)
    assert [s.sector for s in night.sectors] == ["internet", "semiconductor"]  # by value, largest first
    summary = json.loads(run.summary_json.read_text())
    assert summary["sectors"][0] == {
        "sector": "internet",
        "total_value": "1000000.00",
        "avg_price": "2000.5",
        "total_volume": 100,
        "transaction_count": 2,
    }
    assert run.summary_csv.read_text().splitlines()[0] == "sector,total_value,avg_price,total_volume,transaction_count"
    top = summary["top_stocks"]["semiconductor"]
    assert [(s["stock_code"], s["total_value"]) for s in top] == [("005930", "200000.00"), ("000660", "34567.89")]
    assert (summary["data_rows"], summary["rejected_rows"]) == (6, 1)
    checks = json.loads(run.validation_json.read_text())
    assert checks["passed"] is True
    assert {"name": "every input row accounted for", "passed": True, "expected": "6 data rows read",
            "actual": "5 counted by Flink + 1 in the quarantine file"} in checks["checks"]  # fmt: skip


@pytest.mark.parametrize(
    ("sink", "check"),
    [
        (["internet,1000000.00,2000.5,100,2", "semiconductor,234567.88,1500.25,200,3"], "total value"),
        (["internet,1000000.00,2000.5,101,2", "semiconductor,234567.89,1500.25,200,3"], "total volume"),
        (["internet,1000000.00,2000.5,100,2", "semiconductor,234567.89,1500.25,200,4"], "transaction count"),
        (["internet,1000000.00,2000.5,100,2", "internet,234567.89,1500.25,200,3"], "sector names unique"),
        ([], "transaction count"),
    ],
)
def test_a_sink_that_does_not_reconcile_fails_and_publishes_nothing(tmp_path: Path, sink, check) -> None:
    run = make_run(tmp_path, sink)
    with pytest.raises(ValidationFailed, match=check) as failure:
        validate(run)
    assert str(run.rejected_csv) in str(failure.value)
    assert not run.summary_json.exists()
    assert not run.summary_csv.exists()
    validation = json.loads(run.validation_json.read_text())
    assert validation["passed"] is False
    assert check in [c["name"] for c in validation["checks"] if not c["passed"]]


def test_stocks_that_do_not_add_up_to_their_sector_fail(tmp_path: Path) -> None:
    stocks = [STOCKS_OK[0], STOCKS_OK[1], "semiconductor,005930,200000.01,150,2"]
    with pytest.raises(ValidationFailed, match=r"stocks add up to their sectors: .* got semiconductor"):
        validate(make_run(tmp_path, SINK_OK, stocks=stocks))


def test_one_cent_off_names_both_totals(tmp_path: Path) -> None:
    run = make_run(tmp_path, ["internet,1000000.00,2000.5,100,2", "semiconductor,234567.90,1500.25,200,3"])
    with pytest.raises(ValidationFailed, match=r"total value: expected 1234567.89, got 1234567.90"):
        validate(run)


def test_a_row_neither_counted_by_flink_nor_in_the_quarantine_file_fails(tmp_path: Path) -> None:
    run = make_run(tmp_path, SINK_OK, rejected=2, quarantined=1)
    with pytest.raises(
        ValidationFailed,
        match=r"every input row accounted for: expected 7 data rows read, got 5 counted by Flink \+ 1 in the",
    ):
        validate(run)
    assert not run.summary_json.exists()


def test_null_in_sink_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path, ["internet,,2000.5,100,2"])
    with pytest.raises(ValidationFailed, match=r"part-0-task-0-file-0, line 1 has NULL total_value"):
        read_sink(run.sector_sink_dir, SectorSummary)


def test_missing_sink_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="does not exist: the aggregate task wrote nothing"):
        read_sink(tmp_path / "sink", SectorSummary)


def test_control_totals_are_exact_beyond_float_precision() -> None:
    totals = ControlTotals()
    for _ in range(3):
        totals.add(Decimal("9999999999999999.99"), 2_147_483_647)
    assert totals.total_value == Decimal("9999999999999999.99") * 2_147_483_647 * 3
    assert ControlTotals.from_json(totals.to_json()) == totals
