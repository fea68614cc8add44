"""What readers see: one pointer per date names the revision of it that is published.

    <data>/published/<date>.json   the date's last event: {"event": "published", "revision": N, ...},
                                   or {"event": "withdrawn", ...} (its history line, see .revisions)

Publishing or withdrawing a date is replacing its pointer: a file written beside it and moved in
with rename(2) within one directory, which local disks and NFS both do atomically (no renameat2).
Every reader (the reports index, ``latest``, the trends and "change", the month, the report viewer,
the daily Asset event, the mails) asks here, and reads only the published revisions' folders,
which never change: a reader sees a date's revision whole, or the one before it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .atomic_files import staged_writer
from .layout import DataFolder, RevisionFolder


def pointer_event(data: DataFolder, date: str) -> dict[str, Any] | None:
    """The date's last publication event, as its pointer holds it; None if it was never published."""
    try:
        event: dict[str, Any] = json.loads(data.pointer(date).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return event


def published_revision(data: DataFolder, date: str) -> RevisionFolder | None:
    """The revision of ``date`` readers see; None if the date is not published (never, or withdrawn)."""
    event = pointer_event(data, date)
    if event is None or event.get("event", "published") != "published":
        return None
    return data.revision(date, event["revision"])


def is_published(data: DataFolder, date: str) -> bool:
    return published_revision(data, date) is not None


def published_nights(data: DataFolder) -> list[RevisionFolder]:
    """Every date's published revision, oldest date first."""
    if not data.published.is_dir():
        return []
    dates = sorted(p.stem for p in data.published.glob("*.json") if not p.name.startswith("."))
    return [night for date in dates if (night := published_revision(data, date)) is not None]


def published_before(data: DataFolder, date: str, count: int) -> list[RevisionFolder]:
    """The ``count`` latest nights published before ``date``, oldest first."""
    earlier = [night for night in published_nights(data) if night.date < date]
    return earlier[-count:] if count else []


@contextmanager
def pointing(data: DataFolder, date: str, event: dict[str, Any]) -> Iterator[None]:
    """Move the date's pointer to ``event`` (the moment readers see it) for the block; if the block fails, the
    pointer is put back as it was. Call with the index lock held."""
    pointer = data.pointer(date)
    before = pointer.with_name(f".{pointer.name}.before")
    had_one = pointer.is_file()
    if had_one:  # kept aside by a link (no data to write: it cannot fail for a full disk), a copy where links fail
        before.unlink(missing_ok=True)
        try:
            os.link(pointer, before)
        except OSError:
            shutil.copyfile(pointer, before)
    try:
        _replace_durably(pointer, json.dumps(event, ensure_ascii=False, sort_keys=True))
        yield
    except BaseException:
        if had_one:
            os.replace(before, pointer)
        else:
            pointer.unlink(missing_ok=True)
        raise
    finally:
        before.unlink(missing_ok=True)


def _replace_durably(pointer: Path, text: str) -> None:
    """Replace the pointer, on disk before the history line that records it (which is fsynced too): after a power
    loss the history never says less than readers saw."""
    with staged_writer(pointer) as (out, staged):
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(staged, pointer)
    folder = os.open(pointer.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
