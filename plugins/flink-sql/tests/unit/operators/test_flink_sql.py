"""The operator's remote target without a cluster: which job a try takes up, and what a SIGTERM does to the job.

The hook is a stand-in that keeps the cluster's jobs in a dict; the context is what Airflow's task runner gives
(the task instance's try_number and max_tries, the task's state store). On real Flink:
tests/integration/operators/test_flink_sql.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow_flink_sql.hooks.rest_client import JobWaitInterrupted
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator
from airflow_flink_sql.protocol import JobReport

KEY = PyFlinkSqlOperator.external_id_key


class Cluster:
    """The session cluster's jobs, by id: their states, and the ids cancelled."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.cancelled: list[str] = []

    def job_state(self, job_id: str) -> str:
        return self.jobs.get(job_id, "NOT_FOUND")

    def cancel_job(self, job_id: str) -> None:
        self.cancelled.append(job_id)
        self.jobs[job_id] = "CANCELED"

    def job_url(self, job_id: str) -> str:
        return f"http://flink/#/job/completed/{job_id}/overview"

    def job_facts(self, job_id: str) -> dict[str, Any]:
        return {"net_runtime_ms": 5, "job_url": self.job_url(job_id), "records_read": 3, "vertices": []}


class Hook:
    """The hook on the remote target: submitting starts a RUNNING job; the wait ends it as ``wait`` says."""

    target = "remote"

    def __init__(self, wait: Any = None) -> None:
        self.cluster = Cluster()
        self.interrupted = False
        self.submitted: list[str] = []
        self.waits: list[tuple[float | None, str]] = []
        self.wait = wait or (lambda job_id: self.cluster.jobs.__setitem__(job_id, "FINISHED"))

    def submit(self, sql: str, *, job_id: str, job_name: str) -> JobReport:
        self.submitted.append(job_id)
        self.cluster.jobs[job_id] = "RUNNING"
        return JobReport(job_id=job_id, statements=2, inserts=1)

    def wait_for_job(
        self, job_id: str, *, slot_wait_timeout: float | None = None, slot_wait_setting: str = "slot_wait_timeout"
    ) -> None:
        self.waits.append((slot_wait_timeout, slot_wait_setting))
        self.wait(job_id)

    def interrupt(self) -> None:
        self.interrupted = True


class StateStore:
    def __init__(self, **kept: Any) -> None:
        self.kept = kept

    def get(self, key: str) -> Any:
        return self.kept.get(key)

    def set(self, key: str, value: Any) -> None:
        self.kept[key] = value

    def delete(self, key: str) -> None:
        self.kept.pop(key, None)


@dataclass
class TaskInstance:
    """What the operator asks of Airflow's task instance; ``state`` is what the API server says it is now."""

    try_number: int = 1
    max_tries: int = 2
    state: str = "running"
    dag_id: str = "night"
    task_id: str = "aggregate"
    run_id: str = "manual__2024-03-08"
    map_index: int = -1
    stats_tags: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_task_states(self, **_: Any) -> dict[str, dict[str, str]]:
        return {self.run_id: {self.task_id: self.state}}


def operator_with(hook: Hook, **kwargs: Any) -> PyFlinkSqlOperator:
    operator = PyFlinkSqlOperator(task_id="aggregate", sql="INSERT INTO t SELECT 1", target="remote", **kwargs)
    operator.hook = hook  # the cached_property's value, as execute would make it
    return operator


def run(operator: PyFlinkSqlOperator, ti: TaskInstance, store: StateStore) -> dict[str, Any]:
    return operator.execute({"ti": ti, "task_state_store": store})


def stopped_mid_job(operator: PyFlinkSqlOperator) -> Any:
    """A wait that Airflow's SIGTERM ends: on_kill runs (in the signal handler) and the wait stops, the job on."""

    def wait(job_id: str) -> None:
        operator.on_kill()
        raise JobWaitInterrupted(f"Stopped waiting for Flink job {job_id}")

    return wait


def test_a_job_is_kept_with_the_try_that_submitted_it_until_it_finishes() -> None:
    hook = Hook()
    store = StateStore()
    kept_while_running: list[Any] = []

    def wait(job_id: str) -> None:
        kept_while_running.append(dict(store.kept[KEY]))
        hook.cluster.jobs[job_id] = "FINISHED"

    hook.wait = wait
    result = run(operator_with(hook), TaskInstance(try_number=2, max_tries=4), store)
    [job_id] = hook.submitted
    assert [{k: kept[k] for k in ("job_id", "try_number", "max_tries")} for kept in kept_while_running] == [
        {"job_id": job_id, "try_number": 2, "max_tries": 4}
    ]
    assert result["job_id"] == job_id
    assert not {"try_number", "max_tries"} & result.keys(), "the task's result is the job's facts"
    assert store.kept == {}, "a finished job is forgotten"


def test_a_retry_reconnects_to_the_job_its_earlier_try_left_running() -> None:
    hook = Hook()
    hook.cluster.jobs["j1"] = "RUNNING"
    store = StateStore(**{KEY: {"job_id": "j1", "try_number": 1, "max_tries": 2}})
    result = run(operator_with(hook), TaskInstance(try_number=2, max_tries=2), store)
    assert hook.submitted == [], "no second job"
    assert result["job_id"] == "j1"


def test_a_retry_takes_the_result_of_the_job_that_finished_while_no_try_ran() -> None:
    hook = Hook()
    hook.cluster.jobs["j1"] = "FINISHED"
    store = StateStore(**{KEY: {"job_id": "j1", "try_number": 1, "max_tries": 2}})
    result = run(operator_with(hook), TaskInstance(try_number=2, max_tries=2), store)
    assert hook.submitted == []
    assert result["job_id"] == "j1"


