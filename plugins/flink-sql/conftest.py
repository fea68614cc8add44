"""What this distribution's tests need, set before they import Airflow (pytest configures before it collects).
Here, not in tests/: each distribution's test folder is a package named ``tests``, so two tests/conftest.py would
be imported as one module.

Run alone (pytest's rootdir is this distribution, whose pyproject.toml configures it): a throwaway Airflow home,
the integration tests' DAGs as a DAG bundle, and tests/ on the ``PYTHONPATH`` of child processes, which parse them
(they import ``flink_sql_jobs``); for the integration tests that ask for them, a migrated metadata database there
(``airflow_db``) and a Flink session cluster (``flink_cluster``, this distribution's own ``session_cluster``). Run
with the project's tests, the project's conftest.py sets up the same and serves both fixtures: these are defined
only when the tests run alone, so one run never has two of either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_flink_sql.session_cluster import SessionCluster

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
        self.migration: subprocess.Popen[str] | None = None

    # Last: after pytest's own deselection (-m, -k), so only a test that will run starts it.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """The database's migration (seconds), started once a collected test is seen to need it: it runs beside the
        tests that need none."""
        if any("airflow_db" in getattr(item, "fixturenames", ()) for item in items):
            command = [sys.executable, "-m", "airflow", "db", "migrate"]
            self.migration = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @pytest.fixture(scope="session")
    def airflow_db(self) -> None:
        """A migrated SQLite metadata database in the throwaway Airflow home."""
        assert self.migration is not None
        output, _ = self.migration.communicate()
        assert self.migration.returncode == 0, output[-3000:]

    @pytest.fixture(scope="session")
    def flink_cluster(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionCluster]:
        """A real Flink standalone session cluster from the PyFlink wheel, shared by the tests that need one; its
        stop fails if its JVMs outlive it."""
        cluster = SessionCluster(tmp_path_factory.mktemp("flink-cluster"))
        cluster.start()
        yield cluster
        cluster.stop()

    def pytest_unconfigure(self) -> None:
        if self.migration is not None and self.migration.poll() is None:  # its tests were not reached
            self.migration.kill()
            self.migration.communicate()
        shutil.rmtree(self.scratch, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flink: starts a JVM: a Flink MiniCluster in a job's process, or a cluster")
    if config.rootpath.resolve() == DISTRIBUTION:
        config.pluginmanager.register(Alone(), "airflow-flink-sql-alone")
