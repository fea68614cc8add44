from __future__ import annotations

import csv
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import InputFileError
from include.sector_report.inputs import prepare_input
from include.sector_report.landing.land import file_wait_deadline, incoming_patterns, land_csv, resolve_input
from include.sector_report.layout import RunFolder
from tests.support.landing import land_both_ways

GOOD = ["005930,semiconductor,820133.59,53,2024-03-08", "035420,internet,285893.55,184,2024-03-08"]
GOOD_LANDED = [
    ("005930", "semiconductor", 82013359, 53, "2024-03-08"),
    ("035420", "internet", 28589355, 184, "2024-03-08"),
]
GOOD_VALUE = Decimal("820133.59") * 53 + Decimal("285893.55") * 184
DAY = dt.date(2024, 3, 8)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    (tmp_path / "data" / "incoming").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def run(data_root: Path) -> RunFolder:
    run = RunFolder.for_date(data_root, DAY.isoformat())
    run.reset()
    return run


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def quarantine(run: RunFolder) -> list[dict]:
    with run.rejected_csv.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_header_bom_crlf_and_no_final_newline_are_accepted(data_root: Path, run: RunFolder) -> None:
    header = "\ufeffstock_code,sector,price,volume,transaction_date\r\n"
    result = land_both_ways(write(data_root / "in.csv", header + "\r\n".join(GOOD)), run)
    assert (result.data_rows, result.quarantined) == (2, [])
    assert result.landed == GOOD_LANDED
    assert result.control.total_value == GOOD_VALUE


def test_quoted_commas_and_korean_text_survive_landing(data_root: Path, run: RunFolder) -> None:
    source = write(data_root / "in.csv", '005930,"반도체, 메모리",1000.00,3,2024-03-08\n')
    result = land_both_ways(source, run)
    assert result.quarantined == []
    assert result.landed == [("005930", "반도체, 메모리", 100000, 3, "2024-03-08")]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("005930,semiconductor,820133.59,53", "expected 5 fields, found 4"),
        (",semiconductor,1.00,5,2024-03-08", "stock_code is empty"),
        ("005930, ,1.00,5,2024-03-08", "sector is empty"),
        ("005930,semiconductor,abc,5,2024-03-08", "price 'abc' is not a number"),
        ("005930,semiconductor,-1.00,5,2024-03-08", "not a non-negative number"),
        ("005930,semiconductor,NaN,5,2024-03-08", "not a non-negative number"),
        ("005930,semiconductor,1.005,5,2024-03-08", "more than 2 decimals"),
        ("005930,semiconductor,1e400,5,2024-03-08", "exceeds DECIMAL(18, 2)"),
        ("005930,semiconductor,1.00,0,2024-03-08", "outside 1..2147483647"),
        ("005930,semiconductor,1.00,2147483648,2024-03-08", "outside 1..2147483647"),
        ("005930,semiconductor,1.00,1.5,2024-03-08", "not a positive integer"),
        ("005930,semiconductor,1.00,5,2024-02-30", "not a YYYY-MM-DD date"),
    ],
)
def test_bad_rows_are_quarantined_with_their_reason(data_root: Path, run: RunFolder, row: str, reason: str) -> None:
    source = write(data_root / "in.csv", "\n".join([GOOD[0], row, GOOD[1]]) + "\n")
    result = land_both_ways(source, run)
    assert (result.data_rows, len(result.quarantined), result.control.rows) == (3, 1, 2)
    [(file, line, found, record)] = result.quarantined
    assert (file, line, record) == ("in.csv", 2, row)
    assert reason in found


def test_a_rejected_record_is_kept_whole_even_with_a_bare_carriage_return(data_root: Path, run: RunFolder) -> None:
    # Without a comma or a quote in it, minimal quoting would write the record bare.
    [(_file, line, _reason, record)] = land_both_ways(
        write(data_root / "in.csv", GOOD[0] + '\n"semi\rconductor"\n'), run
    ).quarantined
    assert (line, record) == (3, "semi\rconductor")


