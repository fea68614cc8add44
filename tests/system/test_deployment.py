"""Production shapes: scheduled nights on a remote Flink cluster, the deadline, reruns, crashes, the provider.

Everything here is real: `airflow standalone` (api-server, scheduler, dag-processor, triggerer with
LocalExecutor) on a PostgreSQL metadata database, as docker-compose deploys it (with SQLite, a CLI
command beside the running components meets "database is locked" by chance), configured as a
deployment is (nights land the day's file), a Flink session cluster from the PyFlink wheel, and a
PostgreSQL server started from Debian's binaries in a temporary folder.

The tests share one deployment; before and after each, whatever is left queued or running is ended,
so one failure never turns into timeouts of the tests after it. Waits are for conditions, with
deadlines far beyond what they take here, and say what they waited for.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

import airflow_flink_sql
import psutil
import pytest
from playwright.sync_api import sync_playwright

from include.sector_report.corrections import corrections_waiting
from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.published_nights import is_published, published_nights
from include.sector_report.reporting.publish import index_lock
from include.sector_report.reporting.render import format_change
from include.sector_report.revisions import Revisions
from include.sector_report.summary import NightSummary
from tests.support import PROJECT_ROOT
from tests.support.airflow_api import (
    DAG_ID,
    DAG_IDS,
    DEADLINE_DAG_ID,
    MONTHLY_DAG_ID,
    RESTATEMENT_DAG_ID,
    Api,
    seoul_date,
)
from tests.support.browser import launch_chromium, signed_in_page
from tests.support.deployment import (
    airflow_cli,
    assert_exact,
    deployment,
    ready_api,
    trigger,
    triggered_night,
    workers_of,
)
from tests.support.landing import days_records, drop_days_file, drop_export, sector_figures
from tests.support.nights import published
from tests.support.report_html import previous_date, report_rows
from tools.airflow_local import AirflowStandalone

pytestmark = [pytest.mark.airflow_server, pytest.mark.postgres, pytest.mark.flink]

# A session's night not published 20 s after its 23:00 run time is late (production: 8 hours).
LATE_AFTER_SECONDS = 20
ONCALL = "oncall@example.com"
# The corrections watcher looks every 2 s (production: 10 s), so a dropped correction is taken up sooner.
CORRECTIONS_POLL_SECONDS = 2
LINEAGE_FILE = "lineage.jsonl"


@pytest.fixture(scope="module")
def airflow(flink_cluster, smtp_server, postgres_server, tmp_path_factory):
    """The deployment (tests.support.deployment) on its own home, data folder and PostgreSQL database."""
    home = tmp_path_factory.mktemp("airflow-home")
    data = tmp_path_factory.mktemp("data")
    settings = {
        # A scheduled night waits 3 minutes for its file whatever the hour: by default it would wait until 06:00
        # Seoul time after its session, already past when the suite runs between 06:00 and 23:00. Not longer:
        # a night the scheduler starts meanwhile (a test run alone, the suite crossing 23:00 in Seoul) holds
        # the manual runs behind it (max_active_runs=1) until it gives up.
        "SECTOR_REPORT_FILE_WAIT_SECONDS": "180",
        "SECTOR_REPORT_ALERT_TO": ONCALL,
        "SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES": str(LATE_AFTER_SECONDS / 60),
        "SECTOR_REPORT_CORRECTIONS_POLL_SECONDS": str(CORRECTIONS_POLL_SECONDS),
        # The deployment's lineage (docker-compose names the console transport), into a file the tests read.
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(home / LINEAGE_FILE), "append": True}
        ),
    }
    url = postgres_server.create_database("deployment")
    with deployment(home, data, database_url=url, flink_port=flink_cluster.rest_port, **settings) as standalone:
        yield standalone, data


@pytest.fixture(scope="module")
def api(airflow) -> Api:
    return ready_api(airflow[0])


@pytest.fixture(autouse=True)
def deployment_as_found(request):
    """Before and after each test that uses the deployment, end what is left queued or running (a failed test's
    runs, or a scheduled night that came due meanwhile)."""
    if "api" in request.fixturenames:
        request.getfixturevalue("api").end_unfinished_runs()
    yield
    if "api" in request.fixturenames:
        request.getfixturevalue("api").end_unfinished_runs()


def test_a_scheduled_night_waits_for_its_file_is_late_until_it_comes_and_runs_on_the_cluster(
    airflow, api, flink_cluster, smtp_server
) -> None:
    standalone, data = airflow
    # Unpaused without catch-up, each DAG schedules the latest trading session whose time has come.
    api.unpause(DAG_ID, DEADLINE_DAG_ID)
    [night] = api.wait_for(lambda: api.runs(DAG_ID, "scheduled"), "the latest session's scheduled night")
    day = seoul_date(night["logical_date"])
    assert night["conf"] == {}, "a scheduled night has no conf: it lands the day's file (SECTOR_REPORT_SOURCE)"

    # The file has not come: the deadline passes and on-call hears that the night is still running.
    late_subject = f"[지연] nightly_sector_report {day}"
    [(recipients, late)] = api.wait_for(lambda: smtp_server.about(late_subject), "the late-night alert")
    assert recipients == [ONCALL]
    body = late.get_body(("html",)).get_content()
    assert "/dags/nightly_sector_report/runs" in body
    assert "대기 중" in body or "실행 중" in body, "the alert says the night's run is queued or running"
    # (Unpaused in the first seconds after 23:00, the deadline DAG also schedules the previous session's check.)
    assert day in {seoul_date(check["logical_date"]) for check in api.runs(DEADLINE_DAG_ID, "scheduled")}

    drop_days_file(data, day, rows=1000)
    run = api.finished_run(night["dag_run_id"])
    assert run["state"] == "success"
    result = api.aggregate_result(run["dag_run_id"])
    assert result["target"] == "remote"
    night_folder = RunFolder.for_date(data, day)
    # The job reads each landed transaction and each line of the stock lookup once.
    with night_folder.stocks_csv.open(newline="") as lookup:
        stocks = sum(1 for _ in csv.reader(lookup))
    assert result["records_read"] == 1000 + stocks
    assert [job["state"] for job in flink_cluster.jobs() if job["jid"] == result["job_id"]] == ["FINISHED"]
    assert_exact(published(data, day))
    # The deployment's lineage: the job read the landed input and wrote its two sinks.
    events = [json.loads(line) for line in (standalone.home / LINEAGE_FILE).read_text().splitlines() if line]
    landed = sorted([str(night_folder.stocks_csv), str(night_folder.transactions_csv)])
    [complete] = [
        e for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == f"{DAG_ID}.aggregate"
        and sorted(d["name"] for d in e["inputs"]) == landed
    ]  # fmt: skip
    sinks = sorted([str(night_folder.sector_sink_dir), str(night_folder.stock_sink_dir)])
    assert sorted(d["name"] for d in complete["outputs"]) == sinks


@pytest.mark.browser
def test_make_trigger_passes_any_json_conf_and_a_cleared_rerun_replaces_the_outputs(airflow, api) -> None:
    standalone, data = airflow
    api.unpause(DAG_ID)
    conf = {"source": "generate", "rows": 2500, "seed": 11, "locale": "en", "note": 'it\'s "quoted", $HOME, 한국어'}
    result = subprocess.run(
        ["make", "-s", "trigger", f"CONF={json.dumps(conf, ensure_ascii=False)}",
         "LOGICAL_DATE=2024-05-02T00:00:00+00:00"],
        cwd=PROJECT_ROOT, env=standalone.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    first = api.run_of(DAG_ID, "manual", "2024-05-02")
    assert first["conf"] == conf
    assert api.finished_run(first["dag_run_id"])["state"] == "success"
    run = RunFolder.for_date(data, "2024-05-02")
    first_summary = run.summary_json.read_text()
    first_job = api.aggregate_result(first["dag_run_id"])["job_id"]
    assert json.loads(first_summary)["totals"]["rows"] == 2500
    assert "Sector transaction summary" in published(data, "2024-05-02").report_html.read_text()

    # Run the same date again as an operator does, with the late-night alert on: "Clear Run" in the UI makes
    # the scheduler run every task anew, a new Flink job included.
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in_page(browser, standalone.url)
        page.goto(f"{standalone.url}/dags/{DAG_ID}/runs/{urllib.parse.quote(first['dag_run_id'], safe='')}")
        page.get_by_role("button", name="Press shift+c to clear").click()  # the run's "Clear" (its tooltip)
        dialog = page.get_by_role("dialog")
        assert "Clear Dag Run" in dialog.get_by_role("heading").first.inner_text()
        dialog.get_by_text("Affected Tasks: 11").wait_for(timeout=30_000)
        dialog.get_by_role("button", name="Confirm").click()
        # The dialog closes once the clear is accepted; a refused one leaves it open under an error toast.
        dialog.wait_for(state="hidden", timeout=30_000)
        browser.close()
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
    index = DataFolder(data).index_html.read_text()
    assert index.count("revisions/2024-05-02/") == 1, "listed once: its latest revision"
    assert published(data, "2024-05-02").number == 2


def test_a_backfill_plans_only_trading_sessions_and_gives_the_reports_of_nights_in_date_order(airflow, api) -> None:
    standalone, data = airflow
    # Planned, not run: May 2025 without 1 May (Labour Day), 5 and 6 May (Children's Day, Buddha's Birthday
    # observed) and the weekends.
    plan = airflow_cli(standalone, "backfill", "create", "--dag-id", DAG_ID, "--from-date", "2025-05-01",
                       "--to-date", "2025-05-31", "--dry-run")  # fmt: skip
    planned = sorted({seoul_date(moment) for moment in _logical_dates(plan)})
    weekdays = [dt.date(2025, 5, d) for d in range(1, 32) if dt.date(2025, 5, d).weekday() < 5]
    assert planned == [d.isoformat() for d in weekdays if d.day not in (1, 5, 6)]

    api.unpause(DAG_ID)
    conf = {"source": "generate", "rows": 600, "locale": "en"}
    # --max-active-runs 3: Airflow may run all three sessions at once; each report still compares with the one
    # before. Both ends of the range are included.
    airflow_cli(standalone, "backfill", "create", "--dag-id", DAG_ID, "--from-date", "2023-01-02",
                "--to-date", "2023-01-04", "--max-active-runs", "3", "--dag-run-conf", json.dumps(conf))  # fmt: skip
    runs = api.wait_for(lambda: len(found := api.runs(DAG_ID, "backfill")) == 3 and found, "the backfill's three runs")
    assert [api.finished_run(run["dag_run_id"])["state"] for run in runs] == ["success"] * 3
    days = sorted(seoul_date(run["logical_date"]) for run in runs)
    assert days == ["2023-01-02", "2023-01-03", "2023-01-04"]
    # As nightly runs one after another would: each report compares with the day before, as its figures say.
    for earlier, day in zip([None, *days], days, strict=False):
        night = published(data, day)
        assert previous_date(night.report_html) == earlier
        shown = report_rows(night.report_html)
        values = NightSummary.read(night).values_by_sector()
        before = NightSummary.read(published(data, earlier)).values_by_sector() if earlier else {}
        for sector, value in values.items():
            change = (value - before[sector]) / before[sector] * 100 if sector in before else None
            assert shown[sector][-1].strip() == format_change(change)


def _logical_dates(dry_run_output: str) -> list[str]:
    """The logical dates a `backfill create --dry-run` lists (after its parameters)."""
    dry_run_output = dry_run_output.split("Runs to be attempted:", 1)[1]
    return [
        f"{day}T{time}"
        for day, time in re.findall(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d[+-]\d\d:\d\d)", dry_run_output)
    ]


def test_a_failed_night_alerts_and_clearing_it_through_the_api_publishes_it(airflow, api, smtp_server) -> None:
    standalone, data = airflow
    api.unpause(DAG_ID)
    # Not shorter: a deferral that ends within about 5 s of deferring (the supervisor's select timeout) can
    # race Airflow's executor event for the deferring try, which the scheduler then retries (seen on a loaded
    # machine: two tries, two alerts).
    conf = {"source": "file", "file_wait_timeout": 15, "alert_to": [ONCALL]}
    night = trigger(api, "2024-09-02", conf)
    assert api.finished_run(night["dag_run_id"])["state"] == "failed"
    failed_subject = "[실패] nightly_sector_report 2024-09-02: wait_for_input"
    [(_, failed)] = api.wait_for(lambda: smtp_server.about(failed_subject), "the failure alert")
    assert f"No file arrived in {DataFolder(data).incoming}" in failed.get_body(("html",)).get_content()
    assert not smtp_server.about("[지연] nightly_sector_report 2024-09-02"), "a night run by hand is no session's"

    # The file comes late; an operator clears the failed tasks through the REST API (the UI's "Clear").
    drop_days_file(data, "2024-09-02", rows=200)
    cleared = api.call(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        {"dag_run_id": night["dag_run_id"], "only_failed": True, "reset_dag_runs": True, "dry_run": False},
    )
    assert {ti["task_id"] for ti in cleared["task_instances"]} >= {"wait_for_input", "prepare_input", "publish"}
    assert api.finished_run(night["dag_run_id"])["state"] == "success"
    assert_exact(published(data, "2024-09-02"))
    assert "revisions/2024-09-02/r1/report.html" in DataFolder(data).index_html.read_text()


def test_a_published_night_triggers_the_monthly_rollup_through_its_asset(airflow, api) -> None:
    standalone, data = airflow
    # The deployment's one step that turns the package on: every DAG a night needs is unpaused.
    unpaused = subprocess.run(
        ["make", "-s", "unpause"], cwd=PROJECT_ROOT, env=standalone.env, capture_output=True, text=True, timeout=300
    )
    assert unpaused.returncode == 0, unpaused.stderr[-3000:]
    assert [api.call("GET", f"/dags/{dag_id}")["is_paused"] for dag_id in DAG_IDS] == [False] * len(DAG_IDS)
    night = trigger(api, "2023-01-05", {"source": "generate", "rows": 300})
    assert api.finished_run(night["dag_run_id"])["state"] == "success"

    # No month param: the months are the triggering reports' (the events of the nights published
    # while the monthly DAG was paused come in one batch: every month among them is rolled up).
    month_summary = DataFolder(data).month("2023-01").summary_json

    def rolled_up():
        return month_summary.is_file() and "2023-01-05" in json.loads(month_summary.read_text())["days_published"]

    api.wait_for(rolled_up, "the asset-triggered monthly run to roll up 2023-01-05")
    rollups = api.runs(MONTHLY_DAG_ID, "asset_triggered")
    assert rollups
    assert all(api.finished_run(r["dag_run_id"], MONTHLY_DAG_ID)["state"] == "success" for r in rollups)
    summary = json.loads(month_summary.read_text())
    nights = [night for night in published_nights(DataFolder(data)) if night.date.startswith("2023-01")]
    assert summary["days_published"] == [night.date for night in nights]
    assert sum(d["transaction_count"] for d in summary["days"]) == sum(
        NightSummary.read(night).totals.rows for night in nights
    )


def test_a_taskmanager_killed_mid_job_ends_the_night_exact_or_failed_never_half_published(
    airflow, api, flink_cluster
) -> None:
    standalone, data = airflow
    night = triggered_night(api, "2024-10-07", {"source": "generate", "rows": 4_000_000, "seed": 4})
    name = f"{DAG_ID}.aggregate {night['dag_run_id']}"
    api.wait_for(
        lambda: any(j["name"] == name and j["tasks"]["running"] for j in flink_cluster.jobs()),
        "the night's Flink job to run tasks on the TaskManager",
        every=0.1,  # its tasks run for a few seconds
    )
    for pid in flink_cluster.taskmanager_pids():
        os.kill(pid, signal.SIGKILL)
    # A new TaskManager comes up, as a deployment's supervisor brings it back (docker-compose restarts it).
    flink_cluster.restart_taskmanager()

    run = api.finished_run(night["dag_run_id"])
    states = sorted(job["state"] for job in flink_cluster.jobs() if job["name"] == name)
    if run["state"] == "success":
        # Killed under running tasks, the job failed and the retry ran a new one on the new TaskManager;
        # killed in the instant before its tasks were deployed, the job waited for the new TaskManager's slots.
        assert states in (["FAILED", "FINISHED"], ["FINISHED"])
        assert_exact(published(data, "2024-10-07"))
    else:
        assert "FINISHED" not in states
        assert not is_published(DataFolder(data), "2024-10-07"), "a failed job publishes nothing"


def test_the_flink_provider_and_its_connection_form(airflow, api, flink_cluster) -> None:
    standalone, _ = airflow
    providers = airflow_cli(standalone, "providers", "list", "--output", "json")
    [provider] = [p for p in json.loads(providers) if p["package_name"] == "airflow-flink-sql"]
    assert provider["version"] == airflow_flink_sql.__version__
    # What the UI's connection form is built from (its own API): "Apache Flink", with the REST endpoint's fields.
    hooks = api.call("GET", "/connections/hook_meta", api="/ui")
    [flink] = [hook for hook in hooks if hook["connection_type"] == "flink"]
    assert flink["hook_name"] == "Apache Flink"
    fields = flink["standard_fields"]
    assert fields["host"]["title"] == "REST host"
    assert fields["port"]["title"] == "REST port"
    assert fields["login"]["hidden"]
    assert fields["password"]["hidden"]
    tested = api.call(
        "POST",
        "/connections/test",
        {
            "connection_id": "flink_form",
            "conn_type": "flink",
            "host": "localhost",
            "port": flink_cluster.rest_port,
        },  # fmt: skip
    )
    assert tested["status"] is True
    assert tested["message"].startswith("Flink 2.3.0 at http://localhost:")


def what_readers_see(data: Path, day: str) -> dict[str, bytes]:
    """The date's pointer and every file of the revision it names."""
    night = published(data, day)
    files = {str(f.relative_to(data)): f.read_bytes() for f in sorted(night.root.rglob("*")) if f.is_file()}
    return {"pointer": DataFolder(data).pointer(day).read_bytes(), **files}


