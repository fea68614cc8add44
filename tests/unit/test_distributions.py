"""Each Airflow distribution in plugins/ stands alone: a copy of its folder, away from the project, passes its unit
tests (how, and why on this virtualenv rather than a fresh one with the wheel: tests/support/distributions.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.distributions import DISTRIBUTIONS, UnitRuns, alone


def test_every_distribution_is_run() -> None:
    assert [folder.name for folder in DISTRIBUTIONS] == ["flink-sql", "report-kit"]


def test_a_copy_imports_its_own_package_not_the_installed_one(distribution_unit_runs: UnitRuns) -> None:
    for copy in distribution_unit_runs.copies:
        [package] = [folder.name for folder in (copy / "src").iterdir() if (folder / "__init__.py").is_file()]
        probe = f"import {package}; print({package}.__file__)"
        imported = subprocess.run(
            [sys.executable, "-c", probe], cwd=copy, env=alone(copy), capture_output=True, text=True, check=True
        )
        assert Path(imported.stdout.strip()).is_relative_to(copy / "src"), imported.stdout


def test_a_copy_passes_its_unit_tests_alone(distribution_unit_runs: UnitRuns) -> None:
    outcomes = distribution_unit_runs.outcomes()
    assert {name: output[-3000:] for name, (returncode, output) in outcomes.items() if returncode != 0} == {}
    for name, (_, output) in outcomes.items():
        assert " passed" in output.strip().splitlines()[-1], f"{name}: {output[-500:]}"


def test_a_copy_collects_its_integration_tests_alone(distribution_unit_runs: UnitRuns) -> None:
    """flink-sql's integration tests import and find their fixtures (flink_cluster, airflow_db) in the copy; they
    are deselected there, as they start a JVM."""
    outcomes = distribution_unit_runs.outcomes()
    _, output = outcomes["flink-sql"]
    assert " deselected" in output.strip().splitlines()[-1], output[-500:]
