"""`make test`: lint, then each tier of tests in turn, cheapest first, and one table of each tier's count and time.

    python -m tools.suite lint unit integration system compose

Each step is its own make target (`make lint`, `make test-unit`, ...), so a tier runs the same way alone. The
steps stop at the first that fails, as make would; the table is printed either way, the steps not reached marked
so. Its last line is the suite's closing count ("suite: N passed, N failed, N skipped"), and the exit status is
the failed step's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = ".test-results"  # in the project, git-ignored
# Each step and its make target; the test tiers write their JUnit XML where JUNIT says.
TARGETS = {
    "lint": "lint",
    "unit": "test-unit",
    "integration": "test-integration",
    "system": "test-system",
    "compose": "test-compose",
}


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)


@dataclass(frozen=True)
class StepResult:
    step: str
    status: str  # "passed", "failed" or "not run"
    seconds: float | None = None
    counts: Counts | None = None  # None: the step runs no tests (lint), or wrote no report


def junit_counts(report: Path) -> Counts | None:
    """The counts of pytest's JUnit XML report, or None if there is none (the tier failed before writing it)."""
    if not report.is_file():
        return None
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = Counts()
    for suite in suites:
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        total += Counts(tests - failed - skipped, failed, skipped)
    return total


def run_step(step: str, project: Path = PROJECT_ROOT) -> StepResult:
    """`make <step's target>` in ``project``, timed, with its tests' counts."""
    report = project / RESULTS / f"{step}.xml"
    report.parent.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", TARGETS[step], f"JUNIT={report}"], cwd=project)
    seconds = time.monotonic() - started
    return StepResult(step, "passed" if done.returncode == 0 else "failed", seconds, junit_counts(report))


def format_duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


ROW = "{:<12} {:<8} {:>7} {:>7} {:>8} {:>9}"


def table(results: list[StepResult]) -> str:
    """One line per step (count and wall time), the whole, and the closing count."""
    lines = [ROW.format("step", "status", "passed", "failed", "skipped", "time")]
    for result in results:
        counts = [result.counts.passed, result.counts.failed, result.counts.skipped] if result.counts else [""] * 3
        took = format_duration(result.seconds) if result.seconds is not None else ""
        lines.append(ROW.format(result.step, result.status, *counts, took))
    total = sum((r.counts for r in results if r.counts), Counts())
    wall = sum(r.seconds for r in results if r.seconds is not None)
    lines.append(ROW.format("all", "", total.passed, total.failed, total.skipped, format_duration(wall)))
    lines.append(f"suite: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("steps", nargs="+", choices=list(TARGETS))
    args = parser.parse_args(argv)
    results: list[StepResult] = []
    for step in args.steps:
        if results and results[-1].status == "failed":
            results.append(StepResult(step, "not run"))
            continue
        results.append(run_step(step))
    print("\n" + table(results), flush=True)
    return 1 if any(result.status == "failed" for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
