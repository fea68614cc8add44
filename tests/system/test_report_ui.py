"""The report as people see it: in headless Chromium, and inside a real Airflow api-server through the plugin.

Screenshots are saved in each test's temporary folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from playwright.sync_api import sync_playwright

from include.sector_report.layout import RunFolder
from include.sector_report.revisions import Revisions
from include.sector_report.summary import NightSummary
from tests.support import PROJECT_ROOT
from tests.support.airflow_admin import PASSWORD, admin_env, admin_token
from tests.support.browser import launch_chromium, signed_in_page
from tests.support.landing import days_records, drop_export, landed_rows
from tests.support.nights import published
from tools.processes import free_port
from tools.waiting import wait_for

pytestmark = [pytest.mark.airflow_server, pytest.mark.flink]

DAGS_FOLDER = PROJECT_ROOT / "dags"
DAY = "2024-04-01"


@pytest.fixture(scope="module")
def published_runs(airflow_db, data_root):
    """Two real nights, the latest restated from a corrected file, and their month (Flink included): the DB has
    the runs and their XComs, the data folder the reports. Returns the latest night's run id and published revision,
    its restatement's run id, and the month's run id."""
    bag = DagBag(dag_folder=DAGS_FOLDER)
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0
    nights = {}
    for day, rows in (("2024-03-29", 800), (DAY, 500)):
        logical_date = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
        night = bag.dags["nightly_sector_report"].test(
            logical_date=logical_date, run_conf={"locale": "en", "rows": rows}
        )
        assert night.state == "success"
        nights[day] = night.run_id
    # The latest night restated by hand from its corrected file (as test_end_to_end does it): its revision 2,
    # which the month then rolls up.
    drop_export(data_root, f"export_{DAY}_corrected.csv", corrected_export(RunFolder.for_date(data_root, DAY)))
    restatement = bag.dags["sector_report_restatement"].test(run_conf={"date": DAY, "locale": "en"})
    assert restatement.state == "success"
    folder = published(data_root, DAY)
    assert folder.number == 2
    month = bag.dags["monthly_sector_report"].test(
        logical_date=dt.datetime(2024, 4, 1, 16, tzinfo=dt.UTC), run_conf={"month": "2024-04", "locale": "en"}
    )
    assert month.state == "success"
    return {"night": nights[DAY], "folder": folder, "restatement": restatement.run_id, "month": month.run_id}


def corrected_export(night: RunFolder) -> list[str]:
    """The night's landed rows as a sender's export, corrected: the first trade of each sector but the last at twice
    its volume. As many rows as the night (its transaction count stays), two sectors changed and one not."""
    rows = landed_rows(night)
    sectors = list(dict.fromkeys(sector for _code, sector, *_ in rows))
    corrected = {next(i for i, row in enumerate(rows) if row[1] == sector) for sector in sectors[:-1]}
    return [
        f"{code},{sector},{cents // 100}.{cents % 100:02d},{volume * 2 if i in corrected else volume},{day}"
        for i, (code, sector, cents, volume, day) in enumerate(rows)
    ]


@pytest.fixture(scope="module")
def published_run(published_runs):
    return published_runs["night"], published_runs["folder"]


@contextlib.contextmanager
def running_api_server(env: dict[str, str], home: Path) -> Iterator[str]:
    """A real `airflow api-server` with ``env``, on a free port; yields its base URL."""
    port = free_port()
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

        def healthy() -> bool:
            if server.poll() is not None:
                pytest.fail(f"api-server exited with {server.returncode}; see {home / 'api-server.log'}")
            with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2):
                return True

        wait_for(healthy, f"the api-server to answer (its log: {home / 'api-server.log'})", 120, not_yet=(OSError,))
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def api_server(published_run, tmp_path_factory):
    """A real `airflow api-server` on the test's Airflow home, with one admin user."""
    home = tmp_path_factory.mktemp("api-server")
    with running_api_server({**os.environ, **admin_env(home)}, home) as base:
        yield base


