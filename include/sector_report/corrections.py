"""The watcher on ``incoming/``: corrected files for published dates, and taking one up for a restatement.

A *correction* is the newest complete file dropped in ``incoming/`` for a published date whose content
(SHA-256) is neither the input of the date's published revision nor a file already taken up for the date.
The published state is read only through :mod:`.revisions`' ``published_input_sha256`` and ``Revisions``'
``claimed``/``claim``.

A file taken up leaves ``incoming/``, with its control file, for the date's kept corrections:

    <data>/corrections/<date>/<sha256[:16]>/<its name>   the file, as dropped (its modification time too)
    <data>/corrections/<date>/<sha256[:16]>/taken_up.json  which run took it up, from where, and its SHA-256

Kept files still count when the watcher asks which file of a date is newest, as they did lying in ``incoming/``:
an older file left there is not a correction.
"""

from __future__ import annotations

import datetime as dt
import errno
import filecmp
import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_report_kit.arrivals import SETTLE_SECONDS, newest_complete

from .atomic_files import atomic_writer, staged_writer
from .errors import ReportError
from .landing.land import CONTROL_SUFFIX, incoming_patterns
from .layout import DataFolder, RunFolder
from .revisions import InputFile, Revisions, input_files, published_input_sha256

_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
log = logging.getLogger(__name__)
# Beside a file taken up: what took it up, from where (so a run whose tasks are cleared finds it again).
TAKEN_UP = "taken_up.json"


@dataclass(frozen=True)
class Correction:
    """A corrected file for a published date, where it lies: in ``incoming/``, or where it is kept once taken up."""

    date: str
    path: Path
    file: InputFile

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date, "path": str(self.path), **self.file.to_json()}


class CannotLook(ReportError):
    """``incoming/`` itself cannot be listed: no correction can be found for any date until it can."""


def pending_corrections(data_root: Path | str, *, settle_seconds: float = SETTLE_SECONDS) -> list[Correction]:
    """The corrections waiting in ``incoming/``, oldest date first: for each published date, its newest complete
    file, if its content is neither the published revision's input nor a file already taken up for the date.

    A file that cannot be read holds back its own date, for this look only (a warning names it); ``incoming/``
    that cannot be listed raises :class:`CannotLook`."""
    data = DataFolder(Path(data_root))
    dropped = _dropped(data)
    dropped_for: dict[str, list[Path]] = {}
    for path in dropped:
        if (date := _date_in(path.name)) and _named_for(path.name, date):
            dropped_for.setdefault(date, []).append(path)
    hashes = Hashes.load(data)
    pending = []
    for date in sorted(dropped_for):
        try:
            correction = _waiting_for(data, date, dropped_for[date], hashes, settle_seconds)
        except OSError as exc:
            # Looked at again next time: the sender may fix the file, or it was replaced while we read it.
            log.warning("No correction for %s is taken up this look: %s", date, exc)
            continue
        if correction:
            pending.append(correction)
    hashes.save(keep=dropped)
    return pending


def _waiting_for(
    data: DataFolder, date: str, dropped: list[Path], hashes: Hashes, settle_seconds: float
) -> Correction | None:
    published_input = published_input_sha256(data, date)
    if published_input is None:
        return None
    kept = taken_up_files(data, date)
    found = newest_complete(dropped + kept, control_suffix=CONTROL_SUFFIX, settle_seconds=settle_seconds)
    if found is None or found in kept:
        return None
    file = hashes.of(found)
    if file.sha256 in published_input | Revisions.of(data.run(date)).claimed():
        return None
    return Correction(date, found, file)


def _dropped(data: DataFolder) -> list[Path]:
    """The regular files in ``incoming/``; anything else named like a day's file is skipped with a warning."""
    try:
        listing = list(data.incoming.iterdir())
    except FileNotFoundError as exc:
        if data.root.is_dir():
            return []  # nothing was ever dropped
        raise _cannot_look(data, exc) from exc
    except OSError as exc:
        raise _cannot_look(data, exc) from exc
    files = []
    for path in listing:
        try:
            regular = path.is_file()
        except OSError as exc:  # e.g. a link into a folder this user may not enter
            log.warning("Skipped %s this look: %s", path, exc)
            continue
        if regular:
            files.append(path)
        elif path.name.lower().endswith(".csv"):
            log.warning("Skipped %s this look: not a regular file (a folder, a pipe, or a link to nothing)", path)
    return files


