"""Each Airflow distribution in plugins/, alone: a copy of its folder, away from the project, running its unit tests
with nothing of the project's (no tests/, tools/ or include/, no project conftest.py or settings). Its other tests
(flink-sql's integration tests) are collected there too, so each imports and finds its fixtures alone, but
deselected: they start a JVM, which the unit tier does not.

The copy runs on the project's virtualenv (its Python, Airflow and the distributions' test extras), not on a fresh
virtualenv with the distribution's wheel installed: building and installing one takes minutes, too long for the
unit tier. That virtualenv has the distributions installed editable, from another folder; so that the copy's code
is what runs, the copy's src/ comes first on PYTHONPATH (before the editable installs' .pth entries), and
tests/unit/test_distributions.py checks the package is imported from it. PYTHONPATH holds only the copy's src/ and
tests/, the working folder is the copy, and none of this run's environment is passed on (AIRFLOW_HOME, AIRFLOW__*,
SECTOR_REPORT_*): the copy's conftest.py sets up its own, as for anyone who runs ``pytest`` in its folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

DISTRIBUTIONS = sorted(pyproject.parent for pyproject in (PROJECT_ROOT / "plugins").glob("*/pyproject.toml"))
# What a process needs of this one's environment to run at all; nothing that configures Airflow or the project.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def alone(copy: Path) -> dict[str, str]:
    """The environment of a run in ``copy``: this one's basics, and the copy's own folders as PYTHONPATH."""
    basics = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    return {**basics, "PYTHONPATH": os.pathsep.join([str(copy / "src"), str(copy / "tests")])}


def unit_run(copy: Path) -> list[str]:
    """The command that runs a copy's unit tests and, if it has integration tests (they start a JVM: marked flink,
    which only a distribution with them registers), collects and deselects those."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    if (copy / "tests" / "integration").is_dir():
        return [*command, "-m", "not flink", "tests"]
    return [*command, "tests/unit"]


class UnitRuns:
    """Each distribution copied into ``places`` (as a person would check it out: no caches) and its unit tests
    started there, side by side: a pytest run of its own in each copy."""

    def __init__(self, places: Path) -> None:
        ignored = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", "build", "dist")
        self.copies = [shutil.copytree(folder, places / folder.name, ignore=ignored) for folder in DISTRIBUTIONS]
        # Output to a file: a pipe nobody reads until the run ends could fill up and stall it.
        self.runs = {}
        for copy in self.copies:
            with (places / f"{copy.name}.log").open("w") as log:
                self.runs[copy.name] = subprocess.Popen(
                    unit_run(copy), cwd=copy, env=alone(copy), stdout=log, stderr=subprocess.STDOUT
                )
        self.places = places

    def outcomes(self) -> dict[str, tuple[int, str]]:
        """Each run's exit code and output, once it has ended."""
        return {name: (run.wait(), (self.places / f"{name}.log").read_text()) for name, run in self.runs.items()}

    def stop(self) -> None:
        """End the runs still going (their test was deselected, or not reached)."""
        for run in self.runs.values():
            if run.poll() is None:
                run.kill()
                run.wait()
