"""The earlier-runs wait: runs really running are waited for; a run nobody runs blocks no later night.

Real `airflow dags test` processes (what `make run` runs) and a real `airflow standalone` (what
`make airflow` runs) on one PostgreSQL metadata database: two `dags test` at once on SQLite meet
"database is locked" by chance.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy

from include.sector_report.layout import DataFolder
from include.sector_report.published_nights import is_published, published_revision
from include.sector_report.revisions import Revisions
from tests.support.landing import drop_days_file
from tools.airflow_local import AirflowStandalone
from tools.processes import free_port, group_members
from tools.waiting import wait_for

DAG_ID = "nightly_sector_report"
WAIT_FOR_FILE = {"source": "file", "file_wait_timeout": 600}
pytestmark = [pytest.mark.airflow_server, pytest.mark.postgres, pytest.mark.flink]
GENERATED = {"source": "generate", "rows": 300}


@pytest.fixture
def deployment(postgres_server, tmp_path: Path, request) -> dict[str, str]:
    """A metadata database of its own, migrated, and a data folder: the settings of `make run`."""
    home, data = tmp_path / "airflow-home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_server.create_database(request.node.name[:40].lower()),
        "SECTOR_REPORT_DATA_DIR": str(data),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(data),
        "SECTOR_REPORT_FLINK_TARGET": "local",
    }
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def dags_test(env: dict[str, str], day: str, conf: dict, log: Path) -> subprocess.Popen:
    """`airflow dags test` of ``day``'s night, as `make run` starts it, in a process group of its own."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, day, "--conf", json.dumps(conf)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def query(env: dict[str, str], sql: str, **params) -> str | None:
    """One value from the metadata database."""
    engine = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(sql), params).scalar()
    finally:
        engine.dispose()


def run_generated_night(env: dict[str, str], day: str) -> str:
    """`airflow dags test` of ``day``'s night on generated data, to its end, as `make run` runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, day, "--conf", json.dumps(GENERATED)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert is_published(DataFolder(Path(env["SECTOR_REPORT_DATA_DIR"])), day), output[-3000:]
    return output


def task_state(env: dict[str, str], day: str, task_id: str) -> str | None:
    return query(
        env,
        "SELECT ti.state FROM task_instance ti JOIN dag_run r ON r.run_id = ti.run_id AND r.dag_id = ti.dag_id"
        " WHERE r.dag_id = :dag AND r.logical_date = :day AND ti.task_id = :task",
        dag=DAG_ID, day=f"{day} 00:00:00+00", task=task_id,
    )  # fmt: skip


def run_id_of(env: dict[str, str], day: str) -> str | None:
    sql = "SELECT run_id FROM dag_run WHERE dag_id = :dag AND logical_date = :day"
    return query(env, sql, dag=DAG_ID, day=f"{day} 00:00:00+00")


def waiting_for_its_file(env: dict[str, str], day: str) -> bool:
    """The night of ``day`` waits for its file (under `dags test` the deferred wait shows as queued)."""
    return task_state(env, day, "wait_for_input") in ("deferred", "queued", "running")


def kill_group(process: subprocess.Popen) -> None:
    """What an interrupted `make run` leaves: `dags test` gone without a word (SIGTERM does not stop it while a
    deferred task's trigger runs in line; SIGKILL does)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert group_members(process.pid) == []


def test_an_interrupted_dags_test_blocks_no_later_night_and_a_running_one_is_waited_for(
    deployment, tmp_path: Path
) -> None:
    data = DataFolder(Path(deployment["SECTOR_REPORT_DATA_DIR"]))
    # A night waiting for its file, interrupted: its run stays 'running' in the database with nobody behind it.
    abandoned = dags_test(deployment, "2024-06-03", WAIT_FOR_FILE, tmp_path / "abandoned.log")
    try:
        wait_for(lambda: waiting_for_its_file(deployment, "2024-06-03"), "the file wait")
    finally:
        kill_group(abandoned)
    started = time.monotonic()
    output = run_generated_night(deployment, "2024-06-04")
    assert f"Not waiting for the previous run {run_id_of(deployment, '2024-06-03')}: it is still 'running'" in output
    assert "no process on this machine works on it" in output
    assert "'Mark Failed'" in output
    print(f"\nthe later night published {time.monotonic() - started:.1f} s after it started, not waiting")

    # A night really running (waiting for its file) is waited for until it ends, by the next date's `dags test`.
    earlier = dags_test(deployment, "2024-06-05", WAIT_FOR_FILE, tmp_path / "earlier.log")
    following = None
    try:
        wait_for(lambda: waiting_for_its_file(deployment, "2024-06-05"), "the earlier file wait")
        following = dags_test(deployment, "2024-06-06", GENERATED, tmp_path / "following.log")
        wait_for(
            lambda: "is still running (airflow dags test, pid" in (tmp_path / "following.log").read_text(),
            "the following night to wait for the earlier one",
        )
        assert task_state(deployment, "2024-06-06", "prepare_input") in (None, "scheduled", "none")
        drop_days_file(data.root, "2024-06-05", rows=200)
        assert earlier.wait(300) == 0
        assert following.wait(300) == 0
    finally:
        for process in filter(None, (earlier, following)):
            if process.poll() is None:
                kill_group(process)
    published = [published_revision(data, day) for day in ("2024-06-05", "2024-06-06")]
    assert all(published)
    times = [Revisions.of(night).published()[-1]["published_at"] for night in published if night]
    assert times == sorted(times), "published in date order"


def test_a_night_left_running_when_airflow_stopped_blocks_no_later_dags_test(deployment, tmp_path: Path) -> None:
    """`make stop` while a night runs under `make airflow`, then `make run` of a later date."""
    airflow = AirflowStandalone(tmp_path / "standalone", port=free_port(), env=deployment)
    airflow.start()
    try:
        airflow.unpause(DAG_ID)  # once parsed: unpausing a DAG not parsed yet leaves it paused
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "trigger", DAG_ID, "--logical-date", "2024-07-01T00:00:00+00:00",
             "--conf", json.dumps(WAIT_FOR_FILE)],
            env=airflow.env, check=True, capture_output=True,
        )  # fmt: skip
        wait_for(
            lambda: task_state(deployment, "2024-07-01", "wait_for_input") == "deferred",
            "the night's file wait",
        )
    finally:
        airflow.stop()
    output = run_generated_night(deployment, "2024-07-02")
    assert f"Not waiting for the previous run {run_id_of(deployment, '2024-07-01')}: it is still 'running'" in output