def status_of(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.browser
def test_report_renders_offline_in_chromium(published_run, tmp_path) -> None:
    _, run = published_run
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(run.report_html.as_uri())
        sectors = page.locator("#sector-table tbody tr")
        assert sectors.count() == 3
        assert page.locator("#value-chart .bar").count() == 3
        assert page.locator("#value-chart .bar").first.bounding_box()["width"] > 100
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
        "/reports/index.html",
        f"/reports/revisions/{DAY}/r2/report.html",
        f"/reports/dags/nightly_sector_report/runs/{run_id}",
    ):
        assert status_of(api_server + path) == 401, path
        assert status_of(api_server + path, token="not-a-jwt") in (401, 403), path


def test_only_html_reports_under_the_root_are_served(api_server, published_run) -> None:
    token = admin_token(api_server)
    assert status_of(f"{api_server}/reports/revisions/{DAY}/r2/report.html", token) == 200
    assert status_of(f"{api_server}/reports/revisions/{DAY}/r2/control.json", token) == 404
    assert status_of(f"{api_server}/reports/revisions/{DAY}/r2/input/transactions.csv", token) == 404
    assert status_of(f"{api_server}/reports/runs/{DAY}/report.staged.html", token) == 404, "no work area is served"
    assert status_of(f"{api_server}/reports/..%2F..%2F..%2Fetc%2Fpasswd", token) == 404


def screenshots(tmp_path: Path) -> Path:
    """Where the browser tests' screenshots go: SCREENSHOTS_DIR (`make screenshots`: docs/screenshots), else tmp."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_readers_find_the_nights_and_the_month_from_the_index_and_the_run_tabs(
    api_server, published_runs, data_root, tmp_path, device: str, viewport: tuple[int, int]
) -> None:
    """Logged in, as a reader finds them: the "Reports" page lists the nights and the month, each run's
    "Report" tab shows what it published, and the reports read at a glance (screenshots)."""
    shots = screenshots(tmp_path)
    width, _ = viewport
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in_page(browser, api_server, viewport)

        # The "Reports" navigation entry embeds the index: the months latest first, then the nights.
        page.goto(f"{api_server}/plugin/reports")
        index = page.frame_locator("iframe").first
        index.locator("a[href='months/2024-04/report.html']").wait_for(timeout=30_000)
        nights = index.locator("#report-index td.day").all_inner_texts()
        assert nights[0] == DAY
        assert "2024-03-29" in nights
        assert page.url == f"{api_server}/plugin/reports/reports/index.html"
        page.screenshot(path=shots / f"reports-index-{device}.png", full_page=True)

        # A night's run: its "Report" tab shows the revision it published (its date is restated since).
        page.goto(f"{api_server}/dags/nightly_sector_report/runs/{published_runs['night']}/plugin/report")
        page.frame_locator("iframe").first.locator("#sector-table").wait_for(timeout=30_000)
        page.screenshot(path=shots / f"night-run-tab-{device}.png")

        # The month's run: its "Report" tab shows the month it rolled up.
        page.goto(f"{api_server}/dags/monthly_sector_report/runs/{published_runs['month']}/plugin/report")
        month = page.frame_locator("iframe").first
        month.locator("#day-table").wait_for(timeout=30_000)
        assert month.locator("#month-status").inner_text() == "final"
        page.screenshot(path=shots / f"month-run-tab-{device}.png")

        # The reports themselves, whole, as the viewer serves them. The night restated: its revision 2 says so,
        # shows what the correction changed by sector (two sectors of three), and links revision 1.
        night = published(data_root, DAY)
        page.goto(f"{api_server}/reports/revisions/{DAY}/r2/report.html")
        assert_reads_at_a_glance(page, width)
        assert_bars_proportional(page, NightSummary.read(night).values_by_sector())
        assert page.locator("#revision").get_attribute("data-revision") == "2"
        assert page.locator("#revision-number").inner_text() == "2"
        assert page.locator("#revision-changes tbody tr").count() == 3
        assert page.locator("#revision-changes tr.changed").count() == 2
        earlier = page.locator("#revision a.earlier-revision")
        assert earlier.all_inner_texts() == ["Revision 1"]
        page.screenshot(path=shots / f"revised-report-{device}.png", full_page=True)

        # Its link to revision 1: the night's report as first published, kept as it was.
        earlier.click()
        page.wait_for_url(f"{api_server}/reports/revisions/{DAY}/r1/report.html")
        assert_reads_at_a_glance(page, width)
        assert_bars_proportional(page, NightSummary.read(Revisions.of(night).revision(1)).values_by_sector())
        assert page.locator("#revision-number").inner_text() == "1"
        assert page.locator("#revision").count() == 0
        page.screenshot(path=shots / f"night-report-{device}.png", full_page=True)

        page.goto(f"{api_server}/reports/months/2024-04/report.html")
        assert_reads_at_a_glance(page, width)
        page.screenshot(path=shots / f"month-report-{device}.png", full_page=True)
        browser.close()
    print(f"screenshots: {shots}")


def assert_reads_at_a_glance(page, width: int) -> None:
    """The page fits the screen: its chart spans the content width, nothing is wider, every key figure shows whole."""
    box = page.locator("#value-chart, #trend-chart").first.bounding_box()
    assert box
    assert box["width"] >= 0.85 * min(width, 56 * 16) - 32, "the chart spans the content width"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing wider than the screen"
    whole = "[...document.querySelectorAll('.kpi .value')].every(v => v.scrollWidth <= v.clientWidth)"
    assert page.evaluate(whole), "every key figure shows whole, none cut at its card's edge"


def assert_bars_proportional(page, values: dict) -> None:
    """Each sector's bar is as long, against the longest, as its total value against the largest (to a pixel)."""
    bars = page.locator("#value-chart .bar-row")
    drawn = {
        bars.nth(i).locator(".bar-label").inner_text(): bars.nth(i).locator(".bar").bounding_box()["width"]
        for i in range(bars.count())
    }
    assert set(drawn) == set(values)
    longest, largest = max(drawn.values()), max(values.values())
    for sector, width in drawn.items():
        assert abs(width - longest * float(values[sector] / largest)) <= 1.0, (sector, width, longest)


