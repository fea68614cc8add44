from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import InputFileError
from include.sector_report.land import land_csv
from include.sector_report.run_folder import RunFolder

GOOD = ["005930,semiconductor,820133.59,53,2024-03-08", "035420,internet,285893.55,184,2024-03-08"]


@pytest.fixture
def run(tmp_path: Path) -> RunFolder:
    run = RunFolder.for_date(tmp_path / "data", "2024-03-08")
    run.reset()
    return run


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_header_bom_and_crlf_are_accepted(tmp_path: Path, run: RunFolder) -> None:
    source = write(tmp_path / "in.csv", "\ufeffstock_code,sector,price,volume,transaction_date\r\n" + "\r\n".join(GOOD))
    result = land_csv(source, run)
    assert (result.data_rows, result.rejected_rows) == (2, 0)
    assert run.input_csv.read_text().splitlines() == GOOD
    assert result.control.total_value == Decimal("820133.59") * 53 + Decimal("285893.55") * 184


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("005930,semiconductor,820133.59,53", "expected 5 fields, found 4"),
        (",semiconductor,1.00,5,2024-03-08", "stock_code is empty"),
        ("005930, ,1.00,5,2024-03-08", "sector is empty"),
        ("005930,semiconductor,abc,5,2024-03-08", "price 'abc' is not a number"),
        ("005930,semiconductor,-1.00,5,2024-03-08", "not a non-negative number"),
        ("005930,semiconductor,1.005,5,2024-03-08", "more than 2 decimals"),
        ("005930,semiconductor,1.00,0,2024-03-08", "outside 1..2147483647"),
        ("005930,semiconductor,1.00,2147483648,2024-03-08", "outside 1..2147483647"),
        ("005930,semiconductor,1.00,1.5,2024-03-08", "not a positive integer"),
        ("005930,semiconductor,1.00,5,2024-02-30", "not a YYYY-MM-DD date"),
    ],
)
def test_bad_rows_are_quarantined_with_their_reason(tmp_path: Path, run: RunFolder, row: str, reason: str) -> None:
    source = write(tmp_path / "in.csv", "\n".join([GOOD[0], row, GOOD[1]]) + "\n")
    result = land_csv(source, run)
    assert (result.data_rows, result.rejected_rows, result.control.rows) == (3, 1, 2)
    with run.rejected_csv.open(newline="") as handle:
        quarantined = list(csv.DictReader(handle))
    assert len(quarantined) == 1
    assert quarantined[0]["line"] == "2"
    assert reason in quarantined[0]["reason"]
    assert quarantined[0]["record"] == row


def test_missing_file_names_the_path(tmp_path: Path, run: RunFolder) -> None:
    with pytest.raises(InputFileError, match="nowhere.csv does not exist"):
        land_csv(tmp_path / "nowhere.csv", run)


def test_non_utf8_file_is_refused_with_a_clear_error(tmp_path: Path, run: RunFolder) -> None:
    source = write(tmp_path / "in.csv", GOOD[0] + "\n005930,반도체,1.00,5,2024-03-08\n", encoding="euc-kr")
    with pytest.raises(InputFileError, match=r"in\.csv is not UTF-8 text"):
        land_csv(source, run)
