"""The first step of a night: put the day's transactions into its folder with control totals, and decide the
input policies before any Flink job runs."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .atomic_files import atomic_writer
from .errors import InputFileError, ReportError
from .landing.generate import generate_transactions
from .landing.land import QUARANTINE_HEADER, data_files, land_csv, resolve_input
from .layout import RunFolder
from .revisions import InputFile
from .transactions import SOURCES, ControlTotals
from .universe import load_universe


def prepare_input(
    run: RunFolder,
    *,
    source: str,
    logical_date: dt.date,
    rows: int,
    seed: int,
    input_path: str | None,
    data_root: Path,
    allowed_input_dirs: Sequence[Path] = (),
    allow_empty: bool = False,
    max_reject_ratio: float = 1.0,
) -> dict[str, Any]:
    """Generate or land the input, write ``control.json`` and return it.

    A rerun of a date clears its work area, so it starts clean (readers read the published revisions,
    which it never touches). Then the policies that need no
    Flink job are decided here: a day without valid transactions (unless ``allow_empty``), and a
    share of rejected rows above ``max_reject_ratio``, fail the night with the quarantine kept.
    """
    started = time.monotonic()
    if source not in SOURCES:
        raise ReportError(f"Parameter source={source!r} is not one of {', '.join(SOURCES)}.")
    # The parameters are checked before the folder is cleared: a mistyped one leaves the night's files as they are.
    landing = None
    if source == "file":
        landing = resolve_input(
            input_path, data_root=data_root, allowed_roots=allowed_input_dirs, report_date=logical_date
        )
    run.reset()
    if landing is None:
        control = generate_transactions(run, rows=rows, seed=seed, logical_date=logical_date, universe=load_universe())
        with atomic_writer(run.rejected_csv, newline="") as out:
            csv.writer(out, lineterminator="\n").writerow(QUARANTINE_HEADER)  # nothing rejected
        manifest = _manifest(source, control.rows, 0, control, allow_empty)
        manifest["input_files"] = [InputFile.of(run.transactions_csv).to_json()]
        described = f"Generated input of {logical_date}"
    else:
        roots = [data_root, *allowed_input_dirs]
        # What the date's revisions record, and how a corrected file is told from the one already reported: the
        # files' SHA-256, computed on the other core while they land (hashlib lets go of the GIL).
        with ThreadPoolExecutor(max_workers=1) as pool:
            digests = pool.submit(lambda: [InputFile.of(path).to_json() for path in data_files(landing, roots)])
            landed = land_csv(landing, run, allowed_roots=roots)
            input_files = digests.result()
        manifest = _manifest(source, landed.data_rows, landed.rejected_rows, landed.control, allow_empty)
        manifest.update(source_path=str(landing), files=landed.files, control_file=landed.control_file)
        manifest["input_files"] = input_files
        described = f"Input {landing}"
    manifest["prepare_seconds"] = round(time.monotonic() - started, 3)  # generating or landing, for the log
    with atomic_writer(run.control_json) as out:
        json.dump(manifest, out, indent=2, ensure_ascii=False)
    _check_policies(run, manifest, described, max_reject_ratio=max_reject_ratio)
    return manifest


def _check_policies(run: RunFolder, manifest: dict[str, Any], described: str, *, max_reject_ratio: float) -> None:
    data_rows, rejected = manifest["data_rows"], manifest["rejected_rows"]
    valid = data_rows - rejected
    if data_rows and rejected / data_rows > max_reject_ratio:
        raise InputFileError(
            f"{described} has a reject ratio of {rejected / data_rows:.4g} ({rejected} of {data_rows} rows), "
            f"more than max_reject_ratio={max_reject_ratio:g} allows; the rejected rows are in {run.rejected_csv} "
            f"with their line numbers and reasons. No Flink job ran and nothing was published for {run.date}."
        )
    if valid == 0 and not manifest["allow_empty"]:
        which = "has no data rows (it is empty or holds only a header)" if not data_rows else "has no valid rows"
        raise InputFileError(
            f"{described} {which}; if a day without transactions is expected, run with allow_empty=true. "
            f"No Flink job ran and nothing was published for {run.date}."
        )


def _manifest(
    source: str, data_rows: int, rejected_rows: int, control: ControlTotals, allow_empty: bool
) -> dict[str, Any]:
    return {
        "source": source,
        "data_rows": data_rows,
        "rejected_rows": rejected_rows,
        "allow_empty": allow_empty,
        "control": control.to_json(),
    }
