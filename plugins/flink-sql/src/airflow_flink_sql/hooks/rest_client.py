"""The hook's REST client of a Flink session cluster: its jobs' states, facts and root causes; waiting for a job,
and cancelling it."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_flink_sql.job.errors import root_cause_of_trace

# A job in one of these states may still finish: a retry of the task reconnects to it.
ACTIVE_STATES = frozenset(
    {"INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "FAILING", "CANCELLING", "RECONCILING", "SUSPENDED"}
)
NOT_FOUND = "NOT_FOUND"
# How long a remote job may wait for slots by default: Flink's own slot.request.timeout, and ample for a
# TaskManager that a supervisor brings back (one starts in seconds).
DEFAULT_SLOT_WAIT_SECONDS = 300
# A job with a task in one of these states has its slots: it is not waiting for the cluster.
TASK_STATES_WITH_SLOTS = ("DEPLOYING", "INITIALIZING", "RUNNING")
REST_TIMEOUT_SECONDS = 10
# How often a running job's state is asked for: fast at first for short jobs, then every half second (a
# nightly job takes seconds; two seconds between polls made the remote target measurably slower than local).
POLL_SECONDS = (0.1, 0.5)
# In a task, Airflow's task log takes in what any logger says.
log = logging.getLogger(__name__)


class JobWaitInterrupted(AirflowException):
    """The wait for a remote job was interrupted (the task is being stopped); the job itself runs on."""


class FlinkRestClient:
    """The REST API of the session cluster at ``rest_url`` (which also serves its web UI)."""

    def __init__(self, rest_url: str) -> None:
        self.rest_url = rest_url

    def call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.rest_url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=REST_TIMEOUT_SECONDS) as response:
            body = response.read()
        return json.loads(body) if body else None

    def job_url(self, job_id: str) -> str:
        return f"{self.rest_url}/#/job/completed/{job_id}/overview"

    def overview(self) -> dict[str, Any]:
        """The cluster's ``/overview``: its version, TaskManagers and slots; raises ``OSError`` if unreachable."""
        overview: dict[str, Any] = self.call("/overview")
        return overview

    def job_state(self, job_id: str) -> str:
        """The job's state on the cluster (``RUNNING``, ``FINISHED``, ``FAILED``, ...), or ``NOT_FOUND``."""
        details = self.job_details(job_id)
        return str(details["state"]) if details else NOT_FOUND

    def job_details(self, job_id: str) -> dict[str, Any] | None:
        """The cluster's ``/jobs/<id>`` answer (state, task counts by state, vertices), or None if it has none."""
        try:
            details: dict[str, Any] = self.call(f"/jobs/{job_id}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return details

    def wait_for_job(
        self,
        job_id: str,
        *,
        slot_wait_timeout: float | None = None,
        slot_wait_setting: str = "slot_wait_timeout",
        interrupted: Callable[[], bool] = lambda: False,
    ) -> str:
        """The state the job ended in, once it is no longer active.

        A job none of whose tasks has had slots for ``slot_wait_timeout`` seconds (no TaskManager, or all
        slots taken) is cancelled, and the error says what the cluster had to offer and to raise
        ``slot_wait_setting`` (what sets the limit) if slots come later than that. The wait ends early, the
        job running on, once ``interrupted()`` is true.
        """
        poll = POLL_SECONDS[0]
        waiting_since = time.monotonic()
        while True:
            if interrupted():
                raise JobWaitInterrupted(f"Stopped waiting for Flink job {job_id}")
            details = self.job_details(job_id)
            state = str(details["state"]) if details else NOT_FOUND
            if state not in ACTIVE_STATES:
                return state
            counts = (details or {}).get("status-counts") or {}
            if any(counts.get(task_state) for task_state in TASK_STATES_WITH_SLOTS):
                waiting_since = time.monotonic()
            elif slot_wait_timeout is not None and time.monotonic() - waiting_since > slot_wait_timeout:
                offered = self.slots_offered()
                self.cancel_job(job_id)
                raise AirflowException(
                    f"Flink job {job_id} was cancelled on the cluster at {self.rest_url}: no TaskManager offered "
                    f"it slots in {slot_wait_timeout:g} s ({offered}). Start TaskManagers or free slots, then "
                    f"clear the task; if the cluster needs longer to offer slots, raise {slot_wait_setting}."
                )
            time.sleep(poll)
            poll = min(poll * 1.5, POLL_SECONDS[1])

    def slots_offered(self) -> str:
        """What the cluster has for a job, in words: its TaskManagers and free slots."""
        try:
            overview = self.overview()
        except (urllib.error.URLError, OSError) as exc:
            return f"the cluster did not say: {getattr(exc, 'reason', exc)}"
        return f"the cluster has {capacity(overview)}"

    def job_root_cause(self, job_id: str, state: str) -> str:
        """Why the job ended ``state``: the root cause of its latest failure, as the cluster reports it."""
        if state == NOT_FOUND:
            return f"job {job_id} is not known to the cluster (it never started, or the cluster restarted)"
        history = self.call(f"/jobs/{job_id}/exceptions").get("exceptionHistory") or {}
        entries = history.get("entries") or []
        return root_cause_of_trace(entries[0]["stacktrace"]) if entries else f"the job ended {state}"

    def cancel_job(self, job_id: str) -> None:
        log.warning("Cancelling Flink job %s", job_id)
        try:
            self.call(f"/jobs/{job_id}?mode=cancel", method="PATCH")
        except (urllib.error.URLError, OSError) as exc:
            log.warning("Could not cancel Flink job %s: %s", job_id, exc)

    def job_facts(self, job_id: str) -> dict[str, Any]:
        """A finished job's runtime and the records in and out of each vertex, as the cluster reports them."""
        details = self.call(f"/jobs/{job_id}")
        vertices = [
            {
                "name": vertex["name"],
                "read_records": vertex["metrics"]["read-records"],
                "write_records": vertex["metrics"]["write-records"],
                "duration_ms": vertex["duration"],
            }
            for vertex in details["vertices"]
        ]
        return {
            "net_runtime_ms": details["duration"],
            "job_url": self.job_url(job_id),
            "records_read": sum(v["read_records"] for v in vertices if v["name"].startswith("Source:")),
            "vertices": vertices,
        }


def capacity(overview: dict[str, Any]) -> str:
    """A cluster's ``/overview`` as its capacity, in words."""
    return (
        f"{overview.get('taskmanagers', 0)} TaskManager(s), "
        f"{overview.get('slots-available', 0)} of {overview.get('slots-total', 0)} slots free"
    )
