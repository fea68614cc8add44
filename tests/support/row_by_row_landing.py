"""The first release's landing, row by row with Python's csv module: the oracle the vectorised landing must equal.

Kept as it was (reading records, the header rule, the error messages); it only lands the rows,
so the parts the two share unchanged (file listing, path safety, control files) stay in the product.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from include.sector_report.errors import InputFileError
from include.sector_report.transactions import COLUMNS, ControlTotals, RowRejected, parse_row, to_cents

Landed = tuple[str, str, int, int, str]  # stock_code, sector, price_cents, volume, transaction_date
Quarantined = tuple[str, int, str, str]  # file, line, reason, record


@dataclass
class Landing:
    data_rows: int
    landed: list[Landed]
    quarantined: list[Quarantined]
    control: ControlTotals


def land_row_by_row(files: list[Path]) -> Landing:
    result = Landing(0, [], [], ControlTotals())
    for path in files:
        for line, fields in _records(path):
            result.data_rows += 1
            try:
                row = parse_row(fields)
            except RowRejected as reason:
                result.quarantined.append((path.name, line, str(reason), ",".join(fields)))
                continue
            result.control.add(row.price, row.volume)
            result.landed.append(
                (row.stock_code, row.sector, to_cents(row.price), row.volume, row.transaction_date.isoformat())
            )
    return result


def _records(path: Path):
    """Yield (line number, fields) of each data record of one file, header and blank lines skipped."""
    line = 0
    try:
        # utf-8-sig drops a BOM if there is one; newline="" lets csv handle CRLF and quoted commas.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for fields in reader:
                first = line == 0
                line = reader.line_num
                if not fields or (first and _is_header(fields)):
                    continue
                yield line, fields
    except UnicodeDecodeError:
        raise InputFileError(
            f"Input file {path} is not UTF-8 text (undecodable bytes on line {_first_undecodable_line(path)}); "
            "export it as UTF-8 CSV with the columns " + ",".join(COLUMNS) + "."
        ) from None
    except csv.Error as exc:
        raise InputFileError(f"Input file {path} is not a readable CSV at line {line + 1}: {exc}.") from None


def _first_undecodable_line(path: Path) -> int:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _is_header(fields: list[str]) -> bool:
    return tuple(f.strip().lower() for f in fields) == COLUMNS