def history_of(data: Path, day: str) -> list[tuple[str, int]]:
    return [
        (line.get("event", "published"), line["revision"])
        for line in Revisions(DataFolder(data).revisions(day)).history()
    ]


def test_clearing_any_task_leaves_what_readers_see_until_a_publish_succeeds(airflow, api, flink_cluster) -> None:
    """Each task cleared alone, as an operator may (the UI's Clear without downstream), then from aggregate with its
    downstream tasks: the published revision is byte for byte what it was, and in the index, until publish ends."""
    standalone, data = airflow
    day = "2024-11-04"
    night = triggered_night(api, day, {"source": "generate", "rows": 2000, "seed": 5})
    assert api.finished_run(night["dag_run_id"])["state"] == "success"
    first = what_readers_see(data, day)
    assert api.asset_events(night) == 1

    def cleared_alone(task_id: str) -> None:
        assert api.clear(night, [task_id], downstream=False) == [task_id]
        assert api.finished_run(night["dag_run_id"])["state"] == "success", f"{task_id} cleared alone: a green run"

    cleared_alone("publish")  # publishes nothing new: the revision is published already
    assert what_readers_see(data, day) == first
    assert api.asset_events(night) == 2, "published again: one Asset event more"
    for task_id in ("aggregate", "render_report"):  # rewrites the work area: its sinks, then a rendered revision 2
        cleared_alone(task_id)
        assert what_readers_see(data, day) == first, f"{task_id} cleared alone changed nothing readers see"
        assert f"revisions/{day}/r1/report.html" in DataFolder(data).index_html.read_text()
    cleared_alone("publish")  # the rendered revision 2, now published
    assert published(data, day).number == 2
    assert history_of(data, day) == [("published", 1), ("published", 2)]
    second = what_readers_see(data, day)
    cleared_alone("prepare_input")  # the work area landed anew (the kept revision's linked input untouched)
    assert what_readers_see(data, day) == second

    first_job = api.aggregate_result(night["dag_run_id"])["job_id"]
    name = f"{DAG_ID}.aggregate {night['dag_run_id']}"
    jobs_before = len([job for job in flink_cluster.jobs() if job["name"] == name])
    assert "publish" in api.clear(night, ["aggregate"], downstream=True)
    api.wait_for(
        lambda: len([job for job in flink_cluster.jobs() if job["name"] == name]) == jobs_before + 1,
        "the rerun's Flink job on the cluster",
        every=0.2,
    )
    assert what_readers_see(data, day) == second, "still published, as it was, while the night is made again"
    rerun = api.wait_for(
        lambda: (
            (r := api.finished_run(night["dag_run_id"]))
            and api.aggregate_result(r["dag_run_id"])["job_id"] != first_job
            and r
        ),
        "the night cleared from aggregate to run again",
    )
    assert rerun["state"] == "success"
    assert history_of(data, day) == [("published", 1), ("published", 2), ("published", 3)]
    assert_exact(published(data, day))


