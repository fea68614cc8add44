"""The class-data archive's files: named per installation, published whole, stale ones removed.

The JVM side (written by a first run, used by the next) runs for real in
tests/integration/operators/test_flink_sql.py; these check the file handling around it, without a JVM.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from airflow_flink_sql.job.class_data import STALE_ARCHIVE_DAYS, ClassDataArchive


def test_a_published_archive_replaces_only_archives_nobody_used_for_a_while(tmp_path: Path) -> None:
    long_ago = time.time() - (STALE_ARCHIVE_DAYS + 1) * 86400
    stale = tmp_path / "pyflink-2.2.0-000000000000.jsa"
    another_venv = tmp_path / "pyflink-2.3.0-111111111111.jsa"
    for path in (stale, another_venv):
        path.write_bytes(b"archive")
    os.utime(stale, (long_ago, long_ago))

    archive = ClassDataArchive(str(tmp_path))
    assert archive.creating
    [write_option, _] = archive.jvm_options()
    partial = Path(write_option.split("=", 1)[1])
    partial.write_bytes(b"what the JVM wrote at exit")
    archive.publish()

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([another_venv.name, Path(archive.path).name])
    assert Path(archive.path).read_bytes() == b"what the JVM wrote at exit"
    assert not ClassDataArchive(str(tmp_path)).creating  # the next run uses it


def test_a_partial_archive_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    dead_pid = 2**22 + 12345  # above any pid Linux hands out (at most 2**22)
    leftover = tmp_path / f"pyflink-2.3.0-111111111111.jsa.{dead_pid}.partial"
    leftover.write_bytes(b"half")
    archive = ClassDataArchive(str(tmp_path))
    [write_option, _] = archive.jvm_options()
    Path(write_option.split("=", 1)[1]).write_bytes(b"what the JVM wrote at exit")
    archive.publish()
    assert not leftover.exists()
