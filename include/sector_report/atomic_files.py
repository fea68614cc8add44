"""Files that readers see whole or not at all: writing one beside its place and moving it in with
rename(2), which local disks and NFS both do atomically.

Every file a reader (a report page, the next task, the month job) may open while it is being written
goes through here, so that a crash or a failed check leaves the old file or none, never a part.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Literal, overload


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# mkstemp creates files readable by their owner only; a published file gets the usual mode, so that
# other users (a Flink cluster's, a web server's) can read it, as with any file this process creates.
FILE_MODE = _file_mode()


# Text by default, bytes with binary=True: the overloads tell the two handles apart.
@overload
def atomic_writer(
    path: Path, newline: str | None = None, *, binary: Literal[False] = False
) -> AbstractContextManager[IO[str]]: ...
@overload
def atomic_writer(
    path: Path, newline: str | None = None, *, binary: Literal[True]
) -> AbstractContextManager[IO[bytes]]: ...
@overload
def atomic_writer(
    path: Path, newline: str | None = None, *, binary: bool = False
) -> AbstractContextManager[IO[Any]]: ...
@contextmanager
def atomic_writer(path: Path, newline: str | None = None, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that readers see the old file or the whole new one, never a part."""
    with staged_writer(path, newline, binary=binary) as (handle, staged):
        yield handle
    os.replace(staged, path)


@overload
def staged_writer(
    path: Path, newline: str | None = None, *, binary: Literal[False] = False
) -> AbstractContextManager[tuple[IO[str], Path]]: ...
@overload
def staged_writer(
    path: Path, newline: str | None = None, *, binary: Literal[True]
) -> AbstractContextManager[tuple[IO[bytes], Path]]: ...
@overload
def staged_writer(
    path: Path, newline: str | None = None, *, binary: bool = False
) -> AbstractContextManager[tuple[IO[Any], Path]]: ...
@contextmanager
def staged_writer(path: Path, newline: str | None = None, *, binary: bool = False) -> Iterator[tuple[IO[Any], Path]]:
    """A temporary file beside ``path``, complete once the block ends; the caller moves it into place
    (``os.replace``) when it chooses, or removes it. On an error it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle, Path(tmp_name)
    except BaseException:
        os.unlink(tmp_name)
        raise
