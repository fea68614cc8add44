"""When a file dropped in a folder counts as arrived: plain Python (no Airflow), shared by the file-arrival sensor,
its trigger, and whoever else watches a drop folder."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from pathlib import Path


def arrived_file(
    folder: Path, patterns: Sequence[str], *, control_suffix: str, settle_seconds: float, now: float | None = None
) -> Path | None:
    """The newest complete file in ``folder`` whose name matches one of ``patterns`` (case-insensitive).

    A file is complete when ``<stem><control_suffix>`` lies beside it (the sender writes it last),
    or when it has not changed for ``settle_seconds`` (a sender without control files).
    """
    now = time.time() if now is None else now
    complete = []
    for path in folder.iterdir() if folder.is_dir() else ():
        name = path.name.lower()
        if not any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns):
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:  # renamed or removed while we looked
            continue
        if path.is_file() and (
            path.with_name(path.stem + control_suffix).is_file() or now - modified >= settle_seconds
        ):
            complete.append((modified, path.name, path))
    return max(complete)[2] if complete else None
