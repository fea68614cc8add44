"""How the earlier-runs wait tells an `airflow dags test` process from other processes (the runs themselves are
waited for in the project's system tests, tests/system/test_run_order.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
from airflow_report_kit.sensors.run_order import DATABASE_VARIABLE, _may_schedule_for, _working_on, dags_test_of

DAG_ID = "nightly_sector_report"


def test_the_dags_test_command_line_is_recognised() -> None:
    python = ["/venv/bin/python", "/venv/bin/airflow"]
    assert dags_test_of([*python, "dags", "test", DAG_ID, "2024-06-03", "--conf", "{}"]) == (DAG_ID, "2024-06-03")
    assert dags_test_of([*python, "dags", "test", DAG_ID, "--conf", "{}"]) == (DAG_ID, None)
    assert dags_test_of(["/venv/bin/python", "-m", "airflow", "dags", "test", DAG_ID]) == (DAG_ID, None)
    assert dags_test_of([*python, "dags", "trigger", DAG_ID]) is None
    assert dags_test_of(["grep", "dags", "test", DAG_ID]) is None


@contextmanager
def scheduler_process(**environ: str) -> Iterator[psutil.Process]:
    """A process whose command line reads as an Airflow scheduler's, its environment this one's without its metadata
    database's URL, with ``environ``."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(DATABASE_VARIABLE)}
    command = [sys.executable, "-c", "import time; print(flush=True); time.sleep(60)", "airflow", "scheduler"]
    process = subprocess.Popen(command, env={**inherited, **environ}, stdout=subprocess.PIPE)
    try:
        # Once it writes, it runs the new program: until its exec, /proc shows this process's environment.
        assert process.stdout is not None
        process.stdout.readline()
        yield psutil.Process(process.pid)
    finally:
        process.kill()
        process.wait()


def test_only_a_scheduler_of_this_metadata_database_moves_its_runs_along(tmp_path, monkeypatch) -> None:
    ours, theirs = (
        "postgresql+psycopg2://postgres@localhost:5432/ours",
        "postgresql+psycopg2://airflow@postgres/airflow",
    )
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    with scheduler_process(**{DATABASE_VARIABLE: ours}) as scheduler:
        assert _may_schedule_for(scheduler, ours)
        assert not _may_schedule_for(scheduler, theirs), "another deployment's scheduler never moves this run"
    with scheduler_process(**{f"{DATABASE_VARIABLE}_CMD": "cat /run/secrets/db"}) as scheduler:
        assert _may_schedule_for(scheduler, ours), "a URL this process cannot read may be this database's"
    plain = {name: value for name, value in os.environ.items() if not name.startswith(DATABASE_VARIABLE)}
    monkeypatch.setattr(os, "environ", plain)
    with scheduler_process(AIRFLOW_HOME=str(tmp_path / "home")) as scheduler:
        assert _may_schedule_for(scheduler, ours), "the same AIRFLOW_HOME reads the same airflow.cfg"
    with scheduler_process(AIRFLOW_HOME=str(tmp_path / "elsewhere")) as scheduler:
        assert not _may_schedule_for(scheduler, ours)
    ended = psutil.Process(subprocess.Popen([sys.executable, "-c", "pass"]).pid)
    ended.wait()
    assert not _may_schedule_for(ended, ours)


def test_the_wait_looks_for_schedulers_of_its_own_database_only(monkeypatch) -> None:
    ours = "postgresql+psycopg2://postgres@localhost:5432/ours"
    monkeypatch.setenv(DATABASE_VARIABLE, ours)
    with scheduler_process(**{DATABASE_VARIABLE: "postgresql+psycopg2://airflow@postgres/airflow"}):
        assert _working_on(DAG_ID, None) is None
    with scheduler_process(**{DATABASE_VARIABLE: ours}) as scheduler:
        assert _working_on(DAG_ID, None) == f"a scheduler, pid {scheduler.pid}"
