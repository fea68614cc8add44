"""make test's steps and its table, on a real make and real pytest runs in a throwaway project."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.suite import Counts, StepResult, junit_counts, run_step, table

MAKEFILE = """\
PYTEST := {python} -m pytest -q -p no:cacheprovider $(if $(JUNIT),--junitxml=$(JUNIT))
lint:
\t@true
test-unit:
\t$(PYTEST) test_some.py
test-integration:
\t@exit 3
"""
TESTS = """\
import pytest

def test_passes():
    pass

def test_fails():
    assert False

@pytest.mark.skip(reason="not here")
def test_skipped():
    pass
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(MAKEFILE.format(python=sys.executable))
    (tmp_path / "test_some.py").write_text(TESTS)
    return tmp_path


def test_a_tier_is_counted_from_its_junit_report_and_fails_with_its_tests(tmp_path: Path) -> None:
    result = run_step("unit", project(tmp_path))
    assert result.status == "failed"
    assert result.counts == Counts(passed=1, failed=1, skipped=1)
    assert result.seconds is not None
    assert result.seconds > 0


def test_a_step_without_tests_has_no_counts_and_a_missing_report_counts_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    lint = run_step("lint", root)
    assert (lint.status, lint.counts) == ("passed", None)
    failed = run_step("integration", root)
    assert (failed.status, failed.counts) == ("failed", None)
    assert junit_counts(tmp_path / "nowhere.xml") is None


def test_the_table_has_a_line_per_step_the_whole_and_the_suites_closing_count() -> None:
    results = [
        StepResult("lint", "passed", 12.0),
        StepResult("unit", "passed", 40.0, Counts(295, 0, 1)),
        StepResult("system", "failed", 600.0, Counts(20, 2, 0)),
        StepResult("compose", "not run"),
    ]
    lines = table(results).splitlines()
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["lint", "passed"],
        ["unit", "passed"],
        ["system", "failed"],
        ["compose", "not"],
    ]
    assert lines[2].split()[2:] == ["295", "0", "1", "40", "s"]
    assert lines[3].split()[-2:] == ["10.0", "min"]
    assert lines[-2].split() == ["all", "315", "2", "1", "10.9", "min"]
    assert lines[-1] == "suite: 315 passed, 2 failed, 1 skipped"