def test_a_publish_the_disk_refuses_publishes_and_records_nothing_and_clearing_it_once_fixed_publishes_revision_1(
    airflow, api
) -> None:
    standalone, data = airflow
    day = "2024-11-05"
    index = DataFolder(data).index_html
    before = index.read_bytes() if index.is_file() else None
    index.unlink(missing_ok=True)
    index.mkdir()  # the index write refused on every try
    try:
        night = triggered_night(api, day, {"source": "generate", "rows": 2000, "seed": 6})
        assert api.finished_run(night["dag_run_id"])["state"] == "failed"
        publish = api.task(night["dag_run_id"], "publish")
        assert publish["state"] == "failed"
        assert publish["try_number"] == 3, "each try failed the same way"
        assert not is_published(DataFolder(data), day)
        assert history_of(data, day) == [], "no line for a revision no reader saw"
        assert RunFolder.for_date(data, day).staged_report_html.is_file()
        assert day not in [n.date for n in published_nights(DataFolder(data))]
        assert f"revisions/{day}/" not in DataFolder(data).latest_html.read_text()
        assert not [p.name for p in data.glob(".index.html.*")], "no page left beside its place"
        assert api.asset_events(night) == 0
    finally:
        index.rmdir()
        if before is not None:
            index.write_bytes(before)
    # The cause removed, an operator clears the failed task: revision 1 is published, with one line.
    assert api.clear(night, ["publish"], downstream=True) == ["deliver_report", "publish"]
    assert api.finished_run(night["dag_run_id"])["state"] == "success"
    assert published(data, day).number == 1
    assert history_of(data, day) == [("published", 1)]
    assert f"revisions/{day}/r1/report.html" in index.read_text()
    assert api.asset_events(night) == 1
    assert_exact(published(data, day))


