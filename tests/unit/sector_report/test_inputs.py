"""Preparing a night's input (``prepare_input``): generated or landed rows with a manifest whose counts match them,
the parameters refused before anything is prepared, and the input policies decided before any Flink job runs.

tests/unit/sector_report/landing/test_land.py tests landing a file row by row; here the whole first step of a night.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import InputFileError, ReportError
from include.sector_report.inputs import prepare_input
from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.published_nights import is_published
from tests.support.landing import landed_rows, quarantined_rows
from tests.support.nights import published_night, sector

DAY = dt.date(2024, 3, 8)
HEADER = "stock_code,sector,price,volume,transaction_date"
GOOD = "005930,반도체,1000.25,3,2024-03-08"
BAD = ["005930,반도체,x,3,2024-03-08", "005930,반도체,1.00,0,2024-03-08", ",반도체,1.00,2,2024-03-08"]


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run(data_root: Path) -> RunFolder:
    return RunFolder.for_date(data_root, DAY.isoformat())


def prepare(run: RunFolder, data_root: Path, **overrides) -> dict:
    arguments = {"source": "generate", "logical_date": DAY, "rows": 0, "seed": 42, "input_path": None}
    return prepare_input(run, data_root=data_root, **{**arguments, **overrides})


def drop(data_root: Path, *lines: str) -> Path:
    """The day's file, dropped in incoming/ where a night without input_path finds it."""
    path = data_root / "incoming" / f"transactions_{DAY}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_generated_input_lands_the_nights_rows_and_a_manifest_whose_counts_match_them(
    data_root: Path, run: RunFolder
) -> None:
    manifest = prepare(run, data_root, rows=500)
    rows = landed_rows(run)
    assert len(rows) == 500
    assert {row[4] for row in rows} == {DAY.isoformat()}
    assert manifest["source"] == "generate"
    assert (manifest["data_rows"], manifest["rejected_rows"], manifest["allow_empty"]) == (500, 0, False)
    assert manifest["control"] == {
        "rows": 500,
        "total_volume": sum(volume for *_, volume, _day in rows),
        "total_value": str(Decimal(sum(cents * volume for *_, cents, volume, _day in rows)) / 100),
    }
    assert run.read_manifest() == manifest, "control.json holds what prepare_input returned"
    assert quarantined_rows(run) == [], "generated rows are never rejected"


def test_a_landed_file_is_named_in_the_manifest_with_its_control_file(data_root: Path, run: RunFolder) -> None:
    source = drop(data_root, GOOD, GOOD)
    (data_root / "incoming" / f"transactions_{DAY}.ctl.json").write_text(json.dumps({"rows": 2}))
    manifest = prepare(run, data_root, source="file")
    assert manifest["source_path"] == str(source.resolve())
    assert manifest["files"] == [str(source.resolve())]
    assert manifest["control_file"] == str(source.resolve().with_name(f"transactions_{DAY}.ctl.json"))
    assert manifest["control"] == {"rows": 2, "total_volume": 6, "total_value": "6001.50"}
    assert landed_rows(run) == [("005930", "반도체", 100025, 3, "2024-03-08")] * 2


def test_preparing_a_night_again_starts_from_an_empty_folder(data_root: Path, run: RunFolder) -> None:
    prepare(run, data_root, rows=10)
    stale = run.sector_sink_dir / "part-0.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("left over from an earlier run\n")
    assert prepare(run, data_root, rows=3)["data_rows"] == 3
    assert not run.sink_dir.exists()
    assert len(landed_rows(run)) == 3


def test_an_unknown_source_names_the_parameter_and_its_choices_and_leaves_the_nights_files(
    data_root: Path, run: RunFolder
) -> None:
    manifest = prepare(run, data_root, rows=10)
    with pytest.raises(ReportError, match=r"^Parameter source='kafka' is not one of file, generate\.$"):
        prepare(run, data_root, source="kafka")
    assert run.read_manifest() == manifest
    assert len(landed_rows(run)) == 10


def test_an_input_path_outside_the_data_folder_is_refused_before_the_nights_files_are_touched(
    data_root: Path, run: RunFolder
) -> None:
    manifest = prepare(run, data_root, rows=10)
    with pytest.raises(InputFileError, match=r"^Parameter input_path='/etc/passwd' resolves to /etc/passwd, outside"):
        prepare(run, data_root, source="file", input_path="/etc/passwd")
    assert run.read_manifest() == manifest


def test_a_published_nights_input_prepared_again_leaves_the_published_revision_as_it_was(
    data_root: Path, run: RunFolder
) -> None:
    published = published_night(data_root, DAY.isoformat(), [sector("반도체", "1000.00")])
    kept = {path: path.read_bytes() for path in sorted(published.root.rglob("*")) if path.is_file()}
    assert prepare(run, data_root, rows=10)["data_rows"] == 10
    assert {path: path.read_bytes() for path in sorted(published.root.rglob("*")) if path.is_file()} == kept
    assert is_published(DataFolder(data_root), DAY.isoformat())


def test_too_many_rejected_rows_fail_on_max_reject_ratio_keeping_them(data_root: Path, run: RunFolder) -> None:
    source = drop(data_root, GOOD, *BAD)
    with pytest.raises(InputFileError, match=r"reject ratio of 0\.75 \(3 of 4 rows\), more than max_reject_ratio=0\.5"):
        prepare(run, data_root, source="file", max_reject_ratio=0.5)
    assert [(file, line) for file, line, _reason, _record in quarantined_rows(run)] == [
        (source.name, n) for n in (3, 4, 5)
    ]
    assert [record for *_, record in quarantined_rows(run)] == BAD
    assert (run.read_manifest()["data_rows"], run.read_manifest()["rejected_rows"]) == (4, 3)


def test_the_reject_ratio_failure_says_where_the_rows_are_and_that_nothing_ran(data_root: Path, run: RunFolder) -> None:
    drop(data_root, GOOD, *BAD)
    with pytest.raises(InputFileError) as failure:
        prepare(run, data_root, source="file", max_reject_ratio=0.0)
    message = str(failure.value)
    assert f"the rejected rows are in {run.rejected_csv} with their line numbers and reasons" in message
    assert message.endswith("No Flink job ran and nothing was published for 2024-03-08.")


def test_a_generated_day_without_rows_fails_unless_allow_empty(data_root: Path, run: RunFolder) -> None:
    with pytest.raises(InputFileError, match=r"^Generated input of 2024-03-08 has no data rows .* allow_empty=true\."):
        prepare(run, data_root, rows=0)
    manifest = prepare(run, data_root, rows=0, allow_empty=True)
    assert manifest["allow_empty"] is True
    assert manifest["control"] == {"rows": 0, "total_volume": 0, "total_value": "0.00"}
    assert landed_rows(run) == []


def test_allow_empty_accepts_a_day_of_only_rejected_rows_but_not_more_rejects_than_allowed(
    data_root: Path, run: RunFolder
) -> None:
    drop(data_root, *BAD)
    with pytest.raises(InputFileError, match=r"has a reject ratio of 1 \(3 of 3 rows\)"):
        prepare(run, data_root, source="file", allow_empty=True, max_reject_ratio=0.5)
    manifest = prepare(run, data_root, source="file", allow_empty=True)
    assert (manifest["data_rows"], manifest["rejected_rows"], manifest["control"]["rows"]) == (3, 3, 0)
    assert len(quarantined_rows(run)) == 3
