"""What this distribution's tests need, set before they import Airflow (pytest configures before it collects).
Here, not in tests/: each distribution's test folder is a package named ``tests``, so two tests/conftest.py would
be imported as one module.

Run alone (pytest's rootdir is this distribution, whose pyproject.toml configures it): a throwaway Airflow home,
the report viewer's root in it, and a migrated metadata database there for the tests that ask for one
(``airflow_db``). Run with the project's tests, the project's conftest.py sets up all three.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DISTRIBUTION = Path(__file__).resolve().parent


class Alone:
    """What the project's conftest.py sets up when the project runs these tests."""

    def __init__(self) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="airflow-report-kit-tests-"))
        os.environ.update(
            {
                "AIRFLOW_HOME": str(self.scratch / "airflow"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__REPORT_VIEWER__ROOT": str(self.scratch / "reports"),
                "AIRFLOW_REPORT_KIT_CACHE_DIR": str(self.scratch / "calendars"),
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

    def pytest_unconfigure(self) -> None:
        if self.migration is not None and self.migration.poll() is None:  # its tests were not reached
            self.migration.kill()
            self.migration.communicate()
        shutil.rmtree(self.scratch, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if config.rootpath.resolve() == DISTRIBUTION:
        config.pluginmanager.register(Alone(), "airflow-report-kit-alone")
