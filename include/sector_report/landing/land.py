"""Land a CSV of transactions into a run folder, losing nothing.

The input is one CSV file or a folder of part files. Valid rows become the run's landed
input (:mod:`.landed_input`), the form Flink reads; every other data row goes to the quarantine
file with its file, line number and reason. Files are read and checked a block at a time
with Arrow and numpy (:mod:`.records`, :mod:`.checks`), so memory stays flat whatever their
size, and every row is decided exactly as the contract's ``parse_row`` decides it. A control
file that comes with the input is checked too.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..atomic_files import atomic_writer
from ..errors import InputFileError
from ..layout import DataFolder, RunFolder
from ..report_dates import SEOUL
from ..transactions import COLUMNS, ControlTotals
from .checks import check_records
from .landed_input import landed_input
from .records import read_records

QUARANTINE_HEADER = ("file", "line", "reason", "record")
CONTROL_SUFFIX = ".ctl.json"
SNIFF_BYTES = 8192
FILE_WAIT_DEFAULT_UNTIL = dt.time(6, 0)


@dataclass(frozen=True)
class LandingResult:
    data_rows: int
    rejected_rows: int
    control: ControlTotals
    files: list[str] = field(default_factory=list)
    control_file: str | None = None


def resolve_input(
    input_path: str | None, *, data_root: Path, allowed_roots: Sequence[Path], report_date: dt.date
) -> Path:
    """The file or folder to land: ``input_path``, or the newest file dropped for the date in ``incoming/`` (or
    taken up from there as a correction).

    A relative ``input_path`` is taken from the data root. Whatever it is, it must resolve
    (symlinks followed) inside the data root or one of ``allowed_roots``.
    """
    roots = [data_root.resolve(), *(root.resolve() for root in allowed_roots)]
    if input_path:
        candidate = (data_root / input_path).resolve()
        if not _inside(candidate, roots):
            raise InputFileError(
                f"Parameter input_path={input_path!r} resolves to {candidate}, outside the data root "
                f"{roots[0]} and the allowed input folders ({', '.join(map(str, roots[1:])) or 'none'}); "
                "move the file under the data root or add its folder to SECTOR_REPORT_ALLOWED_INPUT_DIRS."
            )
        if not candidate.exists():
            raise InputFileError(f"Input {candidate} (parameter input_path={input_path!r}) does not exist.")
        return candidate
    data = DataFolder(data_root)
    incoming, kept = data.incoming, data.corrections(report_date.isoformat())
    patterns = incoming_patterns(report_date)
    # A corrected file taken up left incoming/ for corrections/<date>/<content>/: a rerun lands it if newest.
    candidates = [*(incoming.iterdir() if incoming.is_dir() else []), *(kept.glob("*/*") if kept.is_dir() else [])]
    dropped = [
        p
        for p in candidates
        if p.is_file() and any(fnmatch.fnmatchcase(p.name.lower(), pattern) for pattern in patterns)
    ]
    if not dropped:
        raise InputFileError(
            f"No input_path was given and no CSV for {report_date} was dropped in {incoming} "
            f"(expected a name matching {' or '.join(patterns)})."
        )
    return max(dropped, key=lambda p: (p.stat().st_mtime, p.name)).resolve()


def incoming_patterns(report_date: dt.date) -> list[str]:
    """Names of the day's file in ``incoming/`` (matched case-insensitively): the date, with or without dashes."""
    return [f"*{report_date.isoformat()}*.csv", f"*{report_date.strftime('%Y%m%d')}*.csv"]


def file_wait_deadline(report_date: dt.date, timeout_seconds: int | None, now: dt.datetime) -> dt.datetime:
    """Until when a run waits for the day's file: ``timeout_seconds`` from ``now``, or by default
    06:00 Seoul time the morning after the report date (the report is read in the morning)."""
    if timeout_seconds is not None:
        return now + dt.timedelta(seconds=timeout_seconds)
    return dt.datetime.combine(report_date + dt.timedelta(days=1), FILE_WAIT_DEFAULT_UNTIL, tzinfo=SEOUL)


