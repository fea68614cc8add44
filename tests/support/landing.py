"""Reading what landing wrote, without the product's code, and landing the same input both ways to compare."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from include.sector_report.errors import InputFileError
from include.sector_report.landing.land import (
    CONTROL_SUFFIX,
    check_control_file,
    control_file_of,
    data_files,
    land_csv,
)
from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.transactions import MAX_TOTAL_VALUE_CENTS
from tests.support.row_by_row_landing import Landed, Landing, land_row_by_row


def landed_rows(run: RunFolder) -> list[Landed]:
    """The landed input, decoded: (stock_code, sector, price_cents, volume, transaction_date) per row, in order."""
    with run.stocks_csv.open(newline="", encoding="utf-8") as handle:
        stocks = {int(stock_id): (code, sector) for stock_id, code, sector in csv.reader(handle)}
    with run.transactions_csv.open(newline="", encoding="utf-8") as handle:
        return [
            (*stocks[int(stock_id)], int(cents), int(volume), day)
            for stock_id, cents, volume, day in csv.reader(handle)
        ]


def quarantined_rows(run: RunFolder) -> list[tuple[str, int, str, str]]:
    with run.rejected_csv.open(newline="", encoding="utf-8") as handle:
        return [(q["file"], int(q["line"]), q["reason"], q["record"]) for q in csv.DictReader(handle)]


def land_both_ways(source: Path, run: RunFolder) -> Landing:
    """Land ``source`` with the product and with the row-by-row oracle; fail unless the outcomes are identical.

    Identical means the same error message, or the same data rows, landed rows (in order, to the
    cent), quarantined rows (file, line, reason, record) and control totals. The one refusal the
    oracle did not have: a day whose total value the Flink job cannot sum exactly.
    """
    try:
        expected = land_row_by_row(data_files(source, ()))
        if control_file := control_file_of(source):
            check_control_file(control_file, expected.data_rows, len(expected.quarantined), expected.control)
    except InputFileError as error:
        expected = error
    try:
        result = land_csv(source, run)
    except InputFileError as error:
        failure = error
    else:
        failure = None
    if failure is not None:
        if isinstance(expected, Landing) and expected.control.total_value_cents > MAX_TOTAL_VALUE_CENTS:
            assert "exceeds what the Flink job sums exactly" in str(failure)
        else:
            assert str(failure) == str(expected), f"landing failed with {failure!r}; the oracle gave {expected!r}"
        raise failure
    assert not isinstance(expected, Exception), f"landing succeeded; the oracle failed with {expected!r}"
    actual = Landing(result.data_rows, landed_rows(run), quarantined_rows(run), result.control)
    assert actual == expected
    assert result.rejected_rows == len(expected.quarantined)
    return actual


def days_records(day: str, rows: int) -> list[str]:
    """The records of a sender's export for ``day``: two sectors, prices and volumes that vary by row."""
    return [f"{'005930' if n % 2 else '035420'},{'반도체' if n % 2 else 'internet'},{1000 + n}.25,{1 + n % 7},{day}"
            for n in range(rows)]  # fmt: skip


def drop_days_file(data: Path, day: str, rows: int) -> None:
    """A sender's export for ``day`` in incoming/."""
    drop_export(data, f"export_{day}.csv", days_records(day, rows))


def drop_export(data: Path, name: str, records: list[str]) -> Path:
    """An export in incoming/ as senders drop one: written under another name, renamed, then its control file."""
    incoming = DataFolder(data).incoming
    incoming.mkdir(parents=True, exist_ok=True)
    partial = incoming / f".{name}.partial"
    partial.write_text("stock_code,sector,price,volume,transaction_date\n" + "\n".join(records) + "\n")
    path = partial.rename(incoming / name)
    path.with_name(path.stem + CONTROL_SUFFIX).write_text(json.dumps({"rows": len(records)}))
    return path


def sector_figures(records: list[str]) -> dict[str, tuple[Decimal, int, int]]:
    """Total value, volume and count per sector of well-formed records, computed here from the text alone."""
    figures: dict[str, tuple[Decimal, int, int]] = {}
    for record in records:
        _code, sector, price, volume, _day = record.split(",")
        value, total_volume, count = figures.get(sector, (Decimal(0), 0, 0))
        figures[sector] = (value + Decimal(price) * int(volume), total_volume + int(volume), count + 1)
    return figures
