"""The hook without a JVM: its configuration, how it reads the job's answer, and which failures are final.

The job's child process is this package's own program; here a stand-in interpreter plays it, writing
the answer file the way the job does, to check what the hook makes of it. The real job runs in
tests/integration/operators/test_flink_sql.py.
"""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow_flink_sql.hooks.flink_sql import (
    DEFAULT_FINAL_FAILURES,
    DEFAULT_JVM_OPTIONS,
    FIXED_JOB_ID_OPTION,
    PLANNING_ONLY_JVM_OPTIONS,
    PyFlinkSqlHook,
)
from airflow_flink_sql.protocol import JobFailure, JobReport


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port held, and not listened on, for the test's duration: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def cluster_connection(monkeypatch) -> str:
    extra = {"parallelism.default": "3", "taskmanager.memory.process.size": "2g", "pipeline.object-reuse": "false"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_UNIT",
        json.dumps({"conn_type": "flink", "host": "flink-jm", "port": 18081, "schema": "https", "extra": extra}),
    )
    return "flink_unit"


def test_configuration_precedence_defaults_endpoint_extra_parallelism_options_job(cluster_connection) -> None:
    hook = PyFlinkSqlHook(
        target="remote",
        flink_conn_id=cluster_connection,
        parallelism=4,
        flink_options={"taskmanager.memory.process.size": "3g", "rest.port": "9999"},
    )
    assert hook.flink_configuration(**{"pipeline.name": "night", "rest.port": "7777"}) == {
        "pipeline.object-reuse": "false",  # the connection's extra over the default
        "execution.target": "remote",
        "rest.address": "flink-jm",
        "rest.port": "7777",  # the job's own entries last
        "parallelism.default": "4",  # the argument over the extra
        "taskmanager.memory.process.size": "3g",  # flink_options over the extra
        "pipeline.name": "night",
    }
    assert hook.cluster.rest_url == "https://flink-jm:18081"
    assert hook.cluster.job_url("abc") == "https://flink-jm:18081/#/job/completed/abc/overview"


def test_a_local_hook_needs_no_connection() -> None:
    assert PyFlinkSqlHook(parallelism=2).flink_configuration() == {
        "pipeline.object-reuse": "true",
        "parallelism.default": "2",
    }


@pytest.mark.parametrize(
    ("failure", "final", "message"),
    [
        (JobFailure("sql", "SQL parse failed. Encountered", 2, "INSERT INTO a SELEC 1"), True,
         "Flink rejected statement 2 (INSERT INTO a SELEC 1): SQL parse failed. Encountered"),
        (JobFailure("job", "java.io.FileNotFoundException: File /in.csv does not exist"), True,
         "Flink job failed on its input: java.io.FileNotFoundException: File /in.csv does not exist"),
        (JobFailure("job", "org.apache.flink.formats.csv.CsvRowException: bad row"), True,
         "Flink job failed on its input: org.apache.flink.formats.csv.CsvRowException: bad row"),
        (JobFailure("job", "java.util.concurrent.TimeoutException: no TaskManager"), False,
         "Flink job failed: java.util.concurrent.TimeoutException: no TaskManager"),
    ],
)  # fmt: skip
def test_which_failures_are_final(failure: JobFailure, final: bool, message: str) -> None:
    error = PyFlinkSqlHook().failure_exception(failure)
    assert isinstance(error, AirflowFailException) is final
    assert isinstance(error, AirflowException)
    assert str(error) == message


def test_final_failures_are_the_callers_choice() -> None:
    timeout = JobFailure("job", "java.util.concurrent.TimeoutException: no TaskManager")
    hook = PyFlinkSqlHook(final_failures=[*DEFAULT_FINAL_FAILURES, "java.util.concurrent.*"])
    assert isinstance(hook.failure_exception(timeout), AirflowFailException)
    missing = JobFailure("job", "java.io.FileNotFoundException: File /in.csv does not exist")
    assert not isinstance(PyFlinkSqlHook(final_failures=()).failure_exception(missing), AirflowFailException)


