"""Waiting for a named condition, with a deadline: how the session cluster (session_cluster.py) waits for Flink, and
the one way the project that ships this distribution waits too (its tools, tests and benchmarks import it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """A condition not met in time. An AssertionError, so that a test that waits fails as its other expectations
    do; a caller that handles a timeout catches this, and no real assertion failure with it."""


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
    ``not_yet`` counts as "not yet", and asked once more at the deadline. Raises :class:`WaitTimedOut` naming ``what``
    it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        last_look = time.monotonic() >= deadline
        try:
            if found := condition():
                return found
        except not_yet:
            pass
        if last_look:
            raise WaitTimedOut(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(min(every, max(deadline - time.monotonic(), 0)))
