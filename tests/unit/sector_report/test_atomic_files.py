from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from include.sector_report.atomic_files import atomic_writer, exchange_folders


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


def test_exchanged_folders_swap_their_contents(tmp_path: Path) -> None:
    published, prepared = tmp_path / "runs" / "2024-03-08", tmp_path / "restatements" / "2024-03-08"
    for folder, revision in ((published, "1"), (prepared, "2")):
        folder.mkdir(parents=True)
        (folder / "revision.txt").write_text(revision)
    exchange_folders(prepared, published)
    assert (published / "revision.txt").read_text() == "2"
    assert (prepared / "revision.txt").read_text() == "1"


def test_an_exchange_with_a_missing_folder_moves_nothing(tmp_path: Path) -> None:
    (tmp_path / "published").mkdir()
    with pytest.raises(OSError, match="Could not exchange"):
        exchange_folders(tmp_path / "missing", tmp_path / "published")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published"]
