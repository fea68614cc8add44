"""The first step of a run: put the day's transactions into the run folder, with control totals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .errors import ReportError
from .generate import generate_transactions
from .land import land_csv
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
) -> dict:
    """Generate or land the input, write ``control.json`` and return it.

    The run folder is reset first, so a rerun of the same date starts clean and a
    failed rerun leaves no earlier report behind to be mistaken for its own.
    """
    run.reset()
    if source not in SOURCES:
        raise ReportError(f"Parameter source={source!r} is not one of {', '.join(SOURCES)}.")
    if source == "file" and not input_path:
        raise ReportError("Parameter input_path is required when source='file'.")
    if source == "generate":
        control = generate_transactions(
            run.input_csv, rows=rows, seed=seed, logical_date=logical_date, universe=load_universe()
        )
        manifest = _manifest(source, None, control.rows, 0, control)
    else:
        source_file = Path(input_path)
        landed = land_csv(source_file, run)
        manifest = _manifest(source, str(source_file), landed.data_rows, landed.rejected_rows, landed.control)
    with atomic_writer(run.control_json) as out:
        json.dump(manifest, out, indent=2)
    return manifest


def read_manifest(run: RunFolder) -> dict:
    return json.loads(run.control_json.read_text(encoding="utf-8"))


def _manifest(source: str, source_path: str | None, data_rows: int, rejected_rows: int, control: ControlTotals) -> dict:
    return {
        "source": source,
        "source_path": source_path,
        "data_rows": data_rows,
        "rejected_rows": rejected_rows,
        "control": control.to_json(),
    }