def _cannot_look(data: DataFolder, exc: OSError) -> CannotLook:
    return CannotLook(
        f"The corrections watcher cannot list {data.incoming} ({type(exc).__name__}: {exc}): no corrected file is "
        "taken up for any date until it can. Check that the folder exists, that its volume is mounted (docker-compose: "
        "SECTOR_REPORT_INCOMING), and that the triggerer's and the workers' user may read it; the watcher keeps "
        "looking, takes up what waits once it can, and alerts again only if it cannot look after that."
    )


@dataclass
class Hashes:
    """The SHA-256 of the files in ``incoming/`` the watcher hashed, kept in ``<data>/.watcher/hashes.json`` so that a
    fresh process (the triggerer restarted, a task) does not read every kept export again. An entry holds while its
    file's size, modification and change times and inode do; entries of files no longer in ``incoming/`` go."""

    path: Path
    known: dict[str, dict[str, Any]]
    changed: bool = False

    @classmethod
    def load(cls, data: DataFolder) -> Hashes:
        path = data.root / ".watcher" / "hashes.json"
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = {}
        except (OSError, ValueError) as exc:  # only costs hashing again
            log.warning("Ignored the watcher's hashes in %s: %s", path, exc)
            known = {}
        return cls(path, known if isinstance(known, dict) else {})

    def of(self, path: Path) -> InputFile:
        """The file's name, size and SHA-256; an :class:`OSError` naming the file if it cannot be read."""
        try:
            before = _stamp(path)
            if (entry := self.known.get(str(path))) and entry["stamp"] == before:
                return InputFile(path.name, before["size"], entry["sha256"])
            with path.open("rb") as handle:
                sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
            after = _stamp(path)
        except OSError as exc:
            if exc.filename is None:  # a failed read does not say which file
                raise OSError(exc.errno, exc.strerror, str(path)) from exc
            raise
        if after == before:  # a file written while it was read is hashed again next time
            self.known[str(path)] = {"stamp": after, "sha256": sha256}
            self.changed = True
        return InputFile(path.name, after["size"], sha256)

    def save(self, *, keep: list[Path]) -> None:
        present = {str(path) for path in keep}
        gone = set(self.known) - present
        if not (self.changed or gone):
            return
        for name in gone:
            del self.known[name]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_writer(self.path) as out:
                json.dump(self.known, out, sort_keys=True)
        except OSError as exc:  # only costs hashing again
            log.warning("Could not keep the watcher's hashes in %s: %s", self.path, exc)


def _stamp(path: Path) -> dict[str, int]:
    # The change time too: a writer that restores the modification time (cp -p, rsync -t) still changes it.
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns, "inode": stat.st_ino}


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
    """:func:`pending_corrections` as the restatement DAG's watcher fires them: JSON, keyed by date and content.

    When ``incoming/`` cannot be listed, one item says so instead. Its key holds while the cause does, and it is
    not fired again while it stays (``refire``: false): the run it starts fails with its error and alerts on-call
    once; a later failure to look, after looking worked again, alerts again."""
    try:
        return [{"key": f"{c.date}:{c.file.sha256}", **c.to_json()} for c in pending_corrections(data_root)]
    except CannotLook as exc:
        return [{"key": f"cannot-look:{type(exc.__cause__).__name__}", "refire": False, "error": str(exc)}]


