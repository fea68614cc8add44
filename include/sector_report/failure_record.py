"""A night's last failure, as its failed task said it: what the late alert tells on-call.

Airflow keeps a task's error in its log; the deadline DAG's check, a task of another DAG, reads the
night's last failure from the night's folder instead (``failure.json``, written by the nightly DAG's
failure callback). Preparing the input starts the folder afresh, so a rerun's failure replaces it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from .atomic_files import atomic_writer
from .layout import RunFolder


@dataclass(frozen=True)
class Failure:
    task_id: str
    run_id: str
    error: str
    at: str  # ISO 8601, UTC


def record_failure(run: RunFolder, failure: Failure) -> None:
    with atomic_writer(run.failure_json) as out:
        json.dump(dataclasses.asdict(failure), out, ensure_ascii=False, indent=2)


def last_failure(run: RunFolder) -> Failure | None:
    """The night's last recorded failure, if a task of it failed for good since its input was prepared."""
    try:
        return Failure(**json.loads(run.failure_json.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