def test_a_worker_killed_after_publish_moved_the_pointer_leaves_a_publication_the_retry_completes(airflow, api) -> None:
    """kill -9 after the moment of publication, before ``publish`` ends. With the scheduler held while the report is
    rendered, the test takes the index lock before publish starts, so publish waits just before publishing; then it
    stops the API server and lets go of the lock: publish moves the pointer, writes the index and its history line,
    and waits on the API server (to register the report's link). There its worker is killed."""
    standalone, data = airflow
    day = "2024-10-14"
    night = triggered_night(api, day, {"source": "generate", "rows": 2000, "seed": 14})
    api.wait_for(
        lambda: api.task(night["dag_run_id"], "render_report")["state"] == "running", "render_report", every=0.2
    )
    [scheduler] = airflow_component(standalone, "scheduler")
    with ExitStack() as lock:
        with suspended([scheduler]):  # publish is not scheduled until the lock is taken
            api.wait_for(lambda: api.task(night["dag_run_id"], "render_report")["state"] == "success", "the render")
            lock.enter_context(index_lock(DataFolder(data)))
        api.wait_for(lambda: api.task(night["dag_run_id"], "publish")["state"] == "running", "publish to start")
        worker = worker_of(api, night["dag_run_id"], "publish")
        api.wait_for(lambda: waits_for_a_lock(worker), "publish to wait for the index lock", every=0.2)
        api_server = airflow_component(standalone, "api_server")
        api_server += [child for process in api_server for child in process.children(recursive=True)]
        with suspended(api_server):
            lock.close()
            api.wait_for(
                lambda: (
                    history_of(data, day) == [("published", 1)]
                    and f"revisions/{day}/r1/" in DataFolder(data).index_html.read_text()
                ),
                "publish to move the pointer, write the index and its history line",
                every=0.2,
            )
            seen = what_readers_see(data, day)
            time.sleep(1)  # on to the API server, which does not answer
            assert api_server
            assert worker.is_running(), "publish waits on the API server after publishing"
            for process in [*worker.children(recursive=True), worker]:
                process.kill()
    run = api.finished_run(night["dag_run_id"])
    assert run["state"] == "success"
    assert api.task(night["dag_run_id"], "publish")["try_number"] == 2, "the killed try was retried"
    assert what_readers_see(data, day) == seen, "the retry completed the publication, rewriting nothing"
    assert history_of(data, day) == [("published", 1)], "one line: the revision readers saw, once"
    assert api.asset_events(night) == 1
    assert_exact(published(data, day))