def stand_in_job(tmp_path: Path, report: JobReport | None, exit_code: int) -> str:
    """An interpreter that, run as ``python -m airflow_flink_sql.job ...``, prints like Flink, writes
    ``report`` where the job writes its answer, and exits with ``exit_code``."""
    script = tmp_path / "python"
    answer = json.dumps(report.__dict__ | {"failure": report.failure and report.failure.__dict__}) if report else ""
    script.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--workdir" ]; do shift; done\n'
        'echo \'INFO org.apache.flink: Job submitted, result {"job_id": "not this one"}\'\n'
        + (f"cat > \"$2/result.json\" <<'EOF'\n{answer}\nEOF\n" if report else "")
        + f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_the_job_answers_in_its_file_not_on_stdout(tmp_path: Path) -> None:
    report = JobReport(statements=5, inserts=2, job_id="f" * 32, finished=True, net_runtime_ms=1234)
    hook = PyFlinkSqlHook(python=stand_in_job(tmp_path, report, 0), class_data_dir=None)
    assert hook.run_local("SELECT 1") == report


def test_a_failure_written_by_the_job_is_raised_classified(tmp_path: Path) -> None:
    failure = JobFailure("job", 'java.lang.NumberFormatException: For input string: "x"')
    hook = PyFlinkSqlHook(python=stand_in_job(tmp_path, JobReport(statements=5, inserts=2, failure=failure), 1))
    with pytest.raises(AirflowFailException, match=r"failed on its input: java.lang.NumberFormatException"):
        hook.run_local("SELECT 1")


def test_a_job_that_died_without_answering_is_a_retryable_error(tmp_path: Path) -> None:
    hook = PyFlinkSqlHook(python=stand_in_job(tmp_path, None, 137))
    with pytest.raises(AirflowException, match=r"exited with code 137 and no result") as failure:
        hook.run_local("SELECT 1")
    assert not isinstance(failure.value, AirflowFailException)


def test_a_submission_fixes_the_jobs_id_and_name(tmp_path: Path, monkeypatch) -> None:
    seen = tmp_path / "seen.json"
    script = tmp_path / "python"
    script.write_text(f'#!/bin/sh\nwhile [ "$1" != "--configuration" ]; do shift; done\necho "$2" > {seen}\nexit 0\n')
    script.chmod(0o755)
    hook = PyFlinkSqlHook(target="remote", flink_conn_id="flink_unit", python=str(script))
    monkeypatch.setattr(hook, "check_cluster", lambda: None)  # no cluster here: the stand-in never calls it
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_UNIT", json.dumps({"conn_type": "flink", "host": "jm", "port": 8081}))
    with pytest.raises(AirflowException, match="no result"):
        hook.submit("SELECT 1", job_id="a" * 32, job_name="dag.task run")
    configuration = json.loads(seen.read_text())
    assert configuration[FIXED_JOB_ID_OPTION] == "a" * 32
    assert configuration["pipeline.name"] == "dag.task run"


def test_an_unreachable_cluster_is_a_retryable_error_and_a_failed_connection_test(closed_port, monkeypatch) -> None:
    port = closed_port
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_NOWHERE", json.dumps({"conn_type": "flink", "host": "localhost", "port": port})
    )
    hook = PyFlinkSqlHook(target="remote", flink_conn_id="flink_nowhere")
    with pytest.raises(
        AirflowException, match=rf"Flink cluster at http://localhost:{port} .* is unreachable"
    ) as failure:
        hook.submit("SELECT 1", job_id="a" * 32, job_name="x")
    assert not isinstance(failure.value, AirflowFailException)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith(f"Flink cluster at http://localhost:{port} is unreachable")


def test_the_remote_targets_jvm_compiles_with_c1_alone_unless_told_otherwise() -> None:
    """It only plans and submits: the local target's JVM runs the job, and keeps C2."""
    assert PyFlinkSqlHook(target="local").job_process.jvm_options == list(DEFAULT_JVM_OPTIONS)
    remote = PyFlinkSqlHook(target="remote").job_process.jvm_options
    assert remote == [*PLANNING_ONLY_JVM_OPTIONS, *DEFAULT_JVM_OPTIONS]
    told = PyFlinkSqlHook(target="remote", jvm_options=["-XX:TieredStopAtLevel=4"]).job_process.jvm_options
    assert told[-1] == "-XX:TieredStopAtLevel=4", "the caller's option comes last: the JVM takes the last one"
