"""docker-compose.yaml started for real, on podman, with the local stand-in images (tools/standin_images.py).

The host talks to the stack only through its ports published on 127.0.0.1 and the incoming folder it mounts;
the containers reach each other by service name. The tests run in order, on one stack: a night, a restart, then
`down` and `up`, then `down -v`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from airflow_flink_sql.session_cluster import flink_jobs

from tests.support.airflow_api import DAG_ID, Api, seoul_date
from tests.support.landing import drop_days_file
from tests.support.report_html import sector_rows
from tools.compose_stack import ComposeStack, stack_env
from tools.standin_images import standin_images

pytestmark = pytest.mark.compose

PROJECT = "sector-report-compose-test"
OVERRIDES = Path(__file__).with_name("compose-overrides.yaml")
RESTART_DAY = "2024-06-03"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if os.geteuid() != 0 or not (shutil.which("podman") and shutil.which("debootstrap")):
        pytest.fail("The compose tier needs root, podman and debootstrap: `make test-system-deps` installs them.")
    workdir = tmp_path_factory.mktemp("compose")
    started = time.monotonic()
    images = standin_images()
    built = time.monotonic()
    stack = ComposeStack(workdir, project=PROJECT, env=stack_env(workdir, images), files=(OVERRIDES,))
    stack.start_engine()
    try:
        stack.down(volumes=True)  # what an interrupted earlier run left
        stack.build()
        images_ready = time.monotonic()
        stack.up()
        print(
            f"\ncompose: stand-in images {built - started:.0f} s, Airflow image {images_ready - built:.0f} s, "
            f"up to every healthcheck passing {time.monotonic() - images_ready:.0f} s"
        )
        yield stack
    finally:
        stack.down(volumes=True)
        stack.stop_engine()


@pytest.fixture(scope="module")
def api(stack: ComposeStack) -> Api:
    password = json.loads(stack.read_file("airflow-apiserver", "/opt/airflow/auth/passwords.json"))["admin"]
    api = Api(f"http://127.0.0.1:{stack.env['AIRFLOW_PORT']}", password)
    api.wait_for(lambda: api.call("GET", f"/dags/{DAG_ID}"), "the dag-processor to parse the nightly DAG")
    return api


def jobs_on_the_cluster(stack: ComposeStack) -> list[dict]:
    return flink_jobs(f"http://127.0.0.1:{stack.env['FLINK_PORT']}")


def viewer_page(api: Api, path: str) -> str:
    """A page of the report viewer, as a signed-in reader gets it."""
    request = urllib.request.Request(f"{api.base}/reports/{path}", headers={"Authorization": f"Bearer {api.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def assert_report_exact(html: str, dropped: Path) -> None:
    """The report's sector table equals a computation from the dropped file, to the cent."""
    expected: dict[str, list] = {}
    with dropped.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            figures = expected.setdefault(row["sector"], [Decimal(0), 0, 0])
            figures[0] += Decimal(row["price"]) * int(row["volume"])
            figures[1] += int(row["volume"])
            figures[2] += 1
    shown = sector_rows(html)
    assert {sector: cells[0:1] + cells[2:4] for sector, cells in shown.items()} == {
        sector: [f"{value:,.2f}", f"{volume:,}", f"{count:,}"] for sector, (value, volume, count) in expected.items()
    }


def test_a_dropped_file_runs_the_scheduled_night_on_the_flink_containers_and_readers_see_it(stack, api) -> None:
    api.unpause(DAG_ID)
    [night] = api.wait_for(lambda: api.runs(DAG_ID, "scheduled"), "the latest session's scheduled night")
    day = seoul_date(night["logical_date"])
    dropped_at = time.monotonic()
    drop_days_file(stack.workdir, day, rows=1000)

    run = api.finished_run(night["dag_run_id"])
    assert run["state"] == "success"
    print(f"\ncompose: the night published {time.monotonic() - dropped_at:.0f} s after its file was dropped")
    result = api.aggregate_result(night["dag_run_id"])
    assert result["target"] == "remote"
    assert [job["state"] for job in jobs_on_the_cluster(stack) if job["jid"] == result["job_id"]] == ["FINISHED"]
    report = viewer_page(api, f"revisions/{day}/r1/report.html")
    assert_report_exact(report, stack.workdir / "incoming" / f"export_{day}.csv")
    assert f"revisions/{day}/r1/report.html" in viewer_page(api, "index.html")


def test_a_restarted_scheduler_leaves_the_flink_job_running_and_the_night_ends_exact(stack, api) -> None:
    drop_days_file(stack.workdir, RESTART_DAY, rows=3_000_000)
    logical = f"{RESTART_DAY}T14:00:00+00:00"
    night = api.call("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": logical, "conf": {"source": "file"}})
    name = f"{DAG_ID}.aggregate {night['dag_run_id']}"
    api.wait_for(
        lambda: any(job["name"] == name and job["state"] == "RUNNING" for job in jobs_on_the_cluster(stack)),
        "the night's Flink job to run on the cluster",
        every=0.5,
    )
    restarted_at = time.monotonic()
    stack.restart("airflow-scheduler")  # a deploy: SIGTERM to the scheduler and its task processes

    run = api.finished_run(night["dag_run_id"])
    assert run["state"] == "success"
    print(f"\ncompose: the night published {time.monotonic() - restarted_at:.0f} s after the scheduler's restart")
    assert api.task(night["dag_run_id"], "aggregate")["try_number"] == 2, "the restart ended the try: a retry"
    assert [job["state"] for job in jobs_on_the_cluster(stack) if job["name"] == name] == ["FINISHED"], "one Flink job"
    report = viewer_page(api, f"revisions/{RESTART_DAY}/r1/report.html")
    assert_report_exact(report, stack.workdir / "incoming" / f"export_{RESTART_DAY}.csv")


def test_down_and_up_keeps_the_reports_and_the_metadata_and_down_v_removes_them(stack, api) -> None:
    runs = {run["dag_run_id"]: run["state"] for run in api.runs(DAG_ID, "manual")}
    report = viewer_page(api, f"revisions/{RESTART_DAY}/r1/report.html")
    stack.down()
    assert stack.volumes(), "down keeps the volumes"
    stack.up()  # (the password and the JWT secret are the same: the token still signs in)
    assert {run["dag_run_id"]: run["state"] for run in api.runs(DAG_ID, "manual")} == runs
    assert viewer_page(api, f"revisions/{RESTART_DAY}/r1/report.html") == report
    stack.down(volumes=True)
    assert stack.volumes() == []