def airflow_component(standalone: AirflowStandalone, name: str) -> list[psutil.Process]:
    """The process of ``airflow standalone``'s component ``name`` (``scheduler``, ``api_server``)."""
    standalone_process = psutil.Process(int(standalone.pid_file.read_text()))
    # (A component may set its process title: the api-server's reads "airflow api_server -- host:… port:…".)
    return [p for p in standalone_process.children() if name in " ".join(p.cmdline())]


@contextmanager
def suspended(processes: list[psutil.Process]) -> Iterator[None]:
    for process in processes:
        process.suspend()
    try:
        yield
    finally:
        for process in processes:
            process.resume()


def waits_for_a_lock(process: psutil.Process) -> bool:
    """Whether ``process`` or one of its children is blocked on a file lock (``/proc/locks``' "->" lines)."""
    pids = {str(p.pid) for p in [process, *process.children(recursive=True)]}
    waiting = [line.split() for line in Path("/proc/locks").read_text().splitlines() if " -> " in line]
    return any(fields[5] in pids for fields in waiting)


def worker_of(api: Api, run_id: str, task_id: str) -> psutil.Process:
    """The process running a task of the run."""
    [worker] = workers_of(api.task(run_id, task_id)["id"])
    return worker


@contextmanager
def without_taskmanagers(flink_cluster) -> Iterator[None]:
    """The cluster without TaskManagers: a night's Flink job runs on it, waiting for slots, for as long as a test
    needs (a job that computes may end before the test acts); a TaskManager is back at the end, whatever happens."""
    flink_cluster.stop_taskmanagers()
    try:
        yield
    finally:
        flink_cluster.restart_taskmanager()


