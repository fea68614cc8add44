"""Waiting for a named condition, with a deadline: how the session cluster (session_cluster.py) waits for Flink, and
the one way the project that ships this distribution waits too (its tools, tests and benchmarks import it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
# How long a condition may take when no timeout is given (a test's): far beyond what any takes here.
PATIENCE_SECONDS = 600


def wait_for(
    condition: Callable[[], T | None],
    what: str,
    timeout: float = PATIENCE_SECONDS,
    *,
    every: float = 1,
    not_yet: tuple[type[BaseException], ...] = (),
) -> T:
    """The first truthy value of ``condition()``, asked every ``every`` seconds until ``timeout``; an exception of
    ``not_yet`` counts as "not yet". Fails naming ``what`` it waited for, with an AssertionError: a test that waits
    then fails as its other expectations do."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if found := condition():
                return found
        except not_yet:
            pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