def take_up(data_root: Path | str, *, run_id: str, date: str | None = None) -> Correction | None:
    """The correction a restatement run reissues, claimed for it so that no other run takes it up too, and moved
    out of ``incoming/`` (:func:`_keep`): the one this run took up before (its tasks cleared), else ``date``'s, else
    the oldest date's waiting; None if none waits. Asking for a ``date`` with nothing waiting for it is an error
    that says why."""
    data = DataFolder(Path(data_root))
    if earlier := _taken_up_by(data, run_id):
        return _keep(data, earlier)
    waiting = [c for c in pending_corrections(data.root) if date is None or c.date == date]
    if not waiting:
        if date is None:
            return None
        raise ReportError(
            f"No corrected file for {date} waits in {data.incoming}: the night of {date} must be published, and "
            f"its newest file there (named with the date, e.g. {incoming_patterns(dt.date.fromisoformat(date))[0]}) "
            "must differ from the file its latest revision was made from and from every file taken up for it "
            f"before (kept in {data.corrections(date)})."
        )
    correction = waiting[0]
    kept = data.corrections(correction.date) / correction.file.sha256[:16] / correction.path.name
    entry = {
        **correction.file.to_json(),
        "date": correction.date,
        "dropped_path": str(correction.path),
        "kept_path": str(kept),
        "run_id": run_id,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    # Written first: a run cleared after any later step finds it and finishes the steps left.
    with atomic_writer(kept.with_name(TAKEN_UP)) as out:
        json.dump(entry, out, ensure_ascii=False, sort_keys=True)
    return _keep(data, entry)


def taken_up_files(data: DataFolder, date: str) -> list[Path]:
    """The files taken up for ``date``, where they are kept."""
    folder = data.corrections(date)
    kept = folder.glob("*/*") if folder.is_dir() else ()
    return [path for path in kept if path.name != TAKEN_UP and _named_for(path.name, date)]


def _taken_up_by(data: DataFolder, run_id: str) -> dict[str, Any] | None:
    folder = data.corrections_taken_up
    for record in sorted(folder.glob(f"*/*/{TAKEN_UP}")) if folder.is_dir() else []:
        entry: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
        if entry["run_id"] == run_id:
            return entry
    return None


def _keep(data: DataFolder, entry: dict[str, Any]) -> Correction:
    """Claim the file for its date and move it, its control file with it, from ``incoming/`` to where it is kept.
    Each step is done once: a run cleared midway finishes the steps left."""
    revisions = Revisions.of(data.run(entry["date"]))
    if entry["sha256"] not in revisions.claimed():
        revisions.claim(entry)
    dropped, kept = Path(entry["dropped_path"]), Path(entry["kept_path"])
    if not _move(dropped, kept):
        raise ReportError(
            f"The corrected file taken up for {entry['date']} (SHA-256 {entry['sha256']}) is neither in "
            f"{dropped.parent} as {dropped.name} nor kept at {kept}: it was removed or moved before it could be kept. "
            "Nothing was published, and the file counts as taken up (dropping it again starts nothing): put it back "
            f"at {dropped} and clear this run's tasks, or send a fresh export for the date."
        )
    _move(dropped.with_name(dropped.stem + CONTROL_SUFFIX), kept.with_name(kept.stem + CONTROL_SUFFIX))
    return Correction(entry["date"], kept, InputFile(entry["name"], entry["size"], entry["sha256"]))


def _move(source: Path, target: Path) -> bool:
    """Move a file, once; False if it is at neither place. Within a volume one rename; across volumes (incoming/
    is often a mount of its own) a copy, made durable and put in place whole, then the original removed."""
    if target.exists():
        # Put in place whole, but the original not yet removed: a copy across volumes cut short.
        if source.is_file() and filecmp.cmp(source, target, shallow=False):
            source.unlink()
        return True
    if not source.exists():
        return False
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        with staged_writer(target, binary=True) as (out, staged), source.open("rb") as handle:
            shutil.copyfileobj(handle, out)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, staged)  # its modification time: which file of its date is newest still holds
        os.replace(staged, target)
        source.unlink()
    return True


def check_landed_as_taken_up(run: RunFolder, sha256: str, kept: Path) -> None:
    """The restatement landed the very file it took up (not one written over it since)."""
    landed = input_files(run)
    if [f.sha256 for f in landed] != [sha256]:
        raise ReportError(
            f"The corrected file for {run.date} changed after it was taken up (SHA-256 {sha256}, landed "
            f"{', '.join(f.sha256 for f in landed)}): nothing was published. To restate the date from the file as "
            f"it is now, move {kept} back into incoming/: it is a correction of its own, which the watcher takes up."
        )
