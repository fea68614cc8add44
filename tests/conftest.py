"""Test-wide setup: a throwaway Airflow home and data folder, set before anything imports Airflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SCRATCH = Path(tempfile.mkdtemp(prefix="sector-report-tests-"))

# Airflow reads its configuration when first imported, and the DAG reads its data folder
# when parsed, so both must be pointed away from the developer's own folders right now.
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SCRATCH / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "SECTOR_REPORT_DATA_DIR": str(_SCRATCH / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def data_root() -> Path:
    return Path(os.environ["SECTOR_REPORT_DATA_DIR"])


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata database in the throwaway Airflow home."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