@pytest.mark.browser
def test_a_user_logs_in_finds_the_dag_and_opens_its_report(api_server, published_runs, tmp_path) -> None:
    run_id = published_runs["night"]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in_page(browser, api_server)

        page.goto(f"{api_server}/dags")
        page.get_by_text("nightly_sector_report").first.wait_for(timeout=30_000)
        page.screenshot(path=tmp_path / "dags.png")

        # The run's "Report" tab points here; the plugin redirects to the report the run published: its revision,
        # as it was then (the date's later revision, the restatement's, is the index's and latest's).
        page.goto(f"{api_server}/reports/dags/nightly_sector_report/runs/{run_id}")
        assert page.url == f"{api_server}/reports/revisions/{DAY}/r1/report.html"
        assert page.locator("#sector-table tbody tr").count() == 3
        assert run_id in page.locator("#run-facts").inner_text()
        browser.close()


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    """An api-server whose users may read the DAGs of their own team only (Airflow's multi-team mode).

    The project's DAGs are team "desk"'s; the test DAGs team "other"'s. One real nightly run
    publishes a report in this Airflow home's own database and data folder.
    """
    home = tmp_path_factory.mktemp("team-server")
    passwords = home / "team-passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD, "reader": PASSWORD, "outsider": PASSWORD}))
    bundles = json.loads(os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    for bundle, team in zip(bundles, ("desk", "other"), strict=True):
        bundle["team_name"] = team
    env = {
        **os.environ,
        **admin_env(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,reader:viewer:desk,outsider:viewer:other",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        "SECTOR_REPORT_DATA_DIR": str(home / "data"),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(home / "data"),
    }

    def airflow(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    airflow("db", "migrate")
    for team in ("desk", "other"):
        airflow("teams", "create", team)
    airflow("dags", "reserialize")  # records which team each bundle, so each DAG, belongs to
    airflow("dags", "test", "nightly_sector_report", DAY, "--conf", json.dumps({"rows": 300}))
    with running_api_server(env, home) as base:
        yield base


def token_of(base: str, username: str) -> str:
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def test_reports_are_served_only_to_readers_of_the_dag_that_published_them(team_server) -> None:
    reader, outsider = token_of(team_server, "reader"), token_of(team_server, "outsider")
    run_id = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{team_server}/api/v2/dags/nightly_sector_report/dagRuns",
                headers={"Authorization": f"Bearer {reader}"},
            ),
            timeout=10,
        ).read()
    )["dag_runs"][0]["dag_run_id"]
    for path in (f"/reports/revisions/{DAY}/r1/report.html", "/reports/index.html", "/reports/latest.html"):
        assert status_of(team_server + path, reader) == 200, path
        assert status_of(team_server + path, outsider) == 403, path
    run_page = f"{team_server}/reports/dags/nightly_sector_report/runs/{urllib.parse.quote(run_id, safe='')}"
    assert status_of(run_page, reader) == 200  # redirected to the report
    assert status_of(run_page, outsider) == 403


