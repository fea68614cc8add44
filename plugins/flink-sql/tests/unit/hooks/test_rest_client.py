"""The REST client against a stand-in of a session cluster's REST API (flink_rest_stand_in.py): a local HTTP server
answering as Flink does. The real cluster answers in tests/integration/operators/test_flink_sql.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from airflow_flink_sql.hooks.rest_client import NOT_FOUND, FlinkRestClient, JobWaitInterrupted
from flink_rest_stand_in import StandInCluster, stand_in_cluster


@pytest.fixture
def cluster() -> Iterator[StandInCluster]:
    with stand_in_cluster() as server:
        yield server


def test_a_job_the_cluster_does_not_know_is_not_found_and_says_why(cluster: StandInCluster) -> None:
    client = FlinkRestClient(cluster.rest_url)
    assert client.job_state("a" * 32) == NOT_FOUND
    assert client.wait_for_job("a" * 32) == NOT_FOUND
    assert "not known to the cluster" in client.job_root_cause("a" * 32, NOT_FOUND)


def test_a_failed_jobs_root_cause_is_the_innermost_cause_of_its_latest_exception(cluster: StandInCluster) -> None:
    trace = "java.lang.RuntimeException: outer\n\tat x.y(z.java:1)\nCaused by: java.io.IOException: disk full\n"
    cluster.answers["/jobs/j1"] = {"state": "FAILED"}
    cluster.answers["/jobs/j1/exceptions"] = {"exceptionHistory": {"entries": [{"stacktrace": trace}]}}
    client = FlinkRestClient(cluster.rest_url)
    assert client.wait_for_job("j1") == "FAILED"
    assert client.job_root_cause("j1", "FAILED") == "java.io.IOException: disk full"


def test_a_job_without_slots_is_cancelled_at_the_limit_saying_what_the_cluster_offers(
    cluster: StandInCluster,
) -> None:
    cluster.answers["/jobs/j2"] = {"state": "RUNNING", "status-counts": {"SCHEDULED": 2}}
    cluster.answers["/overview"] = {"taskmanagers": 0, "slots-available": 0, "slots-total": 0}
    client = FlinkRestClient(cluster.rest_url)
    with pytest.raises(AirflowException, match=r"no TaskManager offered it slots in 0\.2 s \(the cluster has 0 Task"):
        client.wait_for_job("j2", slot_wait_timeout=0.2)
    assert ("PATCH", "/jobs/j2?mode=cancel") in cluster.requests


def test_the_slot_limits_error_names_what_sets_the_limit(cluster: StandInCluster) -> None:
    cluster.answers["/jobs/j2"] = {"state": "RUNNING", "status-counts": {"SCHEDULED": 2}}
    cluster.answers["/overview"] = {"taskmanagers": 0, "slots-available": 0, "slots-total": 0}
    client = FlinkRestClient(cluster.rest_url)
    with pytest.raises(AirflowException, match=r"needs longer to offer slots, raise slot_wait_timeout\.$"):
        client.wait_for_job("j2", slot_wait_timeout=0.1)
    with pytest.raises(AirflowException, match=r"needs longer to offer slots, raise the flink_slot_wait param\.$"):
        client.wait_for_job("j2", slot_wait_timeout=0.1, slot_wait_setting="the flink_slot_wait param")


def test_an_interrupted_wait_leaves_the_job_running(cluster: StandInCluster) -> None:
    cluster.answers["/jobs/j3"] = {"state": "RUNNING", "status-counts": {"RUNNING": 1}}
    with pytest.raises(JobWaitInterrupted):
        FlinkRestClient(cluster.rest_url).wait_for_job("j3", interrupted=lambda: True)
    assert not [request for request in cluster.requests if request[0] == "PATCH"]


def test_a_finished_jobs_facts_count_the_records_its_sources_read(cluster: StandInCluster) -> None:
    def vertex(name: str, read: int, written: int) -> dict[str, Any]:
        return {"name": name, "metrics": {"read-records": read, "write-records": written}, "duration": 5}

    vertices = [vertex("Source: trades", 3, 3), vertex("Source: stocks", 2, 2), vertex("Sink: out", 5, 0)]
    cluster.answers["/jobs/j4"] = {"state": "FINISHED", "duration": 42, "vertices": vertices}
    facts = FlinkRestClient(cluster.rest_url).job_facts("j4")
    assert facts["net_runtime_ms"] == 42
    assert facts["records_read"] == 5  # the sources' records, not the sink's again
    assert facts["job_url"] == f"{cluster.rest_url}/#/job/completed/j4/overview"
    assert [v["name"] for v in facts["vertices"]] == ["Source: trades", "Source: stocks", "Sink: out"]