@pytest.mark.parametrize("earlier_state", ["FINISHED", "CANCELED", "FAILED", "NOT_FOUND"])
def test_a_cleared_task_runs_a_new_job_whatever_became_of_the_one_kept_from_before(earlier_state: str) -> None:
    """Clearing made max_tries try_number + retries: 3 after try 1 of a task with two retries."""
    hook = Hook()
    hook.cluster.jobs["j1"] = earlier_state
    store = StateStore(**{KEY: {"job_id": "j1", "try_number": 1, "max_tries": 2}})
    result = run(operator_with(hook), TaskInstance(try_number=2, max_tries=3), store)
    [new] = hook.submitted
    assert result["job_id"] == new != "j1"
    assert hook.cluster.cancelled == []


def test_a_job_kept_from_before_the_clear_that_still_runs_is_cancelled_not_taken_up() -> None:
    """The last try's worker died with its job running: nobody cancelled it. The cleared task's new job must
    not write the sinks beside it."""
    hook = Hook()
    hook.cluster.jobs["j1"] = "RUNNING"
    store = StateStore(**{KEY: {"job_id": "j1", "try_number": 3, "max_tries": 2}})
    result = run(operator_with(hook), TaskInstance(try_number=4, max_tries=5), store)
    assert hook.cluster.cancelled == ["j1"]
    assert result["job_id"] == hook.submitted[0] != "j1"


@pytest.mark.parametrize("kept", [{"job_id": "j1"}, "j1", {"id": "j1", "max_tries": 2}])
def test_a_kept_value_that_is_not_one_of_this_operators_jobs_is_not_taken_up(kept: Any) -> None:
    hook = Hook()
    hook.cluster.jobs["j1"] = "FINISHED"
    store = StateStore(**{KEY: kept})
    result = run(operator_with(hook), TaskInstance(try_number=2, max_tries=2), store)
    assert result["job_id"] == hook.submitted[0] != "j1"


def test_a_sigterm_on_a_try_that_airflow_retries_leaves_the_job_to_the_retry() -> None:
    """A deploy stops the worker on try 1 of 3: the job runs on, and try 2 reconnects to it."""
    hook = Hook()
    operator = operator_with(hook)
    hook.wait = stopped_mid_job(operator)
    store = StateStore()
    with pytest.raises(AirflowException, match=r"the task's next try reconnects to it"):
        run(operator, TaskInstance(try_number=1, max_tries=2), store)
    [job_id] = hook.submitted
    assert hook.cluster.cancelled == []
    assert hook.cluster.jobs[job_id] == "RUNNING"

    retry = operator_with(Hook())
    retry.hook.cluster.jobs[job_id] = "RUNNING"
    assert run(retry, TaskInstance(try_number=2, max_tries=2), store)["job_id"] == job_id
    assert retry.hook.submitted == []


def test_a_sigterm_on_the_last_try_cancels_the_job_before_the_try_ends() -> None:
    hook = Hook()
    operator = operator_with(hook)
    hook.wait = stopped_mid_job(operator)
    with pytest.raises(AirflowException, match=r"on the task's last try \(try 3\): Flink job \w+ was cancelled"):
        run(operator, TaskInstance(try_number=3, max_tries=2), StateStore())
    assert hook.cluster.cancelled == hook.submitted


def test_a_task_without_retries_cancels_its_job_on_sigterm() -> None:
    hook = Hook()
    operator = operator_with(hook)
    hook.wait = stopped_mid_job(operator)
    with pytest.raises(AirflowException, match=r"last try \(try 1\)"):
        run(operator, TaskInstance(try_number=1, max_tries=0), StateStore())
    assert hook.cluster.cancelled == hook.submitted


def test_a_person_who_stops_the_task_cancels_its_job_on_any_try() -> None:
    hook = Hook()
    operator = operator_with(hook)
    hook.wait = stopped_mid_job(operator)
    with pytest.raises(AirflowException, match=r"it is failed now\): Flink job \w+ was cancelled"):
        run(operator, TaskInstance(try_number=1, max_tries=2, state="failed"), StateStore())
    assert hook.cluster.cancelled == hook.submitted


@pytest.mark.parametrize(("limit", "seconds"), [("300", 300.0), (5, 5.0), (0.5, 0.5), (None, None), ("", None)])
def test_the_slot_limit_is_seconds_or_none_and_the_wait_is_told_what_sets_it(
    limit: float | str | None, seconds: float | None
) -> None:
    hook = Hook()
    setting = "the flink_slot_wait param (default SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS)"
    run(operator_with(hook, slot_wait_timeout=limit, slot_wait_setting=setting), TaskInstance(), StateStore())
    assert hook.waits == [(seconds, setting)]


def test_the_wait_names_the_operators_own_argument_by_default() -> None:
    hook = Hook()
    run(operator_with(hook), TaskInstance(), StateStore())
    assert hook.waits == [(300.0, "the task's slot_wait_timeout")]


@pytest.mark.parametrize("limit", [0, "0", -1])
def test_a_slot_limit_of_zero_is_refused_naming_what_sets_it(limit: float | str) -> None:
    hook = Hook()
    operator = operator_with(hook, slot_wait_timeout=limit, slot_wait_setting="SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS")
    with pytest.raises(AirflowFailException, match=r"set SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS to a number of seconds"):
        run(operator, TaskInstance(), StateStore())
    assert hook.submitted == [], "refused before any job is submitted"