def test_a_folder_of_part_files_lands_as_one_input(data_root: Path, run: RunFolder) -> None:
    folder = data_root / "export"
    write(folder / "part-0.csv", "stock_code,sector,price,volume,transaction_date\n" + GOOD[0] + "\n")
    write(folder / "part-1.csv", GOOD[1] + "\nbad,row\n")
    write(folder / ".part-2.inprogress", "ignored,while,being,written,x\n")
    write(folder / "export.ctl.json", json.dumps({"rows": 3}))
    land_both_ways(folder, run)
    result = land_csv(folder, run)
    assert (result.data_rows, result.rejected_rows) == (3, 1)
    assert [Path(f).name for f in result.files] == ["part-0.csv", "part-1.csv"]
    assert result.control_file.endswith("export.ctl.json")
    assert [(q["file"], q["line"]) for q in quarantine(run)] == [("part-1.csv", "2")]


def test_control_file_that_matches_is_accepted(data_root: Path, run: RunFolder) -> None:
    source = write(data_root / "in.csv", "\n".join(GOOD))
    write(data_root / "in.ctl.json", json.dumps({"rows": 2, "total_volume": 237, "total_value": str(GOOD_VALUE)}))
    land_both_ways(source, run)
    assert land_csv(source, run).control_file == str(data_root / "in.ctl.json")


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"rows": 3}, "declares 3 rows, but the input has 2"),
        ({"rows": 2, "total_volume": 238}, "declares total_volume 238, but the input sums to 237"),
        ({"rows": 2, "total_value": "1.00"}, "declares total_value 1.00, but the input sums to"),
        ({"count": 2}, "is not valid"),
    ],
)
def test_control_file_mismatch_fails(data_root: Path, run: RunFolder, declared: dict, message: str) -> None:
    source = write(data_root / "in.csv", "\n".join(GOOD))
    write(data_root / "in.ctl.json", json.dumps(declared))
    with pytest.raises(InputFileError, match=message):
        land_both_ways(source, run)


def test_empty_and_header_only_files_have_no_data_rows(data_root: Path, run: RunFolder) -> None:
    assert land_both_ways(write(data_root / "empty.csv", ""), run).data_rows == 0
    assert (
        land_both_ways(
            write(data_root / "header.csv", "stock_code,sector,price,volume,transaction_date\n"), run
        ).data_rows
        == 0
    )


PREPARE = dict(source="file", logical_date=DAY, rows=0, seed=0)


@pytest.mark.parametrize("content", ["", "stock_code,sector,price,volume,transaction_date\r\n"])
def test_an_empty_day_fails_unless_allowed(data_root: Path, run: RunFolder, content: str) -> None:
    write(data_root / "incoming" / "transactions_2024-03-08.csv", content)
    kwargs = dict(PREPARE, input_path=None, data_root=data_root)
    with pytest.raises(InputFileError, match=r"transactions_2024-03-08.csv has no data rows .* allow_empty=true"):
        prepare_input(run, **kwargs)
    manifest = prepare_input(run, allow_empty=True, **kwargs)
    assert (manifest["data_rows"], manifest["control"]["rows"]) == (0, 0)


def test_too_many_rejected_rows_fail_before_any_flink_job_keeping_the_quarantine(
    data_root: Path, run: RunFolder
) -> None:
    bad = ["005930,semiconductor,1.00,0,2024-03-08", "005930,semiconductor,x,5,2024-03-08"]
    write(data_root / "export.csv", "\n".join([*GOOD, *bad]))
    kwargs = dict(PREPARE, input_path="export.csv", data_root=data_root)
    with pytest.raises(InputFileError) as failure:
        prepare_input(run, max_reject_ratio=0.1, **kwargs)
    assert str(failure.value) == (
        f"Input {data_root.resolve() / 'export.csv'} has a reject ratio of 0.5 (2 of 4 rows), more than "
        f"max_reject_ratio=0.1 allows; the rejected rows are in {run.rejected_csv} with their line numbers "
        "and reasons. No Flink job ran and nothing was published for 2024-03-08."
    )
    with run.rejected_csv.open(newline="") as handle:
        assert [row["line"] for row in csv.DictReader(handle)] == ["3", "4"]
    assert run.read_manifest()["rejected_rows"] == 2
    assert not run.sink_dir.exists()
    assert prepare_input(run, max_reject_ratio=0.5, **kwargs)["rejected_rows"] == 2  # at the limit: accepted


def test_a_day_whose_every_row_is_rejected_has_no_transactions(data_root: Path, run: RunFolder) -> None:
    write(data_root / "export.csv", "005930,semiconductor,x,5,2024-03-08\n")
    kwargs = dict(PREPARE, input_path="export.csv", data_root=data_root, max_reject_ratio=1.0)
    with pytest.raises(InputFileError, match=r"export.csv has no valid rows; .* allow_empty=true"):
        prepare_input(run, **kwargs)


