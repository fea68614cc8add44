"""Land a CSV of transactions into a run folder, row by row, losing nothing.

Valid rows are rewritten in the canonical headerless form Flink reads; every other
data row goes to the quarantine file with its line number and the reason. The file
is streamed, so memory stays flat whatever its size.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import InputFileError
from .run_folder import RunFolder, atomic_writer
from .transactions import COLUMNS, ControlTotals, RowRejected, parse_row

QUARANTINE_HEADER = ("line", "reason", "record")


@dataclass(frozen=True)
class LandingResult:
    data_rows: int
    rejected_rows: int
    control: ControlTotals


def land_csv(source: Path, run: RunFolder) -> LandingResult:
    """Copy ``source`` into ``run.input_csv``, quarantining bad rows into ``run.rejected_csv``."""
    if not source.is_file():
        raise InputFileError(f"Input file {source} does not exist or is not a file.")
    control = ControlTotals()
    rejected = 0
    data_rows = 0
    line = 0
    try:
        # utf-8-sig drops a BOM if there is one; newline="" lets csv handle CRLF and quoted commas.
        with (
            source.open(encoding="utf-8-sig", newline="") as handle,
            atomic_writer(run.input_csv, newline="") as valid_out,
            atomic_writer(run.rejected_csv, newline="") as rejected_out,
        ):
            reader = csv.reader(handle)
            valid_writer = csv.writer(valid_out, lineterminator="\n")
            rejected_writer = csv.writer(rejected_out, lineterminator="\n")
            rejected_writer.writerow(QUARANTINE_HEADER)
            for fields in reader:
                line = reader.line_num
                if not fields:  # a blank line holds no transaction
                    continue
                if line == 1 and _is_header(fields):
                    continue
                data_rows += 1
                try:
                    row = parse_row(fields)
                except RowRejected as reason:
                    rejected += 1
                    rejected_writer.writerow((line, str(reason), ",".join(fields)))
                    continue
                control.add(row.price, row.volume)
                valid_writer.writerow(row.as_csv_fields())
    except UnicodeDecodeError:
        raise InputFileError(
            f"Input file {source} is not UTF-8 text (undecodable bytes after line {line}); "
            "export it as UTF-8 CSV with the columns " + ",".join(COLUMNS) + "."
        ) from None
    except csv.Error as exc:
        raise InputFileError(f"Input file {source} is not a readable CSV at line {line + 1}: {exc}.") from None
    return LandingResult(data_rows=data_rows, rejected_rows=rejected, control=control)


def _is_header(fields: list[str]) -> bool:
    return tuple(f.strip().lower() for f in fields) == COLUMNS
