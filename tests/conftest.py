"""Test-wide setup: a throwaway Airflow home and data folder, set before anything imports Airflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_DAGS_FOLDER = PROJECT_ROOT / "tests" / "dag_fixtures"
_SCRATCH = Path(tempfile.mkdtemp(prefix="sector-report-tests-"))
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

# Airflow reads its configuration when first imported, and the DAG reads its data folder
# when parsed, so both must be pointed away from the developer's own folders right now.
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SCRATCH / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # A second bundle holds test-only DAGs, so dag.test() can run them through Airflow's task runner.
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": "dags-folder",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {},
                },
                {
                    "name": "test-dags",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(PROJECT_ROOT / "tests" / "dag_fixtures")},
                },
            ]
        ),
        "SECTOR_REPORT_DATA_DIR": str(_SCRATCH / "data"),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(_SCRATCH / "data"),
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


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory):
    """A real Flink standalone session cluster from the PyFlink wheel, shared by the tests that need one."""
    from tools.flink_session_cluster import SessionCluster
    from tools.processes import alive

    cluster = SessionCluster(tmp_path_factory.mktemp("flink-cluster"))
    cluster.start()
    yield cluster
    pids = cluster.pids()
    cluster.stop()
    assert not any(alive(pid) for pid in pids), "the session cluster's JVMs outlived it"
