"""What the Flink job's child process tells the hook: one JSON file in the hook's working folder.

The child's stdout and stderr belong to Flink and the JVM (they stream into the task log); its
result, or its failure, is ``result.json``, written once, whole (written aside, then renamed).
Shared by the hook (Airflow side) and the job (PyFlink side), so it imports neither.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Literal

RESULT_FILE = "result.json"

# "sql": Flink rejected a statement; "job": the job could not be submitted or failed while it ran.
FailureKind = Literal["sql", "job"]


@dataclass(frozen=True)
class JobFailure:
    kind: FailureKind
    message: str  # Flink's root cause, e.g. "java.io.FileNotFoundException: File /x does not exist."
    statement_index: int | None = None
    statement: str | None = None  # the rejected statement's first line

    @property
    def exception_class(self) -> str:
        """The Java exception class of the root cause, as the message starts with it."""
        return self.message.split(":", 1)[0].strip()


@dataclass(frozen=True)
class JobReport:
    """The child's one answer: what ran, and either the job's facts or its failure."""

    statements: int = 0
    inserts: int = 0
    job_id: str | None = None
    # Local and attached: the job ran to its end here. Detached (remote): it was submitted and runs on.
    finished: bool = False
    net_runtime_ms: int | None = None
    class_data_archive: str | None = None  # "written" or "used"
    failure: JobFailure | None = None

    def write(self, folder: str) -> None:
        path = os.path.join(folder, RESULT_FILE)
        with open(f"{path}.partial", "w", encoding="utf-8") as out:
            json.dump(asdict(self), out)
        os.replace(f"{path}.partial", path)

    @classmethod
    def read(cls, folder: str) -> JobReport | None:
        """The child's report, or None if it wrote none (it was killed, or died before it could)."""
        try:
            with open(os.path.join(folder, RESULT_FILE), encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        failure = data.pop("failure")
        return cls(**data, failure=JobFailure(**failure) if failure else None)
