"""A date's revisions: every publication of a night is a revision, kept for good, with its audit trail.

    <data>/revisions/<date>/r<N>/          revision N as it was published, never changed (layout.RevisionFolder)
    <data>/revisions/<date>/history.jsonl  one line per event readers saw, append-only: the audit trail
    <data>/revisions/<date>/claims.jsonl   corrected files taken up for a restatement, append-only

Publishing is writing revision N's folder, then moving the date's pointer to it (the moment readers see it;
:mod:`.published_nights`), then appending the pointer's event to the history. So the history has a line for
every revision readers saw and for no other: a publication undone before the pointer moved, or with it put
back, leaves none; a try killed after the pointer moved leaves its line to the next writer of the date
(:func:`complete`). A revision number readers may have seen is never used again.

A *correction* is the newest complete file dropped in ``incoming/`` for a published date whose
content (SHA-256) is neither the published revision's input nor already taken up: it reissues the night
(:mod:`.corrections` finds and takes them up).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from .atomic_files import atomic_writer
from .errors import ReportError
from .landing.land import incoming_patterns
from .layout import DataFolder, NightFolder, RevisionFolder, RunFolder
from .published_nights import pointer_event, published_revision
from .summary import NightSummary, SectorSummary


@dataclass(frozen=True)
class InputFile:
    """A file a revision's input was landed from (or, for generated data, the generated file)."""

    name: str
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> InputFile:
        stat = path.stat()
        return cls(path.name, stat.st_size, _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@lru_cache(maxsize=256)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    """The file's SHA-256, computed once per content (size and modification time): the watcher asks often."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# A history line's kind: a revision published (lines written before withdrawals existed say nothing), or withdrawn.
PUBLISHED, WITHDRAWN = "published", "withdrawn"
# The files of a work area a revision keeps, but its report: the input is linked (see Revisions.write), the rest copied.
_LINKED = ("input/transactions.csv", "input/stocks.csv", "rejected.csv")
_COPIED = (
    "control.json",
    "validation.json",
    "summary.csv",
    "summary.json",
    "stock_totals.csv",
    "checks.json",
    "revision.json",
)
KEPT_FILES = (*_LINKED, *_COPIED)


def event_of(line: dict[str, Any]) -> str:
    return str(line.get("event", PUBLISHED))


@dataclass(frozen=True)
class Revisions:
    """One date's revisions, its audit trail, and the corrections taken up for it."""

    root: Path

    @classmethod
    def of(cls, night: NightFolder) -> Revisions:
        return cls(night.data_folder.revisions(night.date))

    @property
    def date(self) -> str:
        return self.root.name

    @property
    def data_folder(self) -> DataFolder:
        return DataFolder(self.root.parent.parent)

    @property
    def history_jsonl(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def claims_jsonl(self) -> Path:
        return self.root / "claims.jsonl"

    def revision(self, number: int) -> RevisionFolder:
        return self.data_folder.revision(self.date, number)

    def history(self) -> list[dict[str, Any]]:
        """Every event of the date readers saw, oldest first."""
        return _read_lines(self.history_jsonl)

    def published(self) -> list[dict[str, Any]]:
        """Every published revision's line, oldest first."""
        return [line for line in self.history() if event_of(line) == PUBLISHED]

    def seen(self) -> set[int]:
        """The revision numbers readers may have seen: recorded, or pointed at (a line not yet written)."""
        numbers = {line["revision"] for line in self.published()}
        pointed = pointer_event(self.data_folder, self.date)
        if pointed and event_of(pointed) == PUBLISHED:
            numbers.add(pointed["revision"])
        return numbers

    def next_number(self) -> int:
        return max(self.seen(), default=0) + 1

    def keep(self, number: int, work: RunFolder) -> RevisionFolder:
        """Write revision ``number`` from the work area, before it is published: its folder appears whole (one
        rename). One readers may have seen is never written again: publishing it anew (a retry) finds it as it
        is, or refuses; one no reader saw (an earlier try that failed before publishing) is replaced."""
        revision = self.revision(number)
        if revision.root.exists():
            if number not in self.seen():
                shutil.rmtree(revision.root)
            elif revision.report_html.read_bytes() == work.staged_report_html.read_bytes():
                return revision
            else:
                raise ReportError(
                    f"Revision {number} of {self.date} is already published ({revision.report_html}) with another "
                    "report: clear render_report (and publish with it) to publish the night as the next revision."
                )
        files = {name: work.root / name for name in KEPT_FILES if (work.root / name).is_file()}
        return self.write(number, {**files, revision.report_html.name: work.staged_report_html})

    def write(self, number: int, files: Mapping[str, Path]) -> RevisionFolder:
        """Write revision ``number``'s folder (which must not exist) from ``files``, its names and their sources: it
        appears whole, in one rename. The input is linked (one volume: it costs nothing), the rest copied."""
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob(".r*.staging"):  # a try killed while writing one (the lock is held)
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".r{number}.", suffix=".staging"))
        os.chmod(staging, 0o777 & ~_umask())
        for name, source in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            if name in _LINKED:
                _link_or_copy(source, staging / name)
            else:
                shutil.copyfile(source, staging / name)
        revision = self.revision(number)
        os.rename(staging, revision.root)
        return revision

    def record(self, line: dict[str, Any]) -> None:
        _append_line(self.history_jsonl, line)

    def claim(self, entry: dict[str, Any]) -> None:
        _append_line(self.claims_jsonl, entry)

    def claimed(self) -> set[str]:
        """The SHA-256 of every corrected file taken up for this date, whatever came of it."""
        return {claim["sha256"] for claim in _read_lines(self.claims_jsonl)}


