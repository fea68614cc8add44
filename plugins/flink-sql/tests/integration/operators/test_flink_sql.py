"""PyFlinkSqlOperator against real Flink: a local MiniCluster and a real standalone session cluster."""

from __future__ import annotations

import contextlib
import csv
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow_flink_sql.operators.flink_sql import FlinkJobLink, PyFlinkSqlOperator
from airflow_flink_sql.processes import group_members, java_pids
from airflow_flink_sql.waiting import wait_for

from flink_sql_jobs import ROWS, SLOW_SQL, TEST_DAGS_FOLDER, TWO_SINKS_SQL, sql_params_of, write_input

pytestmark = pytest.mark.flink
# An environment variable whose value marks the JVMs one test started.
JVM_MARKER = "FLINK_SQL_TEST_JVM_MARKER"


@pytest.fixture
def quoted_dir(tmp_path: Path) -> Path:
    """A folder whose name needs quoting in SQL: a space and a single quote."""
    folder = tmp_path / "it's a folder"
    write_input(folder, ROWS)
    return folder


def two_sinks_operator(folder: Path, **kwargs) -> PyFlinkSqlOperator:
    return PyFlinkSqlOperator(
        task_id="aggregate",
        sql=TWO_SINKS_SQL,
        sql_params=sql_params_of(folder),
        **kwargs,
    )


def run_operator(operator: PyFlinkSqlOperator, context: dict | None = None) -> dict:
    """Render the operator's templated fields and execute it, as Airflow's task runner does."""
    context = {"task": operator, **(context or {})}
    operator.render_template_fields(context)
    return operator.execute(context)


def read_sink(folder: Path) -> list[list[str]]:
    rows = []
    for part in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        rows += list(csv.reader(part.open()))
    return sorted(rows)


def assert_two_sinks_written(folder: Path, rows: list[tuple[str, ...]] = ROWS) -> None:
    per_sector = Counter(sector for _, sector, _, _ in rows)
    assert read_sink(folder / "per sector") == sorted([sector, str(n)] for sector, n in per_sector.items())
    total_value = sum(Decimal(price) * int(volume) for _, _, price, volume in rows)
    assert read_sink(folder / "overall") == [[str(total_value)]]


def test_local_target_runs_all_inserts_as_one_job_with_quoted_paths(quoted_dir: Path) -> None:
    operator = two_sinks_operator(quoted_dir, parallelism="2")
    result = run_operator(operator)
    assert "'/" in operator.sql
    assert "it''s a folder/in put.csv'" in operator.sql
    assert result["target"] == "local"
    assert result["inserts"] == 2
    assert len(result["job_id"]) == 32
    assert result["duration_s"] > 0
    assert_two_sinks_written(quoted_dir)


def test_first_local_run_writes_a_class_data_archive_that_later_runs_use(quoted_dir: Path, tmp_path: Path) -> None:
    archive_dir = tmp_path / "class data"
    first = run_operator(two_sinks_operator(quoted_dir, class_data_dir=str(archive_dir)))
    assert first["class_data_archive"] == "written"
    archives = list(archive_dir.iterdir())
    assert [a.suffix for a in archives] == [".jsa"]
    assert archives[0].stat().st_size > 10_000_000

    second = run_operator(two_sinks_operator(quoted_dir, class_data_dir=str(archive_dir)))
    assert second["class_data_archive"] == "used"
    assert_two_sinks_written(quoted_dir)


