"""When a file dropped in a folder counts as arrived: plain Python (no Airflow), shared by the file-arrival sensor,
its trigger, and whoever else watches a drop folder."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

# Without a control file, a file is complete once unchanged this long (a sender still writing it writes more often).
SETTLE_SECONDS = 30.0


def arrived_file(
    folder: Path, patterns: Sequence[str], *, control_suffix: str, settle_seconds: float, now: float | None = None
) -> Path | None:
    """The newest complete file in ``folder`` whose name matches one of ``patterns`` (case-insensitive)."""
    listing = folder.iterdir() if folder.is_dir() else ()
    matching = [path for path in listing if any(fnmatch.fnmatchcase(path.name.lower(), p.lower()) for p in patterns)]
    return newest_complete(matching, control_suffix=control_suffix, settle_seconds=settle_seconds, now=now)


def newest_complete(
    paths: Iterable[Path], *, control_suffix: str, settle_seconds: float, now: float | None = None
) -> Path | None:
    """The newest of ``paths`` that is a complete file.

    A file is complete when ``<stem><control_suffix>`` lies beside it (the sender writes it last),
    or when it has not changed for ``settle_seconds`` (a sender without control files).
    """
    now = time.time() if now is None else now
    complete = []
    for path in paths:
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:  # renamed or removed while we looked
            continue
        if path.is_file() and (
            path.with_name(path.stem + control_suffix).is_file() or now - modified >= settle_seconds
        ):
            complete.append((modified, path.name, path))
    return max(complete)[2] if complete else None
