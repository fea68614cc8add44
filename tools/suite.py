"""`make test`: lint and each tier of tests, in lanes side by side, and one table of each step's count and time.

    python -m tools.suite lint unit integration system-deployment system-rest compose

Each step is its own make target (`make lint`, `make test-unit`, ...), so a tier runs the same way alone. The steps
run in two lanes side by side, each lane's steps in turn (`LANES`).
Each step's output is printed as it comes, each line after its step's name, and kept whole in
`.test-results/<step>.log`. The first step that fails stops the suite, as make would: no step starts after it, and
the steps still running are interrupted (SIGINT, so pytest tears its servers down). The table is printed either
way, the steps stopped or not reached marked so. Its last line is the suite's closing count ("suite: N passed,
N failed, N skipped"), and the exit status is 1 if a step failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from tools.processes import group_members
from tools.waiting import WaitTimedOut, wait_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = ".test-results"  # in the project, git-ignored
# Each step and its make target; the test tiers write their JUnit XML where JUNIT says.
TARGETS = {
    "lint": "lint",
    "unit": "test-unit",
    "integration": "test-integration",
    # The system tier in two halves (`make test-system` runs it whole): test_deployment.py on its shared deployment,
    # and the rest (the plausibility deployment, the report viewer's api-servers, the run order of local runs).
    "system-deployment": "test-system-deployment",
    "system-rest": "test-system-rest",
    "compose": "test-compose",
}
# The lanes that run side by side, each its steps in turn: two, for two cores, with about half the work each. Measured
# from fresh clones on this 2-core machine (docs/development.md, "Tests by tier"): the system tier whole in one lane
# took 22.8 min while lint, unit, integration and compose ended after 17.0 in the other; in three lanes the machine
# had no idle core left and every step slowed (integration 7.8 -> 14.6 min): 21.4 min; test_deployment.py and
# compose in one lane (19.8 min) and lint, unit, integration and the rest of the system tier in the other (23.2 min):
# 23.2. So lint and unit (first, to fail fast) go with test_deployment.py and compose, about 21.5 min of work in each.
# Every tier starts its own servers on free ports, in its own folders.
LANES: tuple[tuple[str, ...], ...] = (
    ("lint", "unit", "system-deployment", "compose"),
    ("integration", "system-rest"),
)
# How long an interrupted step has to tear its servers down before its process group is killed.
TEARDOWN_SECONDS = 120


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
    status: str  # "passed", "failed", "stopped" (interrupted) or "not run"
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


class Suite:
    """The steps of one `make test`, run lane by lane; ``out`` receives every step's output, a line at a time."""

    def __init__(self, project: Path = PROJECT_ROOT, out: TextIO = sys.stdout) -> None:
        self.project = project
        self.out = out
        self.stopping = threading.Event()  # set by the first failure, or by an interrupt of the suite
        self._printing = threading.Lock()

    def run(self, lanes: Sequence[Sequence[str]]) -> list[StepResult]:
        """Each lane's steps in turn, the lanes side by side; the results in the lanes' order."""
        results: dict[str, StepResult] = {}
        lanes_done = [threading.Event() for _ in lanes]
        for lane, done in zip(lanes, lanes_done, strict=True):
            threading.Thread(target=self._run_lane, args=(lane, results, done)).start()
        try:
            _wait_all(lanes_done)
        except KeyboardInterrupt:
            self.stopping.set()
            _wait_all(lanes_done)
        return [results[step] for lane in lanes for step in lane]

    def _run_lane(self, lane: Sequence[str], results: dict[str, StepResult], done: threading.Event) -> None:
        try:
            for step in lane:
                results[step] = StepResult(step, "not run") if self.stopping.is_set() else self.run_step(step)
                if results[step].status == "failed":
                    self.stopping.set()
        finally:
            done.set()

    def run_step(self, step: str) -> StepResult:
        """`make <step's target>`, timed, with its tests' counts; interrupted if the suite stops meanwhile."""
        results = self.project / RESULTS
        results.mkdir(exist_ok=True)
        report = results / f"{step}.xml"
        report.unlink(missing_ok=True)
        started = time.monotonic()
        with (results / f"{step}.log").open("w", encoding="utf-8") as log:
            make = subprocess.Popen(
                ["make", "--no-print-directory", TARGETS[step], f"JUNIT={report}"],
                cwd=self.project,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own group: an interrupt reaches make, pytest and what they started
            )
            pump = threading.Thread(target=self._pump, args=(step, make, log))
            pump.start()
            interrupted = self._wait(make)
            pump.join()
        seconds = time.monotonic() - started
        status = "stopped" if interrupted else "passed" if make.returncode == 0 else "failed"
        return StepResult(step, status, seconds, junit_counts(report))

    def _pump(self, step: str, make: subprocess.Popen[str], log: TextIO) -> None:
        assert make.stdout is not None
        for line in make.stdout:
            log.write(line)
            with self._printing:
                self.out.write(f"{step:<17} | {line}")
                self.out.flush()

    def _wait(self, make: subprocess.Popen[str]) -> bool:
        """Wait for the step to end; True if it was interrupted because the suite stops."""
        while make.poll() is None:
            if self.stopping.wait(timeout=0.5) and make.poll() is None:
                interrupt(make.pid)
                make.wait()
                return True
        return False


def _wait_all(events: Sequence[threading.Event]) -> None:
    # Events, not Thread.join: a join that an interrupt cuts short can take the thread for ended (Python 3.11).
    for event in events:
        while not event.wait(timeout=0.5):
            pass


def interrupt(group: int) -> None:
    """SIGINT to a step's process group (pytest tears its servers down), then SIGKILL to whatever outlives
    ``TEARDOWN_SECONDS``."""
    os.killpg(group, signal.SIGINT)
    try:
        wait_for(lambda: not group_members(group), "the interrupted step to end", timeout=TEARDOWN_SECONDS)
    except WaitTimedOut:
        os.killpg(group, signal.SIGKILL)


def format_duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


ROW = "{:<18} {:<8} {:>7} {:>7} {:>8} {:>9}"


def table(results: list[StepResult], wall: float) -> str:
    """One line per step (count and wall time), the whole (its wall time: the lanes ran side by side), and the
    closing count."""
    lines = [ROW.format("step", "status", "passed", "failed", "skipped", "time")]
    for result in results:
        counts = [result.counts.passed, result.counts.failed, result.counts.skipped] if result.counts else [""] * 3
        took = format_duration(result.seconds) if result.seconds is not None else ""
        lines.append(ROW.format(result.step, result.status, *counts, took))
    total = sum((r.counts for r in results if r.counts), Counts())
    lines.append(ROW.format("all", "", total.passed, total.failed, total.skipped, format_duration(wall)))
    lines.append(f"suite: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return "\n".join(lines)


def lanes_of(steps: Sequence[str]) -> list[list[str]]:
    """``LANES`` with only the steps asked for, each lane in its own order; empty lanes left out."""
    lanes = [[step for step in lane if step in steps] for lane in LANES]
    return [lane for lane in lanes if lane]


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # CI's SIGTERM: stop the steps as Ctrl-C does


def main(argv: list[str] | None = None, project: Path = PROJECT_ROOT) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("steps", nargs="+", choices=list(TARGETS))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    # Handled here, so SIGINT is back to its default in the steps (exec resets handled signals, not ignored ones):
    # started in the background by a shell, the suite inherits SIGINT ignored, and its steps would too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    suite = Suite(project)
    started = time.monotonic()
    results = suite.run(lanes_of(args.steps))
    print("\n" + table(results, time.monotonic() - started), flush=True)
    return 0 if all(result.status == "passed" for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
