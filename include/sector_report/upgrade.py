"""Taking over a data folder written by an earlier release, where a night was published by its ``report.html``
in ``runs/<date>/`` and the date's earlier revisions, if any, as ``revisions/<date>/r<N>.html`` and ``r<N>.json``.

Each such night becomes the published revisions of this release: its current report the revision its
``revision.json`` says (1 for a night rendered before revisions existed), with its input, summary and
history line; each earlier revision in the history a folder of its report and summary (the earlier
release did not keep their input). A night with no history line gets one that says plainly what is not
known: who it was mailed to, its run and its Flink job. The earlier files stay where they are, byte for
byte (the earlier revisions' reports link one another there), but the night's old ``report.html``, which
a rerun of the date would no longer replace: readers find the night through its pointer.

Safe to run again at any point, and killed at any point: a night is taken over once its pointer is written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic_files import atomic_writer
from .layout import DataFolder, RunFolder
from .published_nights import pointer_event
from .reporting.publish import index_lock, rewrite_index
from .revisions import KEPT_FILES, PUBLISHED, Revisions, StatedRevision
from .summary import NightSummary

UNKNOWN = "published by an earlier release that did not record its run, Flink job or recipients: they are unknown"


@dataclass(frozen=True)
class TakenOver:
    """A page of an earlier release's night (``was``) and where that revision is published now (``page``)."""

    page: Path
    was: Path


def take_over(data: DataFolder, *, locale: str, exchange: str) -> list[TakenOver]:
    """Take over every night an earlier release published in ``data`` and not yet taken over; returns its pages,
    old and new, so the report viewer can serve each new one to whoever read the old one."""
    if not any(run.root.joinpath("report.html").is_file() for run in data.run_folders()):
        return []  # what nearly every call finds: nothing to take over, and no lock taken
    moved: list[TakenOver] = []
    with index_lock(data):
        for run in data.run_folders():
            old_report = run.root / "report.html"
            if not old_report.is_file():
                continue
            if pointer_event(data, run.date) is None:
                moved += _take_over_night(data, run, old_report)
            old_report.unlink()  # kept in its revision; a rerun of the date would never replace it
    if moved:
        rewrite_index(data, locale=locale, exchange=exchange)
    return moved


def _take_over_night(data: DataFolder, run: RunFolder, old_report: Path) -> list[TakenOver]:
    revisions = Revisions.of(run)
    history = revisions.history()
    stated = StatedRevision.read(run)
    current = stated.number if stated else 1
    moved = []
    for line in history:
        number = line["revision"]
        if number < current and not revisions.revision(number).root.exists():
            old = {
                "report.html": revisions.root / f"r{number}.html",
                "summary.json": revisions.root / f"r{number}.json",
            }
            revision = revisions.write(number, {name: path for name, path in old.items() if path.is_file()})
            moved.append(TakenOver(revision.report_html, old["report.html"]))
    revision = revisions.revision(current)
    if not revision.root.exists():
        files = {name: run.root / name for name in KEPT_FILES if (run.root / name).is_file()}
        revision = revisions.write(current, {**files, "report.html": old_report})
    moved.append(TakenOver(revision.report_html, old_report))
    recorded = [line for line in history if line["revision"] == current]
    line = recorded[-1] if recorded else _unrecorded_line(run, current, old_report)
    if not recorded:
        revisions.record(line)
    # The pointer holds the history line of what it points at, as published_nights says (the earlier release's lines
    # name no event: they are all publications).
    with atomic_writer(data.pointer(run.date)) as out:
        json.dump(line, out, ensure_ascii=False, sort_keys=True)
    return moved


def _unrecorded_line(run: RunFolder, number: int, report: Path) -> dict[str, Any]:
    """The history line of a night published before its release recorded one: what its files still say."""
    manifest = run.read_manifest()
    published_at = dt.datetime.fromtimestamp(report.stat().st_mtime, dt.UTC)
    return {
        "event": PUBLISHED,
        "revision": number,
        "date": run.date,
        "published_at": published_at.isoformat(timespec="seconds"),
        "source": manifest["source"],
        "input_files": manifest.get("input_files", []),
        "data_rows": manifest["data_rows"],
        "rejected_rows": manifest["rejected_rows"],
        "control": manifest["control"],
        "total_value": str(NightSummary.read(run).total_value),
        "recipients": None,
        "taken_over": UNKNOWN,
    }
