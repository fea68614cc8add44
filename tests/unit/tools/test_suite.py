"""make test's steps and its table, on a real make and real pytest runs in a throwaway project."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.processes import alive
from tools.suite import LANES, TARGETS, Counts, StepResult, Suite, junit_counts, lanes_of, table

MAKEFILE = """\
PYTEST := {python} -m pytest -q -p no:cacheprovider $(if $(JUNIT),--junitxml=$(JUNIT))
lint:
\t@true
test-unit:
\t$(PYTEST) test_some.py
test-integration:
\t@sleep 0.3; exit 3
test-system-deployment:
\t@echo $$$$ > system.pid; echo waiting; exec sleep 60
test-compose:
\t@true
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
    out = io.StringIO()
    result = Suite(project(tmp_path), out).run_step("unit")
    assert result.status == "failed"
    assert result.counts == Counts(passed=1, failed=1, skipped=1)
    assert result.seconds is not None
    assert result.seconds > 0
    log = (tmp_path / ".test-results" / "unit.log").read_text()
    assert "1 failed, 1 passed, 1 skipped" in log
    lines = out.getvalue().splitlines()
    assert all(line.startswith("unit              | ") for line in lines), "each line names its step"


def test_a_step_without_tests_has_no_counts_and_a_missing_report_counts_nothing(tmp_path: Path) -> None:
    suite = Suite(project(tmp_path), io.StringIO())
    lint = suite.run_step("lint")
    assert (lint.status, lint.counts) == ("passed", None)
    failed = suite.run_step("integration")
    assert (failed.status, failed.counts) == ("failed", None)
    assert junit_counts(tmp_path / "nowhere.xml") is None


def test_the_lanes_run_side_by_side_and_the_first_failure_stops_the_others(tmp_path: Path) -> None:
    started = time.monotonic()
    results = Suite(project(tmp_path), io.StringIO()).run([["system-deployment"], ["lint", "integration", "compose"]])
    assert [(r.step, r.status) for r in results] == [
        ("system-deployment", "stopped"),
        ("lint", "passed"),
        ("integration", "failed"),
        ("compose", "not run"),
    ]
    assert time.monotonic() - started < 30, "the system step was interrupted, not waited for"
    assert "waiting" in (tmp_path / ".test-results" / "system-deployment.log").read_text()


def test_a_sigterm_to_the_suite_stops_its_steps_and_leaves_no_process_behind(tmp_path: Path) -> None:
    """Started as a shell starts a job in the background (SIGINT ignored, and inherited): the steps still hear it."""
    root = project(tmp_path)
    main = f"tools.suite.main(['system-deployment'], pathlib.Path({str(root)!r}))"
    code = f"import sys, pathlib, tools.suite; sys.exit({main})"
    suite = subprocess.Popen(
        ["sh", "-c", 'trap "" INT; exec "$0" -c "$1"', sys.executable, code],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert suite.stdout is not None
    assert suite.stdout.readline() == "system-deployment | waiting\n"
    suite.send_signal(signal.SIGTERM)
    output = suite.stdout.read()
    assert suite.wait(timeout=30) == 1
    assert "system-deployment  stopped" in output
    assert not alive(int((root / "system.pid").read_text())), "the step's sleep is gone with it"


def test_the_system_tiers_halves_run_in_different_lanes_and_every_step_has_one() -> None:
    [deployment_lane] = [lane for lane in LANES if "system-deployment" in lane]
    assert "system-rest" not in deployment_lane
    assert len(LANES) == 2, "two cores"
    assert sorted(step for lane in LANES for step in lane) == sorted(TARGETS)
    assert lanes_of(["unit", "compose"]) == [["unit", "compose"]]


def test_the_table_has_a_line_per_step_the_whole_and_the_suites_closing_count() -> None:
    results = [
        StepResult("lint", "passed", 12.0),
        StepResult("unit", "passed", 40.0, Counts(295, 0, 1)),
        StepResult("system-deployment", "failed", 600.0, Counts(20, 2, 0)),
        StepResult("compose", "not run"),
    ]
    lines = table(results, wall=620.0).splitlines()
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["lint", "passed"],
        ["unit", "passed"],
        ["system-deployment", "failed"],
        ["compose", "not"],
    ]
    assert lines[2].split()[2:] == ["295", "0", "1", "40", "s"]
    assert lines[3].split()[-2:] == ["10.0", "min"]
    assert lines[-2].split() == ["all", "315", "2", "1", "10.3", "min"]
    assert lines[-1] == "suite: 315 passed, 2 failed, 1 skipped"
