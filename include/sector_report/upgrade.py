"""Taking over a data folder written by an earlier release, where a night was published by its ``report.html``
in ``runs/<date>/`` and the date's earlier revisions, if any, as ``revisions/<date>/r<N>.html`` and ``r<N>.json``.

Each such night becomes the published revisions of this release: its current report the revision its
``revision.json`` says (1 for a night rendered before revisions existed), with its input, summary and
history line; each earlier revision in the history a folder of its report and summary (the earlier
release did not keep their input). A night with no history line gets one that says plainly what is not
known: who it was mailed to, its run and its Flink job. The earlier files stay where they are, byte for
byte (the earlier revisions' reports link one another there), but the night's old ``report.html``, which
a rerun of the date would no longer replace: readers find the night through its pointer.

Safe to run again at any point, and killed at any point: a night is taken over once its pointer is written, and
its new pages are offered to the report viewer (``serve``) before that.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
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
    """Where a revision of an earlier release's night is published now (``page``), and the pages it was published
    as (``was``, most likely first: a revision's own page, then its night's)."""

    page: Path
    was: tuple[Path, ...]


# What lets the report viewer's readers of the old pages read the new one.
Serve = Callable[[TakenOver], object]


def take_over(data: DataFolder, *, locale: str, exchange: str, serve: Serve = lambda page: None) -> list[TakenOver]:
    """Take over every night an earlier release published in ``data`` and not yet taken over, each revision's page
    ``serve``d before its night's pointer is written; returns them."""
    if not any(run.root.joinpath("report.html").is_file() for run in data.run_folders()):
        return []  # what nearly every call finds: nothing to take over, and no lock taken
    moved: list[TakenOver] = []
    with index_lock(data):
        for run in data.run_folders():
            old_report = run.root / "report.html"
            if not old_report.is_file():
                continue
            if pointer_event(data, run.date) is None:
                pages = _take_over_night(data, run, old_report)
                for page in pages:
                    serve(page)
                _point(data, run, old_report)
                moved += pages
            old_report.unlink()  # kept in its revision; a rerun of the date would never replace it
    if moved:
        rewrite_index(data, locale=locale, exchange=exchange)
    return moved


def _take_over_night(data: DataFolder, run: RunFolder, old_report: Path) -> list[TakenOver]:
    """Write the night's revisions (but those a take-over killed before its pointer wrote); their pages."""
    revisions = Revisions.of(run)
    current = _current_revision(run)
    moved = []
    for number in sorted({line["revision"] for line in revisions.history()} - {current}):
        earlier = revisions.revision(number)
        old_page, old_summary = revisions.root / f"r{number}.html", revisions.root / f"r{number}.json"
        if number < current and not earlier.root.exists():
            files = {"report.html": old_page, "summary.json": old_summary}
            revisions.write(number, {name: path for name, path in files.items() if path.is_file()})
        if number < current:
            # Its own page's readers, else its night's: the earlier release did not register every r<N>.html.
            moved.append(TakenOver(earlier.report_html, (old_page, old_report)))
    revision = revisions.revision(current)
    if not revision.root.exists():
        files = {name: run.root / name for name in KEPT_FILES if (run.root / name).is_file()}
        revision = revisions.write(current, {**files, "report.html": old_report})
    moved.append(TakenOver(revision.report_html, (old_report,)))
    return moved


def _point(data: DataFolder, run: RunFolder, old_report: Path) -> None:
    """Publish the night's current revision: its pointer, holding its history line (recorded first if it had none)."""
    revisions = Revisions.of(run)
    current = _current_revision(run)
    recorded = [line for line in revisions.history() if line["revision"] == current]
    line = recorded[-1] if recorded else _unrecorded_line(run, current, old_report)
    if not recorded:
        revisions.record(line)
    # The pointer holds the history line of what it points at, as published_nights says (the earlier release's lines
    # name no event: they are all publications).
    with atomic_writer(data.pointer(run.date)) as out:
        json.dump(line, out, ensure_ascii=False, sort_keys=True)


def _current_revision(run: RunFolder) -> int:
    """Which revision the earlier release's night is: its ``revision.json``'s, or 1 (a release before revisions)."""
    stated = StatedRevision.read(run)
    return stated.number if stated else 1


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
