"""A night that looks wrong is held for a person, not mailed as fact: the deployment with its plausibility checks
holding (SECTOR_REPORT_PLAUSIBILITY=hold), on PostgreSQL, the Flink cluster, SMTP and Chromium.

Its own deployment: the other system tests' nights, of every size in one data folder, are each other's history, and
a night held there would wait for a person no test is; here every night and restatement holds as in production."""

from __future__ import annotations

import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from include.sector_report.layout import DataFolder
from include.sector_report.plausibility import NightChecks
from include.sector_report.published_nights import is_published
from include.sector_report.revisions import Revisions
from tests.support.airflow_api import DAG_ID, RESTATEMENT_DAG_ID, Api
from tests.support.browser import launch_chromium, signed_in_page
from tests.support.deployment import (
    assert_exact,
    deployment,
    ready_api,
    triggered_night,
    without_the_scheduled_night,
    workers_of,
)
from tests.support.landing import drop_export, sector_figures
from tests.support.nights import published, published_night
from tests.support.nights import sector as sector_row

pytestmark = [pytest.mark.airflow_server, pytest.mark.postgres, pytest.mark.flink]

ONCALL = "oncall@example.com"
READER = "desk@example.com"


@pytest.fixture(scope="module")
def airflow(flink_cluster, smtp_server, postgres_server, tmp_path_factory):
    """The deployment as a desk runs it, its checks holding, against the 5 sessions before each night (the fewest
    the checks accept): the history the test publishes first."""
    home, data = tmp_path_factory.mktemp("airflow-home"), tmp_path_factory.mktemp("data")
    settings = {
        "SECTOR_REPORT_PLAUSIBILITY": "hold",
        "SECTOR_REPORT_PLAUSIBILITY_SESSIONS": "5",
        "SECTOR_REPORT_ALERT_TO": ONCALL,
        "SECTOR_REPORT_FILE_WAIT_SECONDS": "180",
        # The corrections watcher looks every 2 s (production: 10 s), so a dropped correction is taken up sooner.
        "SECTOR_REPORT_CORRECTIONS_POLL_SECONDS": "2",
    }
    url = postgres_server.create_database("plausibility")
    with deployment(home, data, database_url=url, flink_port=flink_cluster.rest_port, **settings) as standalone:
        yield standalone, data


@pytest.fixture(scope="module")
def api(airflow) -> Api:
    api = ready_api(airflow[0])
    without_the_scheduled_night(api)
    yield api
    api.end_unfinished_runs()  # the nights left held for approval


# Five ordinary sessions published before the test's nights: their history.
ORDINARY_SESSIONS = ["2025-06-16", "2025-06-17", "2025-06-18", "2025-06-19", "2025-06-20"]
# Two sectors of two stocks each: the price level compares at least 3 stocks.
STOCKS = [("005930", "반도체"), ("035420", "internet"), ("000660", "반도체"), ("035720", "internet")]


def session_records(day: str, rows: int, *, price_factor: int = 1, sectors: tuple[str, ...] = ("반도체", "internet")):
    """A sender's export of ``day``: the stocks of ``sectors`` in turn, prices and volumes varying by row."""
    stocks = [stock for stock in STOCKS if stock[1] in sectors]
    return [
        f"{code},{sector},{(1000 + n % 50) * price_factor}.25,{1 + n % 7},{day}"
        for n, (code, sector) in ((n, stocks[n % len(stocks)]) for n in range(rows))
    ]


def publish_ordinary_session(data: Path, day: str, rows: int) -> None:
    """A session published as its night would be, from the figures of ``session_records`` (no Airflow run)."""
    records = session_records(day, rows)
    stocks: dict[tuple[str, str], list] = {}
    for record in records:
        code, sector, price, volume, _ = record.split(",")
        totals = stocks.setdefault((sector, code), [Decimal(0), 0, 0])
        totals[0] += Decimal(price) * int(volume)
        totals[1] += int(volume)
        totals[2] += 1
    stock_totals = [
        {
            "sector": sector,
            "stock_code": code,
            "total_value": str(value),
            "total_volume": volume,
            "transaction_count": count,
        }
        for (sector, code), (value, volume, count) in stocks.items()
    ]
    sectors = [
        sector_row(name, str(value), volume=volume, count=count)
        for name, (value, volume, count) in sector_figures(records).items()
    ]
    published_night(data, day, sectors, input_sha256=f"{rows:064x}", stock_totals=stock_totals)


