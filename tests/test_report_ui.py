"""The report as people see it: in headless Chromium, and inside a real Airflow api-server through the plugin.

Screenshots are saved in each test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from playwright.sync_api import sync_playwright

from include.sector_report.run_folder import RunFolder
from tests.airflow_admin import PASSWORD, admin_env, admin_token
from tools.processes import free_port

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
DAY = "2024-04-01"
# Without these, Chromium keeps trying to reach Google's services on this offline machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is required for the browser tests: `make test` installs it (apt-get).")
    return path


@pytest.fixture(scope="module")
def published_run(airflow_db, data_root):
    """One real nightly run (Flink included), so the DB has the run, its XComs, and the report on disk."""
    dag = DagBag(dag_folder=DAGS_FOLDER).dags["nightly_sector_report"]
    for task in dag.tasks:
        task.retries = 0
    logical_date = dt.datetime.fromisoformat(DAY).replace(tzinfo=dt.UTC)
    dag_run = dag.test(logical_date=logical_date, run_conf={"locale": "en", "rows": 500})
    assert dag_run.state == "success"
    return dag_run.run_id, RunFolder.for_date(data_root, DAY)


@pytest.fixture(scope="module")
def api_server(published_run, tmp_path_factory):
    """A real `airflow api-server` on the test's Airflow home, with one admin user."""
    home = tmp_path_factory.mktemp("api-server")
    port = free_port()
    env = {**os.environ, **admin_env(home)}
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"api-server exited with {server.returncode}; see {home / 'api-server.log'}")
            try:
                urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        else:
            pytest.fail(f"api-server did not answer in 120 s; see {home / 'api-server.log'}")
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def status_of(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_report_renders_offline_in_chromium(chromium, published_run, tmp_path) -> None:
    _, run = published_run
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(run.report_html.as_uri())
        sectors = page.locator("#sector-table tbody tr")
        assert sectors.count() == 3
        assert page.locator("#value-chart rect").count() == 3
        assert page.locator("#value-chart rect").first.bounding_box()["width"] > 100
        assert page.locator("#top-stocks table").count() == 3
        assert page.locator("#kpi-transactions").inner_text() == "500"
        page.screenshot(path=tmp_path / "report.png", full_page=True)
        browser.close()
    assert [url for url in requests if not url.startswith("file://")] == [], "the report must need no network"
    print(f"screenshot: {tmp_path / 'report.png'}")


def test_anonymous_and_forged_requests_are_refused(api_server, published_run) -> None:
    run_id, _ = published_run
    for path in (
        "/reports/",
        "/reports/reports/index.html",
        f"/reports/runs/{DAY}/report.html",
        f"/reports/dags/nightly_sector_report/runs/{run_id}",
    ):
        assert status_of(api_server + path) == 401, path
        assert status_of(api_server + path, token="not-a-jwt") in (401, 403), path


def test_only_html_reports_under_the_root_are_served(api_server, published_run) -> None:
    token = admin_token(api_server)
    assert status_of(f"{api_server}/reports/runs/{DAY}/report.html", token) == 200
    assert status_of(f"{api_server}/reports/runs/{DAY}/control.json", token) == 404
    assert status_of(f"{api_server}/reports/runs/{DAY}/input/transactions.csv", token) == 404
    assert status_of(f"{api_server}/reports/..%2F..%2F..%2Fetc%2Fpasswd", token) == 404


def test_a_user_logs_in_finds_the_dag_and_opens_its_report(chromium, api_server, published_run, tmp_path) -> None:
    run_id, _ = published_run
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{api_server}/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{api_server}/", timeout=30_000)

        page.goto(f"{api_server}/dags")
        page.get_by_text("nightly_sector_report").first.wait_for(timeout=30_000)
        page.screenshot(path=tmp_path / "dags.png")

        # The run's "Report" tab points here; the plugin redirects to the report the run published.
        page.goto(f"{api_server}/reports/dags/nightly_sector_report/runs/{run_id}")
        assert page.url == f"{api_server}/reports/runs/{DAY}/report.html"
        assert page.locator("#sector-table tbody tr").count() == 3
        assert run_id in page.locator("#run-facts").inner_text()
        page.screenshot(path=tmp_path / "report-in-airflow.png", full_page=True)

        # The "Reports" navigation entry embeds the reports index in the UI.
        page.goto(f"{api_server}/plugin/reports")
        index = page.frame_locator("iframe").first
        index.locator(f"a[href='../runs/{DAY}/report.html']").wait_for(timeout=30_000)
        page.screenshot(path=tmp_path / "reports-nav.png")
        browser.close()
    print(f"screenshots: {tmp_path}")