def test_a_class_data_folder_that_cannot_be_made_only_costs_the_speed_up(quoted_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    facts = run_operator(two_sinks_operator(quoted_dir, class_data_dir=str(blocker / "archives")))
    assert facts["class_data_archive"] is None  # no archive written or used
    assert_two_sinks_written(quoted_dir)


def test_a_jvm_option_that_cannot_be_quoted_is_refused_before_anything_runs() -> None:
    with pytest.raises(AirflowFailException, match="has both kinds of quote"):
        PyFlinkSqlOperator(task_id="t", sql="SELECT 1", jvm_options=["-Dx='a\"b'"]).hook  # noqa: B018


def test_params_cannot_inject_sql(tmp_path: Path) -> None:
    operator = PyFlinkSqlOperator(
        task_id="t",
        sql="CREATE TEMPORARY TABLE t (a STRING) WITH ('connector' = 'filesystem', "
        "'path' = {{ sql_params.path | sql_string }}, 'format' = 'csv')",
        sql_params={"path": "x', 'format' = 'json'); DROP TABLE t; --"},
    )
    operator.render_template_fields({"task": operator})
    assert "'x'', ''format'' = ''json''); DROP TABLE t; --'" in operator.sql


def test_sql_syntax_error_names_the_statement(tmp_path: Path) -> None:
    operator = PyFlinkSqlOperator(
        task_id="t", sql="CREATE TEMPORARY TABLE a (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO a SELEC 1;"
    )
    with pytest.raises(
        AirflowFailException, match=r"Flink rejected statement 2 \(INSERT INTO a SELEC 1\): .*SQL parse failed"
    ):
        run_operator(operator)


def test_missing_input_path_fails_without_retry(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(AirflowFailException, match=r"FileNotFoundException: File .*in put.csv does not exist"):
        run_operator(two_sinks_operator(folder))


def test_failed_job_reports_flinks_root_cause(tmp_path: Path) -> None:
    (tmp_path / "in put.csv").write_text("005930,semiconductor,not-a-price,53\n")
    with pytest.raises(AirflowFailException, match=r"failed on its input: java.lang.NumberFormatException"):
        run_operator(two_sinks_operator(tmp_path))


def test_on_kill_stops_the_child_and_its_jvm() -> None:
    operator = PyFlinkSqlOperator(task_id="slow", sql=SLOW_SQL)
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            run_operator(operator)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()

    def job_group() -> int | None:
        pid = operator.hook.job_process.pid
        return pid if pid and set(group_members(pid)) & java_pids() else None

    pgid = wait_for(job_group, "the Flink JVM to start", 60, every=0.5)
    time.sleep(5)  # let the job get going
    operator.on_kill()
    worker.join(30)
    assert not worker.is_alive()
    assert errors, "a killed job must not look successful"
    assert group_members(pgid) == []


@pytest.fixture
def flink_conn(flink_cluster, monkeypatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_TEST",
        json.dumps({"conn_type": "flink", "host": "localhost", "port": flink_cluster.rest_port}),
    )
    return "flink_test"


def test_mapped_over_parameter_sets_each_runs_one_job_on_the_session_cluster(
    tmp_path: Path, flink_cluster, flink_conn, airflow_db
) -> None:
    """Mapped with .expand() and run by Airflow's own task runner; target and connection come from templates."""
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dag = DagBag(dag_folder=TEST_DAGS_FOLDER).dags["pyflink_sql_mapped"]
    run = dag.test(run_conf={"folder": str(tmp_path), "target": "remote", "conn": flink_conn})
    assert run.state == "success"
    with create_session() as session:
        xcoms = session.execute(
            select(XComModel.map_index, XComModel.key, XComModel.value).where(
                XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.task_id == "aggregate"
            )
        ).all()
        stored_jobs = session.scalars(select(TaskStateStoreModel).where(TaskStateStoreModel.run_id == run.run_id)).all()
    results = {row.map_index: XComModel.deserialize_value(row) for row in xcoms if row.key == "return_value"}
    links = {row.map_index: XComModel.deserialize_value(row) for row in xcoms if row.key == FlinkJobLink().xcom_key}
    assert sorted(results) == [0, 1, 2]
    jobs = {job["jid"]: job for job in flink_cluster.jobs() if run.run_id in job["name"]}
    assert len(jobs) == 3, "one Flink job per parameter set"
    for index, result in results.items():
        n = index + 1
        assert_two_sinks_written(tmp_path / f"it's set {n}", ROWS[:n])
        assert result["target"] == "remote"
        assert result["inserts"] == 2
        assert result["records_read"] == n
        assert jobs[result["job_id"]]["state"] == "FINISHED"
        assert jobs[result["job_id"]]["name"] == f"pyflink_sql_mapped.aggregate {run.run_id} [{index}]"
        url = f"{flink_cluster.rest_url}/#/job/completed/{result['job_id']}/overview"
        assert links[index] == result["job_url"] == url
    assert stored_jobs == [], "a finished job is forgotten: clearing the task later runs a new one"


def jvms_marked(marker: str) -> set[int]:
    """The running JVMs whose environment carries ``marker`` in ``JVM_MARKER``: those a test started, whatever else
    runs on the machine (`make test` runs other tiers beside this one)."""
    marked = set()
    for pid in java_pids():
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).environ().get(JVM_MARKER) == marker:
                marked.add(pid)
    return marked


def test_execution_timeout_leaves_no_jvm_behind(airflow_db, monkeypatch) -> None:
    """Through Airflow's own task runner: the timeout fires, on_kill runs, no JVM survives."""
    bag = DagBag(dag_folder=TEST_DAGS_FOLDER)
    dag = bag.dags["pyflink_sql_timeout"]
    marker = uuid.uuid4().hex
    monkeypatch.setenv(JVM_MARKER, marker)  # the job's child and its JVM inherit the environment
    seen: set[int] = set()
    running = threading.Event()
    running.set()

    def watch() -> None:
        while running.is_set():
            seen.update(jvms_marked(marker))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    try:
        assert dag.test().state == "failed"
    finally:
        running.clear()
        watcher.join()
    print(f"timed-out task ended after {time.monotonic() - started:.1f} s")
    assert seen, "the job's JVM ran (and carried the marker)"
    wait_for(lambda: not jvms_marked(marker), "the timed-out task's JVM to end", 15, every=0.5)


def run_timeout_dag(capfd, **conf) -> tuple[str, str]:
    """Run the slow job's DAG through Airflow's task runner; its run's state and what its task logged."""
    dag = DagBag(dag_folder=TEST_DAGS_FOLDER).dags["pyflink_sql_timeout"]
    capfd.readouterr()
    run = dag.test(run_conf=conf)
    out, err = capfd.readouterr()
    return run.state, out + err


def test_a_remote_job_that_gets_no_slots_is_cancelled_at_the_limit_saying_what_the_cluster_offers(
    flink_cluster, flink_conn, airflow_db, capfd
) -> None:
    flink_cluster.stop_taskmanagers()
    try:
        state, log = run_timeout_dag(capfd, target="remote", conn=flink_conn, slot_wait=5)
    finally:
        flink_cluster.restart_taskmanager()
    assert state == "failed"
    assert "no TaskManager offered it slots in 5 s (the cluster has 0 TaskManager(s), 0 of 0 slots free)" in log
    [job] = [job for job in flink_cluster.jobs() if job["name"].startswith("pyflink_sql_timeout.slow ")][-1:]
    assert job["state"] == "CANCELED", "no job of the night is left waiting on the cluster"


def test_execution_timeout_on_the_remote_target_cancels_the_job_on_the_cluster(
    flink_cluster, flink_conn, airflow_db, capfd
) -> None:
    before = {job["jid"] for job in flink_cluster.jobs()}
    state, _ = run_timeout_dag(capfd, target="remote", conn=flink_conn)
    assert state == "failed"
    [job] = [job for job in flink_cluster.jobs() if job["jid"] not in before]
    assert job["state"] in ("CANCELLING", "CANCELED")


@dataclass
class LastTry:
    """The task instance of a task's last try (try 2 of a task with one retry), which Airflow still sees running:
    a worker stopping gracefully (SIGTERM)."""

    try_number: int = 2
    max_tries: int = 1
    dag_id: str = "pyflink_sql_sigterm"
    task_id: str = "slow"
    run_id: str = "manual__2024-01-01"
    map_index: int = -1
    stats_tags: dict[str, str] = field(default_factory=dict)

    def xcom_push(self, key: str, value: object) -> None:
        pass

    def get_task_states(self, **_: object) -> dict[str, dict[str, str]]:
        return {self.run_id: {self.task_id: "running"}}


class StateStore(dict):
    def set(self, key: str, value: object) -> None:
        self[key] = value

    def delete(self, key: str) -> None:
        self.pop(key, None)


def test_a_sigterm_on_the_last_try_cancels_the_job_on_the_cluster_before_the_try_ends(
    flink_cluster, flink_conn, airflow_db
) -> None:
    operator = PyFlinkSqlOperator(task_id="slow", sql=SLOW_SQL, target="remote", flink_conn_id=flink_conn)
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            run_operator(operator, {"ti": LastTry(), "task_state_store": StateStore()})
        except BaseException as exc:  # noqa: BLE001 - what the try ended with is the test's to check
            errors.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()

    def running_job() -> str | None:
        job_id = operator._job_id
        return job_id if job_id and flink_cluster_job_state(flink_cluster, job_id) == "RUNNING" else None

    job_id = wait_for(running_job, "the job to run on the cluster", 120, every=0.5)
    operator.on_kill()  # what Airflow's task runner calls on SIGTERM
    worker.join(30)
    assert not worker.is_alive()
    assert [type(error) for error in errors] == [AirflowException]
    assert "last try (try 2)" in str(errors[0])
    assert flink_cluster_job_state(flink_cluster, job_id) in ("CANCELLING", "CANCELED"), "cancelled as the try ended"


def flink_cluster_job_state(flink_cluster, job_id: str) -> str | None:
    return next((job["state"] for job in flink_cluster.jobs() if job["jid"] == job_id), None)
