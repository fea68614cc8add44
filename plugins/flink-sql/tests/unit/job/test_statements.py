"""The job's statement handling without a JVM: which statements run at once, which join the one job.

A recording stand-in takes the place of PyFlink's TableEnvironment: these tests are about the
order and grouping of the script's statements and what the job reports, which do not depend on
Flink. The same code runs against real Flink in tests/integration/operators/test_flink_sql.py.
"""

from __future__ import annotations

import inspect

import pytest
from airflow_flink_sql.job.errors import root_cause_of_trace
from airflow_flink_sql.job.jvm import PYTHON_WORKER_MODE_VARIABLE
from airflow_flink_sql.job.statements import JobFailed, run_script
from airflow_flink_sql.protocol import JobReport


class Recorded:
    def __init__(self) -> None:
        self.executed: list[str] = []
        self.inserts: list[str] = []
        self.submitted = 0
        self.waited = False


class TableEnvironment:
    """Records what the job asks of PyFlink's TableEnvironment; a statement containing ``BAD`` is rejected."""

    def __init__(self, recorded: Recorded) -> None:
        self.recorded = recorded

    def execute_sql(self, statement: str) -> TableEnvironment:
        if "BAD" in statement:
            raise RuntimeError("org.apache.flink.table.api.ValidationException: Object 'BAD' not found\nat ...")
        self.recorded.executed.append(statement)
        return self

    def wait(self) -> None:
        pass

    def create_statement_set(self) -> TableEnvironment:
        return self

    def add_insert_sql(self, statement: str) -> None:
        self.recorded.inserts.append(statement)

    def execute(self) -> TableEnvironment:
        self.recorded.submitted += 1
        return self

    def get_job_client(self) -> TableEnvironment:
        return self

    def get_job_id(self) -> str:
        return "0" * 32

    def get_job_execution_result(self) -> TableEnvironment:
        self.recorded.waited = True
        return self

    def result(self) -> TableEnvironment:
        return self

    def get_net_runtime(self) -> int:
        return 1234


SCRIPT = """
-- sources; sinks
CREATE TEMPORARY TABLE a (x INT) WITH ('connector' = 'datagen');
CREATE TEMPORARY VIEW v AS SELECT x FROM a;
INSERT INTO s1 SELECT x FROM v;
/* the second sink */ insert overwrite s2 SELECT 'a;b' FROM v;
"""


def test_other_statements_run_in_order_and_every_insert_joins_one_job() -> None:
    recorded = Recorded()
    report = run_script(TableEnvironment(recorded), SCRIPT)
    assert len(recorded.executed) == 2
    assert "CREATE TEMPORARY TABLE a" in recorded.executed[0]
    assert "CREATE TEMPORARY VIEW v" in recorded.executed[1]
    assert len(recorded.inserts) == 2
    assert recorded.inserts[1].endswith("SELECT 'a;b' FROM v")
    assert recorded.submitted == 1
    assert recorded.waited
    assert report == JobReport(statements=4, inserts=2, job_id="0" * 32, finished=True, net_runtime_ms=1234)


def test_detached_the_job_is_submitted_and_not_waited_for() -> None:
    recorded = Recorded()
    report = run_script(TableEnvironment(recorded), SCRIPT, detach=True)
    assert recorded.submitted == 1
    assert not recorded.waited
    assert report == JobReport(statements=4, inserts=2, job_id="0" * 32)


def test_a_script_without_inserts_runs_no_job() -> None:
    recorded = Recorded()
    report = run_script(TableEnvironment(recorded), "CREATE TEMPORARY TABLE a (x INT) WITH ('connector' = 'datagen')")
    assert recorded.submitted == 0
    assert report == JobReport(statements=1, finished=True)


def test_a_rejected_statement_is_named_and_nothing_runs_after_it() -> None:
    recorded = Recorded()
    with pytest.raises(JobFailed) as failed:
        run_script(TableEnvironment(recorded), "CREATE TABLE ok (x INT);\nSELECT * FROM BAD;\nINSERT INTO s SELECT 1")
    failure = failed.value.failure
    assert (failure.kind, failure.statement_index, failure.statement) == ("sql", 2, "SELECT * FROM BAD")
    assert failure.message == "org.apache.flink.table.api.ValidationException: Object 'BAD' not found"
    assert recorded.inserts == []
    assert recorded.submitted == 0


def test_an_empty_script_is_refused() -> None:
    with pytest.raises(JobFailed, match="The SQL script has no statements"):
        run_script(TableEnvironment(Recorded()), "-- nothing but a comment\n;")


def test_a_java_traces_root_cause_is_its_last_cause() -> None:
    trace = (
        "org.apache.flink.runtime.JobException: Recovery is suppressed\n\tat x.y(Z.java:1)\n"
        "Caused by: java.io.IOException: read failed\n\tat a.b\n"
        'Caused by: java.lang.NumberFormatException: For input string: "x"\n\tat c.d\n'
    )
    assert root_cause_of_trace(trace) == 'java.lang.NumberFormatException: For input string: "x"'
    assert root_cause_of_trace("java.lang.IllegalStateException: boom\n\tat x") == (
        "java.lang.IllegalStateException: boom"
    )


def test_pyflink_still_reads_the_private_switch_the_job_sets() -> None:
    """The job skips PyFlink's Beam loopback server with a private environment variable: if PyFlink stops
    reading it, this fails (and the job start-up becomes a second slower, or the variable an error)."""
    from pyflink.table import TableEnvironment as PyFlinkTableEnvironment

    source = inspect.getsource(PyFlinkTableEnvironment._open)
    assert f"os.environ.get('{PYTHON_WORKER_MODE_VARIABLE}')" in source
    assert "!= 'process'" in source
