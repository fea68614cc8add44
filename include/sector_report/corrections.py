"""The watcher on ``incoming/``: corrected files for published dates, and taking one up for a restatement.

A *correction* is the newest complete file dropped in ``incoming/`` for a published date whose content
(SHA-256) is neither the input of the date's published revision nor a file already taken up for the date.
The published state is read only through :mod:`.revisions`' ``published_input_sha256`` and ``Revisions``'
``claimed``/``claim``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_report_kit.arrivals import SETTLE_SECONDS, newest_complete

from .errors import ReportError
from .landing.land import CONTROL_SUFFIX, incoming_patterns
from .layout import DataFolder, RunFolder
from .revisions import InputFile, Revisions, input_files, published_input_sha256

_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


@dataclass(frozen=True)
class Correction:
    """A corrected file for a published date, not yet taken up."""

    date: str
    path: Path
    file: InputFile

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date, "path": str(self.path), **self.file.to_json()}


def pending_corrections(data_root: Path | str, *, settle_seconds: float = SETTLE_SECONDS) -> list[Correction]:
    """The corrections waiting in ``incoming/``, oldest date first: for each published date, its newest complete
    file, if its content is neither the published revision's input nor a file already taken up for the date."""
    data = DataFolder(Path(data_root))
    dropped_for: dict[str, list[Path]] = {}
    for path in _listing(data.incoming):
        if (date := _date_in(path.name)) and _named_for(path.name, date):
            dropped_for.setdefault(date, []).append(path)
    pending = []
    for date in sorted(dropped_for):
        published_input = published_input_sha256(data, date)
        if published_input is None:
            continue
        found = newest_complete(dropped_for[date], control_suffix=CONTROL_SUFFIX, settle_seconds=settle_seconds)
        if found is None:
            continue
        try:
            dropped = InputFile.of(found)
        except FileNotFoundError:  # taken away while we looked
            continue
        if dropped.sha256 not in published_input | Revisions.of(data.run(date)).claimed():
            pending.append(Correction(date, found, dropped))
    return pending


def _listing(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.is_file()] if folder.is_dir() else []


def _named_for(name: str, date: str) -> bool:
    """Named as the date's file in incoming/ (the nightly lands the same names)."""
    patterns = incoming_patterns(dt.date.fromisoformat(date))
    return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in patterns)


def _date_in(name: str) -> str | None:
    match = _DATE_IN_NAME.search(name)
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


def corrections_waiting(data_root: str) -> list[dict[str, Any]]:
    """:func:`pending_corrections` as the restatement DAG's watcher fires them: JSON, keyed by date and content."""
    return [{"key": f"{c.date}:{c.file.sha256}", **c.to_json()} for c in pending_corrections(data_root)]


def take_up(data_root: Path | str, *, run_id: str, date: str | None = None) -> Correction | None:
    """The correction a restatement run reissues, claimed for it so that no other run takes it up too: the one
    this run took up before (its tasks cleared), else ``date``'s, else the oldest date's waiting; None if none
    waits. Asking for a ``date`` with nothing waiting for it is an error that says why."""
    data = DataFolder(Path(data_root))
    if earlier := _claimed_by(data, run_id):
        return earlier
    waiting = [c for c in pending_corrections(data.root) if date is None or c.date == date]
    if not waiting:
        if date is None:
            return None
        raise ReportError(
            f"No corrected file for {date} waits in {data.incoming}: the night of {date} must be published, and "
            f"its newest file there (named with the date, e.g. {incoming_patterns(dt.date.fromisoformat(date))[0]}) "
            "must differ from the file its latest revision was made from and from every file taken up for it "
            f"before ({Revisions.of(data.run(date)).claims_jsonl})."
        )
    correction = waiting[0]
    Revisions.of(data.run(correction.date)).claim(
        {**correction.to_json(), "run_id": run_id, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    )
    return correction


def _claimed_by(data: DataFolder, run_id: str) -> Correction | None:
    folder = data.root / "revisions"
    for claims in sorted(folder.glob("*/claims.jsonl")) if folder.is_dir() else []:
        for claim in map(json.loads, claims.read_text(encoding="utf-8").splitlines()):
            if claim["run_id"] == run_id:
                file = InputFile(claim["name"], claim["size"], claim["sha256"])
                return Correction(claim["date"], Path(claim["path"]), file)
    return None


def check_landed_as_taken_up(run: RunFolder, sha256: str) -> None:
    """The restatement landed the very file it took up (not one written over it since)."""
    landed = input_files(run)
    if [f.sha256 for f in landed] != [sha256]:
        raise ReportError(
            f"The corrected file for {run.date} changed after it was taken up (SHA-256 {sha256}, landed "
            f"{', '.join(f.sha256 for f in landed)}): nothing was published; the file as it is now is a correction "
            "of its own, which the watcher takes up next."
        )