def test_binary_garbage_gets_a_clear_error(data_root: Path, run: RunFolder) -> None:
    source = data_root / "in.csv"
    source.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    with pytest.raises(InputFileError, match=r"in\.csv is binary, not CSV text"):
        land_both_ways(source, run)


def test_non_utf8_file_gets_a_clear_error(data_root: Path, run: RunFolder) -> None:
    source = write(data_root / "in.csv", GOOD[0] + "\n005930,반도체,1.00,5,2024-03-08\n", encoding="euc-kr")
    with pytest.raises(InputFileError, match=r"in\.csv is not UTF-8 text \(undecodable bytes on line 2\)"):
        land_both_ways(source, run)


def test_newest_file_for_the_date_is_taken_from_incoming(data_root: Path) -> None:
    older = write(data_root / "incoming" / "trades_2024-03-08_a.csv", GOOD[0])
    newer = write(data_root / "incoming" / "trades_20240308_b.csv", GOOD[1])
    write(data_root / "incoming" / "trades_2024-03-09.csv", GOOD[1])
    os.utime(older, (1_000_000, 1_000_000))
    assert resolve_input(None, data_root=data_root, allowed_roots=[], report_date=DAY) == newer.resolve()
    with pytest.raises(InputFileError, match=r"no CSV for 2024-03-10 was dropped in .*incoming"):
        resolve_input(None, data_root=data_root, allowed_roots=[], report_date=DAY + dt.timedelta(days=2))


def test_a_corrected_file_taken_up_out_of_incoming_is_still_the_dates_newest_file(data_root: Path) -> None:
    dropped = write(data_root / "incoming" / "trades_2024-03-08.csv", GOOD[0])
    os.utime(dropped, (1_000_000, 1_000_000))
    kept = write(data_root / "corrections" / "2024-03-08" / "0123456789abcdef" / "trades_2024-03-08_fix.csv", GOOD[1])
    assert resolve_input(None, data_root=data_root, allowed_roots=[], report_date=DAY) == kept.resolve()


def test_the_wait_for_the_days_file_ends_at_six_in_seoul_the_next_morning_by_default() -> None:
    now = dt.datetime(2024, 3, 8, 14, 0, tzinfo=dt.UTC)  # 23:00 in Seoul
    assert file_wait_deadline(DAY, None, now) == dt.datetime(2024, 3, 8, 21, 0, tzinfo=dt.UTC)
    assert file_wait_deadline(DAY, 600, now) == now + dt.timedelta(minutes=10)
    assert incoming_patterns(DAY) == ["*2024-03-08*.csv", "*20240308*.csv"]


def test_missing_input_names_the_path(data_root: Path) -> None:
    with pytest.raises(InputFileError, match=r"nowhere.csv \(parameter input_path='nowhere.csv'\) does not exist"):
        resolve_input("nowhere.csv", data_root=data_root, allowed_roots=[], report_date=DAY)


@pytest.mark.parametrize("escape", ["../outside.csv", "incoming/../../outside.csv", "/etc/passwd", "link.csv"])
def test_paths_leading_out_of_the_data_root_are_refused(data_root: Path, escape: str) -> None:
    outside = write(data_root.parent / "outside.csv", GOOD[0])
    (data_root / "link.csv").symlink_to(outside)
    with pytest.raises(InputFileError, match=r"outside the data root"):
        resolve_input(escape, data_root=data_root, allowed_roots=[], report_date=DAY)


def test_allowed_input_dirs_extend_the_data_root(data_root: Path) -> None:
    outside = write(data_root.parent / "exports" / "x.csv", GOOD[0])
    found = resolve_input(str(outside), data_root=data_root, allowed_roots=[outside.parent], report_date=DAY)
    assert found == outside.resolve()


def test_a_part_file_linking_out_of_the_allowed_folders_is_refused(data_root: Path, run: RunFolder) -> None:
    folder = data_root / "export"
    write(folder / "part-0.csv", GOOD[0])
    (folder / "part-1.csv").symlink_to(write(data_root.parent / "secret.csv", GOOD[1]))
    with pytest.raises(InputFileError, match=r"part-1.csv links to .*secret.csv, outside the allowed folders"):
        land_csv(folder, run, allowed_roots=[data_root])