def night_waiting_on_the_cluster(api: Api, flink_cluster, day: str, **conf) -> tuple[dict, str]:
    """A small night triggered on a cluster without TaskManagers, once its Flink job runs there: its run and the
    job's name."""
    night = triggered_night(api, day, {"source": "generate", "rows": 300, "flink_slot_wait": 600, **conf})
    name = f"{DAG_ID}.aggregate {night['dag_run_id']}"
    api.wait_for(
        lambda: [j["state"] for j in flink_cluster.jobs() if j["name"] == name] == ["RUNNING"],
        "the night's Flink job on the cluster",
    )
    return night, name


@pytest.mark.parametrize(
    ("stop", "day"),
    [(signal.SIGKILL, "2024-10-04"), (signal.SIGTERM, "2024-10-08")],
    ids=["killed", "stopped-gracefully"],  # kill -9, the OOM killer; a deploy: Kubernetes, Celery, docker-compose stop
)
def test_a_worker_killed_or_stopped_mid_job_leaves_the_job_running_and_the_retry_reconnects(
    airflow, api, flink_cluster, stop: signal.Signals, day: str
) -> None:
    standalone, data = airflow
    with without_taskmanagers(flink_cluster):
        night, name = night_waiting_on_the_cluster(api, flink_cluster, day)
        stopped_at = dt.datetime.now(dt.UTC)
        worker_of(api, night["dag_run_id"], "aggregate").send_signal(stop)
        # The job is still waiting when the retry looks for it: the TaskManager comes back once the retry runs.
        api.wait_for(
            lambda: (ti := api.task(night["dag_run_id"], "aggregate"))["try_number"] == 2 and ti["state"] == "running",
            "the retry of aggregate to run",
            every=0.2,
        )

    run = api.finished_run(night["dag_run_id"])
    assert run["state"] == "success"
    aggregate = api.task(night["dag_run_id"], "aggregate")
    assert aggregate["try_number"] == 2, "the worker's try ended: the task was retried"
    jobs = [job for job in flink_cluster.jobs() if job["name"] == name]
    assert [job["state"] for job in jobs] == ["FINISHED"], "the retry reconnected: one Flink job for the night"
    assert api.aggregate_result(night["dag_run_id"])["job_id"] == jobs[0]["jid"]
    assert_exact(published(data, day))
    reconnected = (dt.datetime.fromisoformat(aggregate["start_date"]) - stopped_at).total_seconds()
    print(f"\n{stop.name} to the worker: the retry started {reconnected:.1f} s later (retry delay 3 s)")


