"""The Airflow deployment the system tests drive: `airflow standalone` on PostgreSQL, LocalExecutor, nights landing
the day's file and running on the remote Flink cluster, configured as operators configure one."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psutil

from include.sector_report.layout import NightFolder
from include.sector_report.summary import NightSummary
from tests.support.airflow_admin import admin_env
from tests.support.airflow_api import DAG_ID, DAG_IDS, Api
from tests.support.landing import landed_rows
from tools.airflow_local import AirflowStandalone
from tools.processes import free_port


@contextmanager
def deployment(
    home: Path, data: Path, *, database_url: str, flink_port: int, **settings: str
) -> Iterator[AirflowStandalone]:
    """A running deployment on its own home, data folder and database; ``settings``: its environment beyond these."""
    env = {
        **os.environ,
        **admin_env(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # The scheduler looks for work every 0.2 s instead of every 1 s when idle: a night's tasks follow each other
        # sooner (measured: a third off each scheduled test), nothing else changes.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        # The DAG files do not change while the tests run: parsed every 10 min, not every 30 s (the dag-processor
        # was a tenth of a core, measured with the tests' nights; callbacks do not wait for it).
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps({"conn_type": "flink", "host": "localhost", "port": flink_port}),
        "SECTOR_REPORT_FLINK_TARGET": "remote",
        "SECTOR_REPORT_SOURCE": "file",
        "SECTOR_REPORT_RETRY_DELAY_SECONDS": "3",
        "SECTOR_REPORT_DATA_DIR": str(data),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(data),
        **settings,
    }
    standalone = AirflowStandalone(home, port=free_port(), env=env)
    standalone.start()
    try:
        yield standalone
    finally:
        standalone.stop()


def ready_api(standalone: AirflowStandalone) -> Api:
    """The deployment's REST API, once the dag-processor has parsed every DAG."""
    api = Api(standalone.url)
    for dag_id in DAG_IDS:
        api.wait_for(lambda dag_id=dag_id: api.call("GET", f"/dags/{dag_id}"), f"the dag-processor to parse {dag_id}")
    return api


def airflow_cli(standalone: AirflowStandalone, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=standalone.env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def trigger(api: Api, day: str, conf: dict) -> dict:
    """The run of ``day``'s night (23:00 in Seoul), triggered with ``conf`` through the REST API (the UI's Trigger;
    `make trigger`'s CLI is tested on its own, and starts a Python that imports Airflow: 4 s a night)."""
    logical = dt.datetime.fromisoformat(f"{day}T14:00:00+00:00").isoformat()
    run: dict = api.call("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": logical, "conf": conf})
    return run


def triggered_night(api: Api, day: str, conf: dict) -> dict:
    """The run of ``day``'s night, triggered with ``conf`` (the DAG unpaused)."""
    api.unpause(DAG_ID)
    return trigger(api, day, conf)


def without_the_scheduled_night(api: Api) -> None:
    """The nightly DAG unpaused, and the night Airflow then schedules for the latest session ended: catch-up or not,
    unpausing schedules it, and it waits for its file (SECTOR_REPORT_FILE_WAIT_SECONDS), holding every triggered
    night behind it (max_active_runs=1)."""
    api.unpause(DAG_ID)
    api.wait_for(lambda: api.runs(DAG_ID, "scheduled"), "the latest session's scheduled night")
    api.end_unfinished_runs()


def assert_exact(run: NightFolder) -> None:
    """The night's figures equal a computation from its input, to the cent (a published revision: from the input it
    keeps)."""
    expected: dict[str, list[Decimal | int]] = {}
    for _code, sector, cents, volume, _day in landed_rows(run):
        figures = expected.setdefault(sector, [Decimal(0), 0, 0])
        figures[0] += Decimal(cents) * volume / 100
        figures[1] += volume
        figures[2] += 1
    published = {s.sector: [s.total_value, s.total_volume, s.transaction_count] for s in NightSummary.read(run).sectors}
    assert published == expected


def workers_of(task_instance_id: str) -> list[psutil.Process]:
    """The processes running a task instance: Airflow's task runner titles its worker "airflow worker -- <task instance
    id>" while it runs the try. OpenLineage's listener forks children that add to that title ("... - OpenLineage -
    on_running"): not them."""
    title = f"airflow worker -- {task_instance_id}"
    return [p for p in psutil.process_iter(["cmdline"]) if " ".join(p.info["cmdline"] or []).strip() == title]