def complete(data: DataFolder, date: str) -> None:
    """Record the date's pointer's event if its history lacks it: a try killed after moving the pointer, before
    its line was written. Readers may have seen it, so it is recorded, never undone. Call with the index lock held."""
    pointed = pointer_event(data, date)
    revisions = Revisions(data.revisions(date))
    if pointed is not None and pointed not in revisions.history()[-1:]:
        revisions.record(pointed)


def published_input_sha256(data: DataFolder, date: str) -> set[str] | None:
    """The SHA-256 of the files the date's published revision was made from; None if the date is not published."""
    revision = published_revision(data, date)
    if revision is None:
        return None
    if recorded := {f.sha256 for f in input_files(revision)}:
        return recorded
    # An older release recorded no digest: every file named for the date in incoming/ and dropped before the night was
    # first published counts as its input (its own file, or one older).
    patterns = incoming_patterns(dt.date.fromisoformat(date))
    dropped = data.incoming.iterdir() if data.incoming.is_dir() else ()
    named = [p for p in dropped if any(fnmatch.fnmatchcase(p.name.lower(), pattern) for pattern in patterns)]
    return {InputFile.of(p).sha256 for p in named if p.is_file() and _dropped_before_publication(p, data, date)}


@dataclass(frozen=True)
class StatedRevision:
    """Which revision of its date a rendered report is, and when it was rendered (``revision.json``)."""

    number: int
    rendered_at: str

    def write(self, run: RunFolder) -> None:
        with atomic_writer(run.revision_json) as out:
            json.dump({"revision": self.number, "rendered_at": self.rendered_at}, out)

    @classmethod
    def read(cls, night: NightFolder) -> StatedRevision | None:
        try:
            stated = json.loads(night.revision_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return cls(stated["revision"], stated["rendered_at"])


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system has them (one volume), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    """One line in one write to a file opened for appending: earlier lines are never touched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def input_files(night: NightFolder) -> list[InputFile]:
    """What the night's input was prepared from (``control.json``): the landed files, or the generated one (none
    recorded by releases before revisions)."""
    return [InputFile(**f) for f in night.read_manifest().get("input_files", [])]


def audit_record(
    run: RunFolder, *, revision: int, flink_job_id: str, dag_id: str, run_id: str, recipients: list[str]
) -> dict[str, Any]:
    """Revision ``revision``'s line in the date's history, but for the moment it is published (``published_at``,
    which the publication adds): where its figures came from, and who made them."""
    manifest = run.read_manifest()
    summary = NightSummary.read(run)
    return {
        "event": PUBLISHED,
        "revision": revision,
        "date": run.date,
        "source": manifest["source"],
        "input_files": manifest["input_files"],
        "data_rows": manifest["data_rows"],
        "rejected_rows": manifest["rejected_rows"],
        "control": manifest["control"],
        "total_value": str(summary.total_value),
        "flink_job_id": flink_job_id,
        "dag_id": dag_id,
        "run_id": run_id,
        "recipients": recipients,
    }


@dataclass(frozen=True)
class SectorChange:
    """One sector's figures against the previous revision's: what a correction changed."""

    sector: str
    before: SectorSummary | None
    after: SectorSummary | None

    def _figure(self, name: str) -> tuple[Decimal, Decimal]:
        def of(row: SectorSummary | None) -> Decimal:
            return Decimal(getattr(row, name)) if row else Decimal(0)

        return of(self.before), of(self.after)

    def difference(self, name: str) -> Decimal:
        before, after = self._figure(name)
        return after - before

    def percent(self, name: str) -> Decimal | None:
        """The difference in percent of the previous revision's figure; None when that was zero."""
        before, after = self._figure(name)
        return (after - before) / before * 100 if before else None

    @property
    def changed(self) -> bool:
        return any(self.difference(name) for name in ("total_value", "total_volume", "transaction_count"))


def sector_changes(before: NightSummary, after: NightSummary) -> list[SectorChange]:
    """Every sector of either revision, in the new revision's order (a sector gone last)."""
    old, new = {s.sector: s for s in before.sectors}, {s.sector: s for s in after.sectors}
    order = [*new, *sorted(set(old) - set(new))]
    return [SectorChange(sector, old.get(sector), new.get(sector)) for sector in order]


def _dropped_before_publication(path: Path, data: DataFolder, date: str) -> bool:
    published = Revisions(data.revisions(date)).published()
    try:
        dropped_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except FileNotFoundError:
        return True
    return bool(published) and dropped_at <= dt.datetime.fromisoformat(published[0]["published_at"])


def night_recipients(night: NightFolder, before: int) -> list[str]:
    """Everyone a revision of the night before revision ``before`` was mailed to, in the order first mailed (none
    for a revision published by a release that did not record them: its line says ``recipients`` null)."""
    seen: dict[str, None] = {}
    for record in Revisions.of(night).published():
        if record["revision"] < before:
            seen.update(dict.fromkeys(record.get("recipients") or []))
    return list(seen)
