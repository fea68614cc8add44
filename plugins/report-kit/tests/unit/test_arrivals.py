"""When a dropped file counts as arrived (plain Python: the sensor and its trigger share it)."""

from __future__ import annotations

import os
from pathlib import Path

from airflow_report_kit.arrivals import SETTLE_SECONDS, arrived_file, newest_complete

PATTERNS = ["*2024-03-08*.csv", "*20240308*.csv"]


def drop(folder: Path, name: str, modified: float) -> Path:
    path = folder / name
    path.write_text("x\n")
    os.utime(path, (modified, modified))
    return path


def test_a_file_counts_once_its_control_file_is_beside_it_or_it_has_settled(tmp_path: Path) -> None:
    now = 1_000_000.0
    fresh = drop(tmp_path, "export_2024-03-08.csv", now - 5)
    assert arrived_file(tmp_path, PATTERNS, control_suffix=".ctl.json", settle_seconds=30, now=now) is None
    drop(tmp_path, "export_2024-03-08.ctl.json", now)
    assert arrived_file(tmp_path, PATTERNS, control_suffix=".ctl.json", settle_seconds=30, now=now) == fresh
    (tmp_path / "export_2024-03-08.ctl.json").unlink()
    assert arrived_file(tmp_path, PATTERNS, control_suffix=".ctl.json", settle_seconds=30, now=now + 25) == fresh


def test_only_matching_files_count_case_insensitively_and_the_newest_wins(tmp_path: Path) -> None:
    now = 1_000_000.0
    drop(tmp_path, "export_2024-03-07.csv", now - 100)  # another day
    drop(tmp_path, "export_2024-03-08.csv.tmp", now - 100)  # not a CSV name
    (tmp_path / "folder_20240308.csv").mkdir()  # not a file
    drop(tmp_path, "EXPORT_20240308.CSV", now - 90)
    newest = drop(tmp_path, "resent-2024-03-08.csv", now - 60)
    assert arrived_file(tmp_path, PATTERNS, control_suffix=".ctl.json", settle_seconds=30, now=now) == newest
    assert arrived_file(tmp_path / "missing", PATTERNS, control_suffix=".ctl.json", settle_seconds=0) is None


def test_the_newest_complete_of_given_paths_counts_and_a_vanished_one_is_skipped(tmp_path: Path) -> None:
    now = 1_000_000.0
    old = drop(tmp_path, "a_2024-03-08.csv", now - 100)
    newer = drop(tmp_path, "b_2024-03-08.csv", now - 50)
    writing = drop(tmp_path, "c_2024-03-08.csv", now - 1)
    gone = tmp_path / "d_2024-03-08.csv"
    paths = [old, newer, writing, gone]
    assert newest_complete(paths, control_suffix=".ctl.json", settle_seconds=SETTLE_SECONDS, now=now) == newer