def approval_path(run: dict, dag_id: str = DAG_ID) -> str:
    quoted = urllib.parse.quote(run["dag_run_id"], safe="")
    return f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/wait_for_approval/-1/hitlDetails"


def held_for_approval(api: Api, run: dict, dag_id: str = DAG_ID) -> dict:
    """The run's approval request, once it waits in it for a person and the try that asked has ended.

    A person answers seconds later at the soonest. An answer within about 5 s of the request can race Airflow's
    executor event for the try that deferred (as any deferral that ends that soon: test_deployment.py), and the
    scheduler then retries the task, which asks again and waits for a new answer (seen under load: a rejected
    night that never ended). So the test answers once that try's worker is done."""

    def request() -> dict | None:
        detail = api.call("GET", approval_path(run, dag_id))
        return detail if detail["task_instance"]["state"] == "awaiting_input" else None

    detail = api.wait_for(request, "the run to wait for approval")
    api.wait_for(lambda: not workers_of(detail["task_instance"]["id"]), "the try that asked to end", every=0.2)
    time.sleep(1)  # the scheduler's loop (0.2 s here) takes the ended try's executor event
    return detail


def test_a_night_that_looks_wrong_is_held_for_a_person_and_only_an_approval_publishes_it(
    airflow, api, smtp_server
) -> None:
    """After ordinary sessions, an ordinary night publishes without waiting. Half a day's trades, the same trades
    twice, a sector gone and prices x100 each wait for a person, published and mailed only once approved: half a
    day is approved (the request in Chromium, with the staged report) and publishes exact, who and why in the
    history; the doubled file is rejected, publishes nothing and alerts on-call; the missing sector, accepted in
    its run's conf as real, publishes without waiting. A small correction publishes; the file twice as a correction
    waits."""
    standalone, data = airflow
    for rows, day in enumerate(ORDINARY_SESSIONS, start=200):
        publish_ordinary_session(data, day, rows)
    conf = {"source": "file", "plausibility": "hold", "email_to": [READER], "alert_to": [ONCALL], "locale": "en"}

    drop_export(data, "export_2025-06-23.csv", session_records("2025-06-23", 205))
    ordinary = triggered_night(api, "2025-06-23", conf)
    assert api.finished_run(ordinary["dag_run_id"])["state"] == "success"
    assert api.task(ordinary["dag_run_id"], "wait_for_approval")["state"] == "success", "published without waiting"
    checked = NightChecks.read(published(data, "2025-06-23"))
    assert {f.check: f.verdict for f in checked.findings} == {
        "row_count": "passed",
        "total_value": "passed",
        "missing_sectors": "passed",
        "sector_share": "passed",
        "same_input": "passed",
        "price_level": "passed",
    }

    # Half a day: its control file made from the same half, so every exactness check passes.
    drop_export(data, "export_2025-06-24.csv", session_records("2025-06-24", 102))
    half = triggered_night(api, "2025-06-24", conf)
    request = held_for_approval(api, half)
    assert request["subject"] == "Held for approval: the night of 2025-06-24"
    assert "**Row count vs. history** (held)" in request["body"]
    assert not is_published(DataFolder(data), "2025-06-24")
    assert not smtp_server.about("Sector transaction summary 2025-06-24")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = signed_in_page(browser, standalone.url)
        run = urllib.parse.quote(half["dag_run_id"], safe="")
        page.goto(f"{standalone.url}/dags/{DAG_ID}/runs/{run}/tasks/wait_for_approval/required_actions?map_index=-1")
        page.get_by_text("Held for approval: the night of 2025-06-24").first.wait_for(timeout=30_000)
        page.get_by_text("Row count vs. history").first.wait_for()
        expect(page.get_by_test_id("hitl-option-Approve")).to_be_enabled(timeout=30_000)
        with page.context.expect_page() as opened:
            page.get_by_role("link", name="Open the staged report").click()
        staged = opened.value
        staged.wait_for_load_state()
        assert "/reports/runs/2025-06-24/report.held.html" in staged.url
        staged.locator("#held").wait_for(timeout=30_000)
        assert "Row count vs. history" in staged.locator('tr[data-check="row_count"][data-verdict="held"]').inner_text()
        assert "Held for approval" in staged.locator("#held").inner_text()
        browser.close()
    comment = "half-day session: the exchange closed at noon"
    answer = {"chosen_options": ["Approve"], "params_input": {"comment": comment}}
    assert api.call("PATCH", approval_path(half), answer)["responded_by"]["name"] == "admin"
    assert api.finished_run(half["dag_run_id"])["state"] == "success"
    approved = published(data, "2025-06-24")
    assert_exact(approved)
    assert 'id="held"' not in approved.report_html.read_text(), "what readers read waits for no one"
    assert not DataFolder(data).run("2025-06-24").held_preview_html.exists(), "answered: the preview is gone"
    [line] = Revisions.of(approved).history()
    assert (line["approved"]["by"], line["approved"]["comment"]) == ("admin", comment)
    assert line["checks"]["held"] == ["row_count", "total_value"]
    api.wait_for(lambda: smtp_server.about("Sector transaction summary 2025-06-24"), "the approved night's mail")

    # The same trades twice (a file appended to itself): rejected.
    drop_export(data, "export_2025-06-25.csv", session_records("2025-06-25", 204) * 2)
    doubled = triggered_night(api, "2025-06-25", conf)
    assert "**Row count vs. history** (held)" in held_for_approval(api, doubled)["body"]
    answer = {"chosen_options": ["Reject"], "params_input": {"comment": "the vendor sent the file twice"}}
    api.call("PATCH", approval_path(doubled), answer)
    assert api.finished_run(doubled["dag_run_id"])["state"] == "failed"
    assert not is_published(DataFolder(data), "2025-06-25")
    subject = "[FAILED] nightly_sector_report 2025-06-25: wait_for_approval"
    [(recipients, alert)] = api.wait_for(lambda: smtp_server.about(subject), "the rejection's alert")
    assert ONCALL in recipients
    body = alert.get_body(("html",)).get_content()
    assert "admin rejected the night of 2025-06-25" in body
    assert "the vendor sent the file twice" in body
    assert not smtp_server.about("Sector transaction summary 2025-06-25")

    # A sector gone (a mapping change upstream) that the desk knows is real: accepted in the run's conf.
    drop_export(data, "export_2025-06-26.csv", session_records("2025-06-26", 204, sectors=("반도체",)))
    reason = "internet stocks moved to another feed from today"
    accepted = {**conf, "accept_findings": ["missing_sectors"], "accept_reason": reason}
    delisted = triggered_night(api, "2025-06-26", accepted)
    assert api.finished_run(delisted["dag_run_id"])["state"] == "success"
    assert api.task(delisted["dag_run_id"], "wait_for_approval")["state"] == "success", "accepted: no wait"
    [line] = Revisions.of(published(data, "2025-06-26")).history()
    assert line["checks"]["held"] == ["missing_sectors"]
    assert line["checks"]["accepted"] == {"checks": ["missing_sectors"], "reason": reason}
    assert "approved" not in line

    # Corrections, checked against the revision they replace: three busted trades pass, the file twice is held.
    api.unpause(RESTATEMENT_DAG_ID)
    drop_export(data, "export_2025-06-23_corrected.csv", session_records("2025-06-23", 205)[:-3])
    api.wait_for(lambda: published(data, "2025-06-23").number == 2, "the small correction to publish as revision 2")
    drop_export(data, "export_2025-06-23_corrected_2.csv", session_records("2025-06-23", 205) * 2)
    # The second correction's run: the newest (the first one's may still be mailing its correction).
    runs = api.wait_for(
        lambda: len(found := api.runs(RESTATEMENT_DAG_ID, "asset_triggered")) == 2 and found,
        "the second correction's restatement",
    )
    restatement = max(runs, key=lambda run: run["run_after"])
    request = held_for_approval(api, restatement, RESTATEMENT_DAG_ID)
    assert "**거래 건수 (과거 대비)** (보류)" in request["body"], "a restatement's conf says nothing: Korean"
    assert published(data, "2025-06-23").number == 2, "the held correction is not published"

    # Prices in another unit (x100 after a format change): held, and nothing published while it waits.
    drop_export(data, "export_2025-06-27.csv", session_records("2025-06-27", 205, price_factor=100))
    priced = triggered_night(api, "2025-06-27", conf)
    assert "**Price level (unit of prices)** (held)" in held_for_approval(api, priced)["body"]
    assert not is_published(DataFolder(data), "2025-06-27")
    assert not smtp_server.about("Sector transaction summary 2025-06-27")
