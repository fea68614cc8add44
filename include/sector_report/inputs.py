"""The first step of a run: put the day's transactions into the run folder, with control totals."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import InputFileError, ReportError
from .generate import generate_transactions
from .land import land_csv, resolve_input
from .run_folder import RunFolder, atomic_writer
from .transactions import ControlTotals
from .universe import load_universe

SOURCES = ("generate", "file")


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
) -> dict:
    """Generate or land the input, write ``control.json`` and return it.

    The run folder is reset first, so a rerun of the same date starts clean and a
    failed rerun leaves no earlier report behind to be mistaken for its own.
    """
    started = time.monotonic()
    run.reset()
    if source not in SOURCES:
        raise ReportError(f"Parameter source={source!r} is not one of {', '.join(SOURCES)}.")
    if source == "generate":
        control = generate_transactions(run, rows=rows, seed=seed, logical_date=logical_date, universe=load_universe())
        manifest = _manifest(source, control.rows, 0, control, allow_empty)
    else:
        landing = resolve_input(
            input_path, data_root=data_root, allowed_roots=allowed_input_dirs, report_date=logical_date
        )
        landed = land_csv(landing, run, allowed_roots=[data_root, *allowed_input_dirs])
        if landed.data_rows == 0 and not allow_empty:
            raise InputFileError(
                f"Input {landing} has no data rows (it is empty or holds only a header); "
                "if a day without transactions is expected, run with allow_empty=true."
            )
        manifest = _manifest(source, landed.data_rows, landed.rejected_rows, landed.control, allow_empty)
        manifest.update(source_path=str(landing), files=landed.files, control_file=landed.control_file)
    manifest["prepare_seconds"] = round(time.monotonic() - started, 3)  # generating or landing, for the log
    with atomic_writer(run.control_json) as out:
        json.dump(manifest, out, indent=2, ensure_ascii=False)
    return manifest


def _manifest(source: str, data_rows: int, rejected_rows: int, control: ControlTotals, allow_empty: bool) -> dict:
    return {
        "source": source,
        "data_rows": data_rows,
        "rejected_rows": rejected_rows,
        "allow_empty": allow_empty,
        "control": control.to_json(),
    }