LANDED_RELEASE_DATA = PROJECT_ROOT / "tests" / "fixtures" / "landed_release_data.tar.gz"


@pytest.mark.browser
def test_a_folder_the_landed_release_wrote_is_served_whole_after_the_upgrade_and_corrected_as_its_next_revision(
    tmp_path_factory,
) -> None:
    """tests/fixtures/landed_release_data.tar.gz, written by the landed release's own DAGs: taken over at start (as
    `make airflow` does), every report it published is served by the viewer at its new place; a correction of the
    night it published before revisions existed is revision 2, and revision 1 stays readable in the UI."""
    import tarfile

    home = tmp_path_factory.mktemp("upgraded")
    with tarfile.open(LANDED_RELEASE_DATA) as tar:
        tar.extractall(home, filter="data")
    data = home / "data"
    env = {
        **os.environ,
        **admin_env(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "SECTOR_REPORT_DATA_DIR": str(data),
        "AIRFLOW__REPORT_VIEWER__ROOT": str(data),
    }

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done.stdout

    run("-m", "airflow", "db", "migrate")
    took_over = run("-m", "include.sector_report", "take-over")
    assert took_over.count("Took over") == 4, took_over
    day = "2024-04-03"  # published by the landed release without a revisions/ folder
    drop_export(data, f"export_{day}_corrected.csv", days_records(day, 20))
    run("-m", "airflow", "dags", "test", "sector_report_restatement", "--conf", json.dumps({"date": day}))
    assert published(data, day).number == 2

    pages = [
        "revisions/2024-04-01/r1/report.html",
        "revisions/2024-04-02/r1/report.html",
        "revisions/2024-04-02/r2/report.html",
        f"revisions/{day}/r1/report.html",
        f"revisions/{day}/r2/report.html",
        "revisions/2024-04-02/r1.html",  # where the landed release's revision 2 links its revision 1: still there
        "months/2024-04/report.html",
        "index.html",
    ]
    with running_api_server(env, home) as base:
        token = admin_token(base)
        assert {page: status_of(f"{base}/reports/{page}", token) for page in pages} == dict.fromkeys(pages, 200)
        assert status_of(f"{base}/reports/runs/{day}/report.html", token) == 404, "the old page is gone, not stale"
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = signed_in_page(browser, base)
            page.goto(f"{base}/reports/revisions/{day}/r2/report.html")
            assert page.locator("#revision").get_attribute("data-revision") == "2"
            page.locator("#revision a.earlier-revision").click()
            page.wait_for_url(f"{base}/reports/revisions/{day}/r1/report.html")
            assert page.locator("#revision-number").inner_text() == "1"
            browser.close()
