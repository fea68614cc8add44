"""Production shapes: scheduler-driven runs on a remote Flink cluster, `airflow dags trigger`, PostgreSQL.

Everything here is real: `airflow standalone` (api-server, scheduler, dag-processor,
triggerer with LocalExecutor) on a PostgreSQL metadata database, as docker-compose deploys it
(with SQLite, a CLI command beside the running components meets "database is locked" by chance),
a Flink session cluster from the PyFlink wheel, and a PostgreSQL server started from Debian's
binaries in a temporary folder.

The tests share one deployment; after each, whatever it left queued or running is ended, so one
failure never turns into timeouts of the tests after it. Waits are for conditions, with deadlines
far beyond what they take here, and say what they waited for.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from include.sector_report.run_folder import RunFolder
from tests.airflow_admin import admin_env, admin_token
from tests.report_html import previous_date, report_rows
from tools.airflow_local import AirflowStandalone
from tools.flink_session_cluster import SessionCluster
from tools.processes import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "nightly_sector_report"
MONTHLY_DAG_ID = "monthly_sector_report"
LATE_AFTER_SECONDS = 20
# How long a condition may take before a test gives up: far beyond what any takes here.
PATIENCE_SECONDS = 600
UNFINISHED = ("queued", "running")


@pytest.fixture(scope="module")
def airflow(flink_cluster, smtp_server, postgres_server, tmp_path_factory):
    """`airflow standalone` on its own home, data folder and PostgreSQL database, running the DAG on the
    remote Flink cluster."""
    home = tmp_path_factory.mktemp("airflow-home")
    data = tmp_path_factory.mktemp("data")
    env = {
        **os.environ,
        **admin_env(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_server.create_database("deployment"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps(
            {"conn_type": "flink", "host": "localhost", "port": flink_cluster.rest_port}
        ),
        "SECTOR_REPORT_FLINK_TARGET": "remote",
        # A run not published 20 s after it was queued is late (production: 8 hours).
        "SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES": str(LATE_AFTER_SECONDS / 60),
        "SECTOR_REPORT_DATA_DIR": str(data),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(data),
    }
    standalone = AirflowStandalone(home, port=free_port(), env=env)
    standalone.start()
    try:
        yield standalone, data
    finally:
        standalone.stop()


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token = admin_token(base)

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.base}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_for(self, predicate, what: str, timeout: float = PATIENCE_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = predicate()
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
                found = None
            if found:
                return found
            time.sleep(2)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def finished_run(self, run_id: str) -> dict:
        return self.finished_run_of(DAG_ID, run_id)

    def finished_run_of(self, dag_id: str, run_id: str) -> dict:
        quoted = urllib.parse.quote(run_id, safe="")

        def done():
            run = self.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
            return run if run["state"] in ("success", "failed") else None

        return self.wait_for(done, f"run {run_id} of {dag_id} to finish")

    def end_unfinished_runs(self) -> None:
        """Mark every queued or running run failed and wait until none of its tasks still runs."""
        for dag_id in (DAG_ID, MONTHLY_DAG_ID):
            for run in self.call("GET", f"/dags/{dag_id}/dagRuns?state=queued&state=running")["dag_runs"]:
                quoted = urllib.parse.quote(run["dag_run_id"], safe="")
                self.call("PATCH", f"/dags/{dag_id}/dagRuns/{quoted}", {"state": "failed"})
        states = "".join(f"&state={state}" for state in ("queued", "scheduled", "running", "deferred", "restarting"))

        def nothing_runs():
            return not self.call("GET", f"/dags/~/dagRuns/~/taskInstances?limit=1{states}")["task_instances"]

        self.wait_for(nothing_runs, "the tasks of the runs marked failed to stop")

    def aggregate_result(self, run_id: str) -> dict:
        quoted = urllib.parse.quote(run_id, safe="")
        entry = self.call("GET", f"/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/aggregate/xcomEntries/return_value")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value


def airflow_cli(standalone: AirflowStandalone, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=standalone.env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def flink_job_state(flink: SessionCluster, job_id: str) -> str:
    with urllib.request.urlopen(f"{flink.rest_url}/jobs/{job_id}", timeout=10) as response:
        return json.load(response)["state"]


@pytest.fixture(scope="module")
def api(airflow) -> Api:
    standalone, _ = airflow
    api = Api(standalone.url)
    api.wait_for(lambda: api.call("GET", f"/dags/{DAG_ID}"), "the dag-processor to parse the DAG")
    return api


@pytest.fixture(autouse=True)
def deployment_as_found(request):
    """After each test that used the deployment, end what it left queued or running (a failed test included)."""
    yield
    if "api" in request.fixturenames:
        request.getfixturevalue("api").end_unfinished_runs()


def test_scheduler_runs_the_nightly_schedule_on_the_remote_flink_cluster(airflow, api, flink_cluster) -> None:
    _, data = airflow
    api.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    # catchup is off: unpausing schedules only the latest 23:00 (Asia/Seoul) run.
    scheduled = api.wait_for(
        lambda: api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=scheduled")["dag_runs"], "a scheduled run"
    )
    assert len(scheduled) == 1
    run = api.finished_run(scheduled[0]["dag_run_id"])
    assert run["state"] == "success"
    result = api.aggregate_result(run["dag_run_id"])
    assert result["target"] == "remote"
    assert flink_job_state(flink_cluster, result["job_id"]) == "FINISHED"
    report_date = dt.datetime.fromisoformat(run["logical_date"]).astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    run_folder = RunFolder.for_date(data, report_date.isoformat())
    # The job reads each landed transaction and each line of the stock lookup once.
    with run_folder.stocks_csv.open(newline="") as lookup:
        stocks = sum(1 for _ in csv.reader(lookup))
    assert result["records_read"] == 1000 + stocks
    assert run_folder.report_html.is_file()


def test_dags_trigger_with_conf_and_a_rerun_replaces_outputs(airflow, api, flink_cluster) -> None:
    standalone, data = airflow
    conf = json.dumps({"rows": 2500, "seed": 11, "locale": "en"})
    airflow_cli(standalone, "dags", "trigger", DAG_ID, "--logical-date", "2024-05-02T00:00:00+00:00", "--conf", conf)
    runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=manual")["dag_runs"]
    [first] = [r for r in runs if r["logical_date"].startswith("2024-05-02")]
    assert api.finished_run(first["dag_run_id"])["state"] == "success"
    run = RunFolder.for_date(data, "2024-05-02")
    first_summary = run.summary_json.read_text()
    first_job = api.aggregate_result(first["dag_run_id"])["job_id"]
    assert json.loads(first_summary)["totals"]["rows"] == 2500
    assert "Sector transaction summary" in run.report_html.read_text()

    # Run the same logical date again: clearing it makes the scheduler run every task anew.
    airflow_cli(standalone, "tasks", "clear", DAG_ID, "--start-date", "2024-05-02", "--end-date", "2024-05-02", "--yes")
    rerun = api.wait_for(
        lambda: (
            (r := api.finished_run(first["dag_run_id"]))
            and api.aggregate_result(r["dag_run_id"])["job_id"] != first_job
            and r
        ),
        "the cleared run to run again",
    )
    assert rerun["state"] == "success"
    assert run.summary_json.read_text() == first_summary, "the same input must give the same summary"
    for sink in (run.sector_sink_dir, run.stock_sink_dir):
        parts = [p for p in sink.iterdir() if not p.name.startswith(".")]
        assert len(parts) == 1, f"a rerun must replace the sink, not add to it: {parts}"
    index = (data / "reports" / "index.html").read_text()
    assert index.count("../runs/2024-05-02/report.html") == 1


def test_make_trigger_passes_any_json_conf_through_unchanged(airflow, api) -> None:
    standalone, _ = airflow
    conf = {"rows": 50, "locale": "en", "note": 'it\'s "quoted", $HOME, 한국어'}
    result = subprocess.run(
        ["make", "-s", "trigger", f"CONF={json.dumps(conf, ensure_ascii=False)}",
         "LOGICAL_DATE=2024-08-01T00:00:00+00:00"],
        cwd=PROJECT_ROOT, env=standalone.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=manual")["dag_runs"]
    [run] = [r for r in runs if r["logical_date"].startswith("2024-08-01")]
    assert run["conf"] == conf
    assert api.finished_run(run["dag_run_id"])["state"] == "success"


def test_a_backfill_gives_the_reports_of_nightly_runs_in_date_order(airflow, api, airflow_db, tmp_path) -> None:
    standalone, data = airflow
    conf = {"rows": 600, "locale": "en"}
    api.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    # --max-active-runs 3: Airflow may run all three dates at once; each report still compares with the one before.
    # The window's end is exclusive here: 23:00 in Seoul on 2023-01-02, -03 and -04.
    airflow_cli(standalone, "backfill", "create", "--dag-id", DAG_ID, "--from-date", "2023-01-02",
                "--to-date", "2023-01-05", "--max-active-runs", "3", "--dag-run-conf", json.dumps(conf))  # fmt: skip
    runs = api.wait_for(
        lambda: len(found := api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=backfill")["dag_runs"]) == 3 and found,
        "the backfill's three runs",
    )
    assert [api.finished_run(run["dag_run_id"])["state"] for run in runs] == ["success"] * 3
    days = sorted(seoul_date(run["logical_date"]) for run in runs)

    # The same dates as three nightly runs, one after another, into a folder of their own.
    ordered = tmp_path / "ordered"
    for day in days:
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, day, "--conf", json.dumps(conf)],
            env={**os.environ, "SECTOR_REPORT_DATA_DIR": str(ordered), "AIRFLOW__REPORT_VIEWER__ROOT": str(ordered)},
            check=True,
            capture_output=True,
            timeout=300,
        )
    for earlier, day in zip([None, *days], days, strict=False):
        backfilled, nightly = RunFolder.for_date(data, day), RunFolder.for_date(ordered, day)
        assert (
            json.loads(backfilled.summary_json.read_text())["sectors"]
            == json.loads(nightly.summary_json.read_text())["sectors"]
        )
        assert previous_date(backfilled.report_html) == previous_date(nightly.report_html) == earlier
        assert report_rows(backfilled.report_html) == report_rows(nightly.report_html)  # change column included


def test_a_night_that_does_not_publish_alerts_when_late_and_when_it_fails(airflow, api, smtp_server) -> None:
    standalone, data = airflow
    conf = {"source": "file", "file_wait_timeout": LATE_AFTER_SECONDS + 40, "alert_to": ["oncall@example.com"]}
    airflow_cli(standalone, "dags", "trigger", DAG_ID, "--logical-date", "2024-09-01T14:00:00+00:00",
                "--conf", json.dumps(conf))  # fmt: skip
    late_subject, failed_subject = (f"[{word}] nightly_sector_report 2024-09-01" for word in ("지연", "실패"))
    # The export never comes: first the deadline passes (the scheduler finds it, the triggerer mails)...
    [(recipients, late)] = api.wait_for(lambda: smtp_server.about(late_subject), "the late-run alert")
    assert recipients == ["oncall@example.com"]
    assert late["Subject"] == late_subject  # in the default locale, ko
    assert "/dags/nightly_sector_report/runs/" in late.get_body(("html",)).get_content()
    # ...then the wait for the file ends, and the run fails with one alert naming the task.
    runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=manual")["dag_runs"]
    [run] = [r for r in runs if r["logical_date"].startswith("2024-09-01")]
    assert api.finished_run(run["dag_run_id"])["state"] == "failed"
    [(_, failed)] = api.wait_for(lambda: smtp_server.about(failed_subject), "the failure alert")
    assert failed["Subject"] == f"{failed_subject}: wait_for_input"
    assert f"No file arrived in {data / 'incoming'}" in failed.get_body(("html",)).get_content()


def test_a_published_night_triggers_the_monthly_rollup_through_its_asset(airflow, api) -> None:
    standalone, data = airflow
    api.wait_for(lambda: api.call("GET", "/dags/monthly_sector_report"), "the dag-processor to parse the monthly DAG")
    for dag_id in (DAG_ID, "monthly_sector_report"):
        api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    airflow_cli(standalone, "dags", "trigger", DAG_ID, "--logical-date", "2023-01-05T14:00:00+00:00",
                "--conf", json.dumps({"rows": 300}))  # fmt: skip
    runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns?run_type=manual")["dag_runs"]
    [night] = [r for r in runs if r["logical_date"].startswith("2023-01-05")]
    assert api.finished_run(night["dag_run_id"])["state"] == "success"

    # No month param: the months are the triggering reports' (the events of the nights published
    # while the monthly DAG was paused come in one batch: every month among them is rolled up).
    month_summary = data / "months" / "2023-01" / "summary.json"

    def rolled_up():
        return month_summary.is_file() and "2023-01-05" in json.loads(month_summary.read_text())["days_published"]

    api.wait_for(rolled_up, "the asset-triggered monthly run to roll up 2023-01-05")
    rollups = api.call("GET", "/dags/monthly_sector_report/dagRuns?run_type=asset_triggered")["dag_runs"]
    assert rollups and all(api.finished_run_of("monthly_sector_report", r["dag_run_id"])["state"] == "success"
                           for r in rollups)  # fmt: skip
    summary = json.loads(month_summary.read_text())
    published = sorted(p.parent.name for p in (data / "runs").glob("2023-01-*/summary.json"))
    assert summary["days_published"] == published
    assert sum(d["transaction_count"] for d in summary["days"]) == sum(
        json.loads((data / "runs" / day / "summary.json").read_text())["totals"]["rows"] for day in published
    )


def seoul_date(logical_date: str) -> str:
    return dt.datetime.fromisoformat(logical_date).astimezone(dt.timezone(dt.timedelta(hours=9))).date().isoformat()


def test_a_run_on_a_postgresql_metadata_database(postgres_server, tmp_path) -> None:
    postgres = postgres_server.create_database("one_run")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres,
        "SECTOR_REPORT_DATA_DIR": str(tmp_path / "data"),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(tmp_path / "data"),
    }
    airflow = [sys.executable, "-m", "airflow"]
    migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    subprocess.run(
        [*airflow, "dags", "test", DAG_ID, "2024-05-03", "--conf", json.dumps({"rows": 800})],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    run = RunFolder.for_date(tmp_path / "data", "2024-05-03")
    assert json.loads(run.summary_json.read_text())["totals"]["rows"] == 800
    with psycopg2.connect(postgres.replace("postgresql+psycopg2", "postgresql")) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT state FROM dag_run WHERE dag_id = %s", (DAG_ID,))
            assert cursor.fetchall() == [("success",)]
