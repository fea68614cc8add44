"""Where the package's folders are: the data folder from SECTOR_REPORT_DATA_DIR, else the project's data/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from include.sector_report import paths, settings
from tests.support import PROJECT_ROOT


def data_root_with(value: str | None) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "SECTOR_REPORT_DATA_DIR"}
    if value is not None:
        environ["SECTOR_REPORT_DATA_DIR"] = value
    probe = "from include.sector_report.paths import DATA_ROOT; print(DATA_ROOT)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_without_a_data_folder_set_it_is_the_projects_data_folder(value: str | None) -> None:
    assert data_root_with(value) == str(PROJECT_ROOT / "data")


def test_the_data_folder_set_is_the_data_folder(tmp_path: Path) -> None:
    assert data_root_with(str(tmp_path)) == str(tmp_path)


def test_the_settings_folders_are_these() -> None:
    assert (settings.PROJECT_ROOT, settings.INCLUDE_DIR, settings.DATA_ROOT) == (
        paths.PROJECT_ROOT,
        paths.INCLUDE_DIR,
        paths.DATA_ROOT,
    )
    assert paths.INCLUDE_DIR == PROJECT_ROOT / "include"