def test_marking_a_night_failed_mid_job_cancels_its_flink_job(airflow, api, flink_cluster) -> None:
    standalone, data = airflow
    with without_taskmanagers(flink_cluster):
        night, name = night_waiting_on_the_cluster(api, flink_cluster, "2024-10-09")
        quoted = urllib.parse.quote(night["dag_run_id"], safe="")
        marked_at = time.monotonic()
        api.call("PATCH", f"/dags/{DAG_ID}/dagRuns/{quoted}", {"state": "failed"})
        api.wait_for(
            lambda: [j["state"] for j in flink_cluster.jobs() if j["name"] == name] == ["CANCELED"],
            "the night's Flink job to be cancelled on the cluster",
            every=0.5,
        )
        print(f"\nmarked failed: the night's Flink job cancelled {time.monotonic() - marked_at:.1f} s later")
    assert not is_published(DataFolder(data), "2024-10-09")


def test_a_night_without_taskmanagers_fails_at_its_slot_limit_saying_why_and_the_next_night_runs(
    airflow, api, flink_cluster, smtp_server
) -> None:
    standalone, data = airflow
    with without_taskmanagers(flink_cluster):
        night = triggered_night(api, "2024-10-10", {"source": "generate", "rows": 300, "flink_slot_wait": 5})
        assert api.finished_run(night["dag_run_id"])["state"] == "failed"
    name = f"{DAG_ID}.aggregate {night['dag_run_id']}"
    states = [job["state"] for job in flink_cluster.jobs() if job["name"] == name]
    assert states == ["CANCELED"] * 3, "each try's job was cancelled at the limit: none is left waiting"
    subject = "[실패] nightly_sector_report 2024-10-10: aggregate"
    [(_, alert)] = api.wait_for(lambda: smtp_server.about(subject), "the failure alert")
    assert "no TaskManager offered it slots in 5 s (the cluster has 0 TaskManager(s), 0 of 0 slots free)" in (
        alert.get_body(("html",)).get_content()
    )
    assert not is_published(DataFolder(data), "2024-10-10")
    # At the deadline, on-call also hears which task failed and why.
    api.unpause(DEADLINE_DAG_ID)
    api.call("POST", f"/dags/{DEADLINE_DAG_ID}/dagRuns", {"logical_date": night["logical_date"]})
    [(_, late)] = api.wait_for(lambda: smtp_server.about("[지연] nightly_sector_report 2024-10-10"), "the late alert")
    body = late.get_body(("html",)).get_content()
    assert "실패" in body
    assert "aggregate" in body
    assert "no TaskManager offered it slots in 5 s" in body

    following = trigger(api, "2024-10-11", {"source": "generate", "rows": 300})
    assert api.finished_run(following["dag_run_id"])["state"] == "success"


READER = "desk@example.com"
CORRECTED_DAY = "2022-11-02"


def revision_published(data: Path, day: str, number: int) -> bool:
    return any(record["revision"] == number for record in Revisions.of(DataFolder(data).run(day)).history())


def month_figures(data: Path, month: str) -> dict[str, tuple[Decimal, int, int]]:
    summary = json.loads(DataFolder(data).month(month).summary_json.read_text())
    return {
        s["sector"]: (Decimal(s["total_value"]), s["total_volume"], s["transaction_count"]) for s in summary["sectors"]
    }


def figures_of(summary: NightSummary) -> dict[str, tuple[Decimal, int, int]]:
    return {s.sector: (s.total_value, s.total_volume, s.transaction_count) for s in summary.sectors}


def published_figures(data: Path, day: str) -> dict[str, tuple[Decimal, int, int]]:
    return figures_of(NightSummary.read(published(data, day)))


def difference(after: dict[str, tuple], before: dict[str, tuple]) -> dict[str, tuple]:
    """Per sector, ``after`` less ``before`` (a sector missing on one side counts as zeros)."""
    zeros = (Decimal(0), 0, 0)
    return {
        sector: tuple(a - b for a, b in zip(after.get(sector, zeros), before.get(sector, zeros), strict=True))
        for sector in {*after, *before}
    }