def land_csv(source: Path, run: RunFolder, *, allowed_roots: Sequence[Path] = ()) -> LandingResult:
    """Land ``source`` (a file or a folder of part files) as the run's landed input.

    Bad rows go to ``run.rejected_csv``; a control file that comes with the input is checked.
    ``allowed_roots``, when given, is where every part file must resolve (symlinks followed).
    """
    files = data_files(source, allowed_roots)
    rejected = 0
    data_rows = 0
    # The quarantine is opened first so that it is closed last: if landing fails, neither file appears.
    with atomic_writer(run.rejected_csv, newline="") as rejected_out, landed_input(run) as landed:
        # Every text quoted: a rejected record may hold a bare carriage return, which minimal quoting leaves bare.
        quarantine = csv.writer(rejected_out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        quarantine.writerow(QUARANTINE_HEADER)
        for path in files:
            for records in read_records(path):
                batch, bad = check_records(records)
                landed.write(batch)
                quarantine.writerows((path.name, line, reason, record) for line, reason, record in bad)
                data_rows += len(batch) + len(bad)
                rejected += len(bad)
    control = landed.control
    control_file = control_file_of(source)
    if control_file:
        check_control_file(control_file, data_rows, rejected, control)
    return LandingResult(
        data_rows=data_rows,
        rejected_rows=rejected,
        control=control,
        files=[str(p) for p in files],
        control_file=str(control_file) if control_file else None,
    )


def data_files(source: Path, allowed_roots: Sequence[Path]) -> list[Path]:
    """The data files of ``source``: the file, or a folder's part files (not hidden, not control files), each
    readable CSV text inside ``allowed_roots`` (when given)."""
    if source.is_dir():
        files = sorted(
            p
            for p in source.iterdir()
            if p.is_file() and not p.name.startswith((".", "_")) and not p.name.endswith(CONTROL_SUFFIX)
        )
        if not files:
            raise InputFileError(f"Input folder {source} holds no data files.")
    elif source.is_file():
        files = [source]
    else:
        raise InputFileError(f"Input {source} does not exist or is neither a file nor a folder.")
    roots = [root.resolve() for root in allowed_roots]
    for path in files:
        if roots and not _inside(path.resolve(), roots):
            raise InputFileError(f"Input file {path} links to {path.resolve()}, outside the allowed folders.")
        _refuse_unreadable(path)
    return files


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _refuse_unreadable(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\0" in head:
        raise InputFileError(
            f"Input file {path} is binary, not CSV text (it contains NUL bytes); "
            "expected UTF-8 CSV with the columns " + ",".join(COLUMNS) + "."
        )


def control_file_of(source: Path) -> Path | None:
    """``<name>.ctl.json`` beside a file; the one ``*.ctl.json`` inside a folder."""
    if source.is_dir():
        found = sorted(source.glob(f"*{CONTROL_SUFFIX}"))
        if len(found) > 1:
            raise InputFileError(f"Input folder {source} has {len(found)} control files; expected at most one.")
        return found[0] if found else None
    beside = source.with_name(source.stem + CONTROL_SUFFIX)
    return beside if beside.is_file() else None


# What a sender's control file may say: counts as JSON integers or digit strings, money as a number or a
# decimal string (exact as a string; a JSON number with more than 2 decimals cannot match anyway).
_COUNT = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]+$"}]}
CONTROL_FILE_SCHEMA = {
    "type": "object",
    "required": ["rows"],
    "properties": {
        "rows": _COUNT,
        "total_volume": _COUNT,
        "total_value": {"oneOf": [{"type": "number"}, {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]},
    },
}


def check_control_file(path: Path, data_rows: int, rejected: int, control: ControlTotals) -> None:
    """The sender's own counts must match what arrived: rows always; totals when no row was rejected."""
    import jsonschema

    try:
        declared = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(declared, CONTROL_FILE_SCHEMA)
    except (OSError, ValueError, jsonschema.ValidationError) as exc:
        problem = exc.message if isinstance(exc, jsonschema.ValidationError) else repr(exc)
        raise InputFileError(
            f"Control file {path} is not valid: {problem}; expected JSON with 'rows' "
            "and optionally 'total_volume' and 'total_value'."
        ) from None
    declared_rows = int(declared["rows"])
    declared_volume = int(declared["total_volume"]) if "total_volume" in declared else None
    declared_value = Decimal(str(declared["total_value"])) if "total_value" in declared else None
    if declared_rows != data_rows:
        raise InputFileError(f"Control file {path} declares {declared_rows} rows, but the input has {data_rows}.")
    if rejected:
        return  # the rejected rows' amounts are unknown, so the declared totals cannot be compared
    for name, declared_total, actual in (
        ("total_volume", declared_volume, control.total_volume),
        ("total_value", declared_value, control.total_value),
    ):
        if declared_total is not None and declared_total != actual:
            raise InputFileError(
                f"Control file {path} declares {name} {declared_total}, but the input sums to {actual}."
            )
