"""What this distribution's tests need, set before they import Airflow (pytest configures before it collects).
Here, not in tests/: each distribution's test folder is a package named ``tests``, so two tests/conftest.py would
be imported as one module.

Run alone (pytest's rootdir is this distribution, whose pyproject.toml configures it): a throwaway Airflow home,
the integration tests' DAGs as a DAG bundle, and tests/ on the ``PYTHONPATH`` of child processes, which parse them
(they import ``flink_sql_jobs``). Run with the project's tests, the project's conftest.py sets up the same.

The integration tests run inside the project: its conftest.py starts their Flink session cluster and migrates
their database, and they use its process helpers (tools/) and ``wait_for``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from flink_sql_jobs import TEST_DAGS_FOLDER, TESTS_FOLDER

DISTRIBUTION = Path(__file__).resolve().parent
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


class Alone:
    """What the project's conftest.py sets up when the project runs these tests."""

    def __init__(self) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="airflow-flink-sql-tests-"))
        bundles = [
            {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
            {"name": "test-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(TEST_DAGS_FOLDER)}},
        ]
        os.environ.update(
            {
                "AIRFLOW_HOME": str(self.scratch / "airflow"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_FOLDER), os.environ.get("PYTHONPATH")])),
            }
        )

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flink: starts a JVM: a Flink MiniCluster in a job's process, or a cluster")
    if config.rootpath.resolve() == DISTRIBUTION:
        config.pluginmanager.register(Alone(), "airflow-flink-sql-alone")
