from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from include.sector_report.atomic_files import atomic_writer


def test_published_files_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    with atomic_writer(tmp_path / "report.html") as out:
        out.write("<p>ok</p>")
    # Under the usual umask 022 that is 0644; mkstemp alone gives 0600, unreadable to a Flink cluster's user.
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    def write_then_fail() -> None:
        with atomic_writer(tmp_path / "summary.json") as out:
            out.write("{")
            raise RuntimeError("validation failed")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert list(tmp_path.iterdir()) == []
