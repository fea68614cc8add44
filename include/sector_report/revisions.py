"""A date's revisions: every publication of a night is a revision, kept for good, with its audit trail.

    <data>/revisions/<date>/history.jsonl   one line per published revision, append-only: the audit trail
    <data>/revisions/<date>/r<N>.html       revision N's report as it was published, byte for byte
    <data>/revisions/<date>/r<N>.json       revision N's summary (what revision N+1 is compared with)
    <data>/revisions/<date>/claims.jsonl    corrected files taken up for a restatement, append-only

The night's own folder (``runs/<date>/``) always holds the latest revision; these files are what
stays when a later one replaces it. A revision is published once its line is in the history: a
revision's report and summary are written before that, and may be written again until then.

A *correction* is the newest complete file dropped in ``incoming/`` for a published date whose
content (SHA-256) is neither the latest revision's input nor already taken up: it reissues the night
(:mod:`.corrections` finds and takes them up).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from .atomic_files import atomic_writer
from .errors import ReportError
from .landing.land import incoming_patterns
from .layout import DataFolder, RunFolder
from .published_nights import is_published
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


@dataclass(frozen=True)
class Revisions:
    """One date's published revisions, their reports and summaries, and the corrections taken up."""

    root: Path

    @classmethod
    def of(cls, run: RunFolder) -> Revisions:
        return cls(run.data_folder.revisions(run.date))

    @property
    def date(self) -> str:
        return self.root.name

    @property
    def history_jsonl(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def claims_jsonl(self) -> Path:
        return self.root / "claims.jsonl"

    def report_html(self, number: int) -> Path:
        return self.root / f"r{number}.html"

    def summary_json(self, number: int) -> Path:
        return self.root / f"r{number}.json"

    def history(self) -> list[dict[str, Any]]:
        """Every published revision's record, oldest first."""
        return _read_lines(self.history_jsonl)

    def latest(self) -> dict[str, Any] | None:
        history = self.history()
        return history[-1] if history else None

    def next_number(self) -> int:
        return len(self.history()) + 1

    def is_recorded(self, number: int) -> bool:
        return any(record["revision"] == number for record in self.history())

    def keep(self, number: int, staged_report: Path, summary: Path) -> None:
        """Write revision ``number``'s report and summary, before it is published. A published revision's are
        never written again: publishing it anew (a retry) finds them as they are, or refuses."""
        if self.is_recorded(number):
            if self.report_html(number).read_bytes() != staged_report.read_bytes():
                raise ReportError(
                    f"Revision {number} of {self.date} is already published ({self.report_html(number)}) with "
                    "another report: render the night again to publish it as the next revision."
                )
            return
        for source, target in ((staged_report, self.report_html(number)), (summary, self.summary_json(number))):
            with atomic_writer(target, binary=True) as out, source.open("rb") as handle:
                shutil.copyfileobj(handle, out)

    def record(self, entry: dict[str, Any]) -> bool:
        """Append a published revision's record, once; False if it was already there (a retry)."""
        if self.is_recorded(entry["revision"]):
            return False
        _append_line(self.history_jsonl, entry)
        return True

    def claim(self, entry: dict[str, Any]) -> None:
        _append_line(self.claims_jsonl, entry)

    def claimed(self) -> set[str]:
        """The SHA-256 of every corrected file taken up for this date, whatever came of it."""
        return {claim["sha256"] for claim in _read_lines(self.claims_jsonl)}


@dataclass(frozen=True)
class StatedRevision:
    """Which revision of its date a rendered report is, and when it was rendered (``revision.json``)."""

    number: int
    rendered_at: str

    def write(self, run: RunFolder) -> None:
        with atomic_writer(run.revision_json) as out:
            json.dump({"revision": self.number, "rendered_at": self.rendered_at}, out)

    @classmethod
    def read(cls, run: RunFolder) -> StatedRevision | None:
        try:
            stated = json.loads(run.revision_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return cls(stated["revision"], stated["rendered_at"])


def revision_of(run: RunFolder) -> int:
    """Which revision of its date the night's report is (1 for a night rendered before revisions were kept)."""
    stated = StatedRevision.read(run)
    return stated.number if stated else 1


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


def input_files(run: RunFolder) -> list[InputFile]:
    """What the night's input was prepared from (``control.json``): the landed files, or the generated one."""
    return [InputFile(**f) for f in run.read_manifest()["input_files"]]


def audit_record(
    run: RunFolder, *, revision: int, flink_job_id: str, dag_id: str, run_id: str, recipients: list[str]
) -> dict[str, Any]:
    """Revision ``revision``'s line in the date's history: where its figures came from, and who made them."""
    manifest = run.read_manifest()
    summary = NightSummary.read(run)
    return {
        "revision": revision,
        "date": run.date,
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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


def published_input_sha256(data: DataFolder, date: str) -> set[str] | None:
    """The SHA-256 of the files the date's published revision was made from; None when the date is not published.
    A night published before revisions were kept recorded none: every file named for it in ``incoming/`` and
    dropped before it was published counts as its input (its own file, or one older)."""
    run = data.run(date)
    if not is_published(run):
        return None
    if latest := Revisions.of(run).latest():
        return {f["sha256"] for f in latest["input_files"]}
    patterns = incoming_patterns(dt.date.fromisoformat(date))
    dropped = data.incoming.iterdir() if data.incoming.is_dir() else ()
    named = [p for p in dropped if any(fnmatch.fnmatchcase(p.name.lower(), pattern) for pattern in patterns)]
    return {InputFile.of(p).sha256 for p in named if p.is_file() and _dropped_before_publication(p, run)}


def _dropped_before_publication(path: Path, run: RunFolder) -> bool:
    try:
        return path.stat().st_mtime <= run.report_html.stat().st_mtime
    except FileNotFoundError:
        return True


def adopt_unrecorded(run: RunFolder) -> None:
    """A night published before revisions were kept becomes revision 1 as it is (its report byte for byte, its
    input as its ``control.json`` says), before a restatement replaces it."""
    revisions = Revisions.of(run)
    if revisions.history() or not is_published(run):
        return
    revisions.keep(1, run.report_html, run.summary_json)
    manifest = run.read_manifest()
    published_at = dt.datetime.fromtimestamp(run.report_html.stat().st_mtime, dt.UTC)
    revisions.record(
        {
            "revision": 1,
            "date": run.date,
            "published_at": published_at.isoformat(timespec="seconds"),
            "source": manifest["source"],
            "input_files": manifest.get("input_files", []),
            "data_rows": manifest["data_rows"],
            "rejected_rows": manifest["rejected_rows"],
            "control": manifest["control"],
            "total_value": str(NightSummary.read(run).total_value),
            "adopted": "published before revisions were kept: no run, job or recipients recorded",
            "recipients": [],
        }
    )


def night_recipients(run: RunFolder, before: int) -> list[str]:
    """Everyone a revision of the night before revision ``before`` was mailed to, in the order first mailed."""
    seen: dict[str, None] = {}
    for record in Revisions.of(run).history():
        if record["revision"] < before:
            seen.update(dict.fromkeys(record.get("recipients", [])))
    return list(seen)