def test_a_corrected_file_reissues_its_night_as_its_next_revision_and_the_month_and_readers_follow(
    airflow, api, smtp_server
) -> None:
    standalone, data = airflow
    day, month = CORRECTED_DAY, CORRECTED_DAY[:7]
    revisions = Revisions(DataFolder(data).revisions(day))
    api.unpause(DAG_ID, MONTHLY_DAG_ID, RESTATEMENT_DAG_ID)
    original = days_records(day, 300)
    drop_export(data, f"export_{day}.csv", original)
    first = triggered_night(api, day, {"source": "file", "email_to": [READER]})
    assert api.finished_run(first["dag_run_id"])["state"] == "success"
    assert published_figures(data, day) == sector_figures(original)
    month_summary = DataFolder(data).month(month).summary_json
    api.wait_for(
        lambda: month_summary.is_file() and day in json.loads(month_summary.read_text())["days_published"],
        f"the month {month} to roll up {day}",
    )
    month_before = month_figures(data, month)
    revision_1 = revisions.revision(1).report_html.read_bytes()

    # Late trades, a cancellation and a busted trade: the sender drops the corrected export.
    corrected = [*original[:-20], original[0].replace("1000.25", "1999.75"), f"105560,금융,61000.50,30,{day}"]
    dropped = time.monotonic()
    drop_export(data, f"export_{day}_corrected.csv", corrected)
    api.wait_for(lambda: revision_published(data, day, 2), f"revision 2 of {day}")
    drop_to_published = time.monotonic() - dropped
    print(f"A corrected file dropped to revision 2 published: {drop_to_published:.1f} s")
    assert published_figures(data, day) == sector_figures(corrected), "exact against the corrected file itself"
    assert revisions.revision(1).report_html.read_bytes() == revision_1
    assert published(data, day) == revisions.revision(2)
    [restatement] = api.runs(RESTATEMENT_DAG_ID, "asset_triggered")
    assert api.finished_run(restatement["dag_run_id"], RESTATEMENT_DAG_ID)["state"] == "success"
    record = revisions.history()[-1]
    assert record["input_files"][0]["name"] == f"export_{day}_corrected.csv"
    assert record["run_id"] == restatement["dag_run_id"]

    # The month is re-rolled with revision 2: each sector moves by exactly the night's difference.
    def month_says_revised() -> bool:
        summary = json.loads(month_summary.read_text())
        return [d["revision"] for d in summary.get("days_revised", []) if d["date"] == day] == [2]

    api.wait_for(month_says_revised, f"the month {month} to roll up revision 2 of {day}")
    assert json.loads(month_summary.read_text())["final"] is True, "a closed month stays final after a correction"
    night_moved = difference(published_figures(data, day), figures_of(NightSummary.read(revisions.revision(1))))
    assert difference(month_figures(data, month), month_before) == night_moved
    [(to, mail)] = api.wait_for(
        lambda: smtp_server.about(f"[정정] 섹터별 금융 데이터 요약 {day}: 개정판 2"), "the correction mail"
    )
    assert to == [READER]
    body = mail.get_body(("html",)).get_content()
    assert f"export_{day}_corrected.csv" in body
    assert re.search(r'<tr data-sector="금융".*?data-figure="total_value">\+1,830,015\.00<', body, re.S)

    # The same corrected file dropped again starts nothing: the watcher's own question finds nothing waiting, and
    # the watcher, asking it three times meanwhile, fires nothing.
    drop_export(data, f"export_{day}_corrected_again.csv", corrected)
    assert corrections_waiting(str(data)) == []
    time.sleep(3 * CORRECTIONS_POLL_SECONDS)
    assert len(api.runs(RESTATEMENT_DAG_ID, "asset_triggered")) == 1

    # A corrected file that fails: revision 2 stays published, on-call is told.
    drop_export(data, f"export_{day}_broken.csv", [f"005930,반도체,not-a-price,1,{day}"] * 10)
    failed_subject = f"[실패] {RESTATEMENT_DAG_ID} {day}: prepare_input"
    api.wait_for(lambda: smtp_server.about(failed_subject), "the failed restatement's alert")
    assert published(data, day) == revisions.revision(2)
    assert [r["revision"] for r in revisions.history()] == [1, 2]

    # A second correction: revision 3, and both earlier revisions readable as they were.
    revision_2 = revisions.revision(2).report_html.read_bytes()
    dropped = time.monotonic()
    drop_export(data, f"export_{day}_corrected_2.csv", corrected[:-1])
    api.wait_for(lambda: revision_published(data, day, 3), f"revision 3 of {day}")
    print(f"A second corrected file dropped to revision 3 published: {time.monotonic() - dropped:.1f} s")
    assert published_figures(data, day) == sector_figures(corrected[:-1])
    assert (revisions.revision(1).report_html.read_bytes(), revisions.revision(2).report_html.read_bytes()) == (
        revision_1,
        revision_2,
    )
    assert 'data-revision="3"' in DataFolder(data).index_html.read_text()
