"""The whole nightly DAG, run with dag.test() on a real Flink MiniCluster and a real Airflow DB."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psutil
import pytest
from airflow.dag_processing.dagbag import DagBag

from include.sector_report.failure_record import last_failure
from include.sector_report.layout import DataFolder, MonthFolder, RunFolder
from include.sector_report.published_nights import published_revision
from include.sector_report.revisions import Revisions
from include.sector_report.summary import NightSummary
from tests.support import PROJECT_ROOT
from tests.support.landing import days_records, drop_export, landed_rows, sector_figures
from tests.support.nights import published
from tests.support.report_html import SectorTable, report_rows
from tools.processes import group_members, java_pids
from tools.waiting import wait_for

pytestmark = pytest.mark.flink

DAGS_FOLDER = PROJECT_ROOT / "dags"


def parsed_dag(dag_id: str):
    """The DAG parsed afresh (dag.test() keeps one run's conf in the DAG object's params), without retries."""
    bag = DagBag(dag_folder=DAGS_FOLDER)
    assert bag.import_errors == {}
    dag = bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = 0  # dag.test() sleeps through retry delays: a bug should fail the test at once
    return dag


@pytest.fixture
def nightly_dag(airflow_db):
    dag = parsed_dag("nightly_sector_report")
    # Tests drop files an instant before they are looked for (whole, by rename): no need to let them settle.
    wait_for_input = dag.get_task("wait_for_input")
    wait_for_input.settle_seconds, wait_for_input.poll_seconds = 0, 0.5
    return dag


def run_dag(dag, day: str, conf: dict) -> str:
    logical_date = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return dag.test(logical_date=logical_date, run_conf=conf).state


def independent_summary(run: RunFolder) -> dict[str, dict]:
    """Per-sector figures computed with Decimal from the input Flink read, without Flink."""
    groups: dict[str, list[tuple[Decimal, int]]] = defaultdict(list)
    for _code, sector, price_cents, volume, _day in landed_rows(run):
        groups[sector].append((Decimal(price_cents) / 100, volume))
    return {
        sector: {
            "total_value": sum(p * v for p, v in rows),
            "avg_price": sum(p for p, _ in rows) / len(rows),
            "total_volume": sum(v for _, v in rows),
            "transaction_count": len(rows),
        }
        for sector, rows in groups.items()
    }


def test_generated_run_reports_figures_equal_to_an_independent_computation(nightly_dag, data_root) -> None:
    assert run_dag(nightly_dag, "2024-03-08", {"rows": 3000, "seed": 7, "locale": "en", "parallelism": 2}) == "success"
    run = RunFolder.for_date(data_root, "2024-03-08")
    expected = independent_summary(run)
    summary = json.loads(run.summary_json.read_text())
    assert {s["sector"] for s in summary["sectors"]} == set(expected) == {"semiconductor", "biotech", "internet"}
    for figures in summary["sectors"]:
        want = expected[figures["sector"]]
        assert Decimal(figures["total_value"]) == want["total_value"]  # exact, to the cent
        assert Decimal(figures["avg_price"]) == want["avg_price"].quantize(Decimal("1e-6"), ROUND_HALF_UP)
        assert figures["total_volume"] == want["total_volume"]
        assert figures["transaction_count"] == want["transaction_count"]
    assert summary["totals"]["rows"] == 3000
    index = (data_root / "index.html").read_text()
    assert 'href="revisions/2024-03-08/r1/report.html"' in index

    shown = report_rows(published(data_root, "2024-03-08").report_html)
    assert set(shown) == set(expected)
    for sector, want in expected.items():
        value, avg, volume, count, _share, _change = shown[sector]
        assert value == f"{want['total_value']:,.2f}"
        assert avg == f"{want['avg_price'].quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
        assert volume == f"{want['total_volume']:,}"
        assert count == f"{want['transaction_count']:,}"


def write_landing_file(path: Path, good_rows: int, bad_rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["stock_code,sector,price,volume,transaction_date"]
    lines += [f"005930,semiconductor,{1000 + i}.25,{10 + i},2024-03-09" for i in range(good_rows // 2)]
    lines += [f"068270,biotech,{2000 + i}.50,{20 + i},2024-03-09" for i in range(good_rows - good_rows // 2)]
    lines[5:5] = bad_rows
    path.write_text("\r\n".join(lines), encoding="utf-8")
    return path


def test_landed_file_with_a_bad_row_is_quarantined_and_a_rerun_replaces_outputs(
    nightly_dag, data_root, smtp_server
) -> None:
    write_landing_file(data_root / "exports" / "export.csv", 199, ["005930,semiconductor,not-a-price,5,2024-03-09"])
    readers = ["desk@example.com", "research@example.org"]
    conf = {"source": "file", "input_path": "exports/export.csv", "max_reject_ratio": 0.01, "email_to": readers}
    assert run_dag(nightly_dag, "2024-03-09", conf) == "success"
    run = RunFolder.for_date(data_root, "2024-03-09")
    first_summary = run.summary_json.read_text()
    summary = json.loads(first_summary)
    assert (summary["data_rows"], summary["rejected_rows"], summary["totals"]["rows"]) == (200, 1, 199)
    with run.rejected_csv.open(newline="") as handle:
        quarantined = list(csv.DictReader(handle))
    assert [(q["file"], q["line"], q["record"]) for q in quarantined] == [
        ("export.csv", "6", "005930,semiconductor,not-a-price,5,2024-03-09")
    ]
    first = published(data_root, "2024-03-09")
    assert "rejected.csv" in first.report_html.read_text()  # the report names the quarantine file (Korean default)
    assert first.rejected_csv.read_bytes() == run.rejected_csv.read_bytes(), "the revision keeps its quarantine"
    kept = first.report_html.read_bytes()

    assert run_dag(nightly_dag, "2024-03-09", conf) == "success"
    assert run.summary_json.read_text() == first_summary
    second = published(data_root, "2024-03-09")
    assert second.number == 2, "a rerun of a published night is its next revision"
    assert first.report_html.read_bytes() == kept, "and the first stays as it was published"
    for sink in (run.sector_sink_dir, run.stock_sink_dir):
        parts = [p for p in sink.iterdir() if not p.name.startswith(".")]
        assert len(parts) == 1, f"a rerun must replace the sink, not append to it: {parts}"

    mails = smtp_server.about("2024-03-09")
    assert len(mails) == 2, "one mail per successful run"
    for recipients, mail in mails:
        assert_report_mail(recipients, mail, readers, run, summary)
    [attachment] = list(mails[-1][1].iter_attachments())
    assert attachment.get_content() == second.report_html.read_bytes(), "the rerun's mail carries the rerun's report"


def assert_report_mail(recipients: list[str], mail, readers: list[str], run: RunFolder, summary: dict) -> None:
    """The mail shows the published figures exactly, in a form mail clients show, with the report attached."""
    assert recipients == readers
    assert mail["To"] == ", ".join(readers)
    total = sum(Decimal(s["total_value"]) for s in summary["sectors"])
    assert mail["Subject"] == f"섹터별 금융 데이터 요약 {run.date}: 총 거래액 {total:,.2f} 원"  # the run's locale: ko
    body = mail.get_body(("html",)).get_content()
    assert not any(tag in body.lower() for tag in ("<script", "<svg", "<style", "<link")), "mail clients drop these"
    parser = SectorTable()
    parser.feed(body)
    shown = {row[0]: row[1:5] for row in parser.rows}
    assert shown == {
        s["sector"]: [
            f"{Decimal(s['total_value']):,.2f}",
            f"{Decimal(s['avg_price']).quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}",
            f"{s['total_volume']:,}",
            f"{s['transaction_count']:,}",
        ]
        for s in summary["sectors"]
    }
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"sector-report-{run.date}.html"
    attached = SectorTable()
    attached.feed(attachment.get_content().decode("utf-8"))
    assert {row[0]: row[1:5] for row in attached.rows} == shown


def test_too_many_bad_rows_fail_before_any_flink_job_publish_nothing_and_alert(
    nightly_dag, data_root, smtp_server
) -> None:
    bad = [f"005930,semiconductor,1.00,{volume},2024-03-10" for volume in ("0", "-3", "x")]
    write_landing_file(data_root / "incoming" / "transactions_2024-03-10.csv", 97, bad)  # found by its date
    conf = {"source": "file", "alert_to": ["oncall@example.com"], "email_to": ["desk@example.com"]}
    dag_run = nightly_dag.test(logical_date=dt.datetime(2024, 3, 10, tzinfo=dt.UTC), run_conf=conf)
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["prepare_input"] == "failed"
    assert states["aggregate"] == "upstream_failed", "no Flink job ran"
    run = RunFolder.for_date(data_root, "2024-03-10")
    assert run.read_manifest()["rejected_rows"] == 3
    assert run.rejected_csv.is_file()
    assert not run.sink_dir.exists()
    assert not run.summary_json.exists()
    assert published_revision(DataFolder(data_root), "2024-03-10") is None

    [(recipients, alert)] = smtp_server.about("2024-03-10")  # the alert, and no report mail
    assert recipients == ["oncall@example.com"]
    assert alert["Subject"] == "[실패] nightly_sector_report 2024-03-10: prepare_input"
    body = alert.get_body(("html",)).get_content()
    assert "reject ratio of 0.03 (3 of 100 rows)" in body
    assert str(run.rejected_csv) in body
    assert "/dags/nightly_sector_report/runs/" in body
    assert "/tasks/prepare_input" in body


def drop_file(folder: Path, name: str, good_rows: int) -> None:
    """Drop a file as a sender should: written under another name, then renamed into place."""
    partial = write_landing_file(folder / f".{name}.partial", good_rows, [])
    partial.rename(folder / name)


def test_a_run_waits_for_the_days_file_and_lands_it_when_it_comes(nightly_dag, data_root) -> None:
    incoming = data_root / "incoming"
    sender = threading.Timer(3, drop_file, (incoming, "export_20240312.csv", 120))
    sender.start()
    try:
        assert run_dag(nightly_dag, "2024-03-12", {"source": "file", "file_wait_timeout": 120}) == "success"
    finally:
        sender.cancel()
    summary = json.loads(RunFolder.for_date(data_root, "2024-03-12").summary_json.read_text())
    assert (summary["data_rows"], summary["rejected_rows"]) == (120, 0)


def test_a_file_that_never_comes_fails_the_run_after_the_timeout_and_alerts(
    nightly_dag, data_root, smtp_server
) -> None:
    conf = {"source": "file", "file_wait_timeout": 2, "alert_to": ["oncall@example.com"], "locale": "en"}
    assert run_dag(nightly_dag, "2024-03-13", conf) == "failed"
    [(_, alert)] = smtp_server.about("2024-03-13")
    assert alert["Subject"] == "[FAILED] nightly_sector_report 2024-03-13: wait_for_input"
    body = alert.get_body(("html",)).get_content()
    assert f"No file arrived in {data_root / 'incoming'}" in body
    assert "*2024-03-13*.csv or *20240313*.csv" in body
    night = RunFolder.for_date(data_root, "2024-03-13")
    assert [p.name for p in night.root.iterdir()] == ["failure.json"], "nothing was prepared: only why it failed"
    failure = last_failure(night)
    assert failure is not None
    assert failure.task_id == "wait_for_input"
    assert "No file arrived" in failure.error


def test_an_allowed_empty_day_reports_no_transactions(nightly_dag, data_root) -> None:
    write_landing_file(data_root / "incoming" / "transactions_2024-03-11.csv", 0, [])  # a header only
    conf = {"source": "file", "allow_empty": True, "locale": "en"}
    assert run_dag(nightly_dag, "2024-03-11", conf) == "success"
    run = RunFolder.for_date(data_root, "2024-03-11")
    summary = json.loads(run.summary_json.read_text())
    assert (summary["data_rows"], summary["sectors"]) == (0, [])
    html = published(data_root, "2024-03-11").report_html.read_text()
    assert "No transactions on this date." in html
    assert report_rows(published(data_root, "2024-03-11").report_html) == {}


def test_make_run_passes_any_json_conf_through_unchanged(airflow_db, data_root, nightly_dag) -> None:
    folder = data_root / 'it\'s 한국 "quoted"'
    drop_file(folder, "export $HOME.csv", 40)
    conf = {"source": "file", "input_path": f"{folder.name}/export $HOME.csv", "locale": "en"}
    result = subprocess.run(
        ["make", "-s", "run", "DATE=2024-03-14", f"CONF={json.dumps(conf, ensure_ascii=False)}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = json.loads(RunFolder.for_date(data_root, "2024-03-14").summary_json.read_text())
    assert (summary["data_rows"], summary["rejected_rows"]) == (40, 0)
    assert "Sector transaction summary" in result.stdout  # `show` read the same conf: the English table
    # A screen a person reads: one line per task as it ended, the table, the report; Airflow's log in its file.
    ended = dict(re.findall(r"^  (\w+) +(\w+) +[\d.]+ s$", result.stdout, re.M))
    assert set(ended) == set(nightly_dag.task_ids)
    assert ended["publish"] == "success"
    assert len(result.stdout.splitlines()) < 30
    log = Path(re.search(r"Airflow's log goes to (.+)$", result.stdout, re.M).group(1))
    assert "[DAG TEST] end task task_id=publish" in log.read_text()


def test_make_run_of_a_failed_night_shows_the_failed_tasks_error(airflow_db, data_root) -> None:
    conf = {"source": "file", "input_path": "/etc/passwd"}
    result = subprocess.run(
        ["make", "-s", "run", "DATE=2024-03-15", f"CONF={json.dumps(conf)}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert re.search(r"^  prepare_input +failed ", result.stdout, re.M), result.stdout
    assert "No report was published for 2024-03-15; prepare_input failed: Parameter input_path='/etc/passwd'" in (
        result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_published_days_are_asset_events_and_their_month_rolls_up_to_the_same_figures(nightly_dag, data_root) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    assert run_dag(nightly_dag, "2024-02-27", {"rows": 400, "seed": 3}) == "success"
    export = data_root / "exports" / "2024-02-29.csv"
    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_text("stock_code,sector,price,volume,transaction_date\n" + "".join(
        f'A{i % 3},"<b>반도체, ""칩""</b>",{1000 + i}.50,{i + 1},2024-02-29\n' for i in range(30)
    ), encoding="utf-8")  # fmt: skip
    assert run_dag(nightly_dag, "2024-02-29", {"source": "file", "input_path": "exports/2024-02-29.csv"}) == "success"
    published_days = ["2024-02-27", "2024-02-29"]
    dailies = {day: json.loads(RunFolder.for_date(data_root, day).summary_json.read_text()) for day in published_days}
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "sector_report_daily")
        ).all()  # fmt: skip
        extras = {event.extra["report_date"]: event.extra for event in events}
    for day, daily in dailies.items():
        totals = {k: daily["totals"][k] for k in ("rows", "total_value")}
        assert extras[day] == {"report_date": day, **totals, "revision": 1}

    # The README's command: the monthly DAG through `airflow dags test`, then the month's table.
    result = subprocess.run(
        ["make", "-s", "run-month", "MONTH=2024-02", "DATE=2024-02-29"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "=== 섹터별 금융 데이터 요약 ===" in result.stdout
    assert "Days: 2 published" in result.stdout
    folder = MonthFolder.for_month(data_root, "2024-02")
    summary = json.loads(folder.summary_json.read_text())
    assert summary["days_published"] == published_days
    # The Korea Exchange's sessions of February 2024 without a published night: not the weekends, nor
    # Lunar New Year (9 and 12 February); the month's last session has passed, so the month is final.
    sessions = [1, 2, 5, 6, 7, 8, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29]
    assert summary["days_missing"] == [f"2024-02-{d:02}" for d in sessions if d not in (27, 29)]
    assert summary["final"] is True
    # Every day and sector equals its daily report exactly; every month figure is their sum.
    assert summary["days"] == sorted(
        ({"date": day, **sector} for day, daily in dailies.items() for sector in daily["sectors"]),
        key=lambda d: (d["date"], -Decimal(d["total_value"]), d["sector"]),
    )
    sectors = {s["sector"]: s for s in summary["sectors"]}
    assert set(sectors) == {"semiconductor", "internet", "biotech", '<b>반도체, "칩"</b>'}
    for sector, month in sectors.items():
        parts = [s for daily in dailies.values() for s in daily["sectors"] if s["sector"] == sector]
        assert Decimal(month["total_value"]) == sum(Decimal(p["total_value"]) for p in parts)
        assert month["total_volume"] == sum(p["total_volume"] for p in parts)
        assert month["transaction_count"] == sum(p["transaction_count"] for p in parts)
    html = folder.report_html.read_text()
    # One legend entry per sector, a dot per sector and published night; 28 February, a session
    # between the two nights without a report, breaks the lines and is a shaded gap like the others.
    assert html.count('<li class="legend-item">') == len(sectors)
    assert html.count("<circle") == 3 + 1
    assert '<polyline class="trend"' not in html
    assert html.count('<rect class="gap"') == len(summary["days_missing"])
    assert "월간 섹터 요약" in html  # the default locale, ko
    assert "<b>반도체" not in html
    assert "&lt;b&gt;반도체" in html
    assert "2024-02-28" in html  # a day without a daily report is named


def test_a_worker_killed_while_flink_runs_leaves_nothing_behind_and_a_rerun_is_exact(nightly_dag, data_root) -> None:
    """kill -9 of the process running the aggregate task (here `airflow dags test`, which runs its tasks in
    itself): the Flink job's child and its JVM end within seconds; nothing is published; a rerun is exact."""
    day = "2024-03-15"
    worker = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", "nightly_sector_report", day,
         "--conf", json.dumps({"rows": 3_000_000, "seed": 5})],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        job = wait_for(
            lambda: flink_job_with_its_jvm(worker.pid),
            "the aggregate task's Flink job and its JVM",
            300,
            every=0.2,
            not_yet=(psutil.NoSuchProcess, ProcessLookupError),
        )
        killed_at = time.monotonic()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait()
    wait_for(lambda: not group_members(job), "the killed worker's Flink job and JVM to end", 15, every=0.2)
    print(f"worker killed; its Flink job and JVM ended {time.monotonic() - killed_at:.1f} s later")
    run = RunFolder.for_date(data_root, day)
    assert published_revision(DataFolder(data_root), day) is None

    assert run_dag(nightly_dag, day, {"rows": 3_000_000, "seed": 5}) == "success"
    expected = independent_summary(run)
    summary = json.loads(run.summary_json.read_text())
    assert {s["sector"]: Decimal(s["total_value"]) for s in summary["sectors"]} == {
        sector: figures["total_value"] for sector, figures in expected.items()
    }
    assert summary["totals"]["rows"] == 3_000_000


def flink_job_with_its_jvm(worker_pid: int) -> int | None:
    """The process group of the Flink job's child under ``worker_pid``, once its JVM runs."""
    for process in psutil.Process(worker_pid).children(recursive=True):
        if "airflow_flink_sql.job" in " ".join(process.cmdline()):
            group = os.getpgid(process.pid)
            if set(group_members(group)) & java_pids():
                return group
    return None


@pytest.fixture
def restatement_dag(airflow_db):
    return parsed_dag("sector_report_restatement")


def test_a_date_restated_by_hand_from_its_corrected_file_is_its_exact_revision_2_and_once_only(
    nightly_dag, restatement_dag, data_root, smtp_server
) -> None:
    day = "2024-05-14"  # a date no other test reports (the tests share one data folder)
    original = days_records(day, 150)
    drop_export(data_root, f"export_{day}.csv", original)
    conf = {"source": "file", "file_wait_timeout": 60, "email_to": ["desk@example.com"]}
    assert run_dag(nightly_dag, day, conf) == "success"
    first = published(data_root, day)
    revision_1 = first.report_html.read_bytes()

    corrected = [*original[10:], f"105560,금융,61000.50,3,{day}"]
    drop_export(data_root, f"export_{day}_corrected.csv", corrected)
    restate = {"date": day, "alert_to": ["oncall@example.com"]}
    assert restatement_dag.test(run_conf=restate).state == "success"
    second = published(data_root, day)
    assert second.number == 2
    assert {
        s.sector: (s.total_value, s.total_volume, s.transaction_count) for s in NightSummary.read(second).sectors
    } == (sector_figures(corrected))
    revisions = Revisions.of(second)
    assert [r["revision"] for r in revisions.history()] == [1, 2]
    assert first.report_html.read_bytes() == revision_1
    [(to, _)] = smtp_server.about(f"[정정] 섹터별 금융 데이터 요약 {day}: 개정판 2")
    assert to == ["desk@example.com"]

    assert restatement_dag.test(run_conf=restate).state == "failed", "the file was restated: nothing waits"
    [(_, alert)] = smtp_server.about(f"[실패] sector_report_restatement {day}: take_up_correction")
    assert f"No corrected file for {day} waits in" in alert.get_body(("html",)).get_content()
    assert [r["revision"] for r in revisions.history()] == [1, 2]

    # May 2024 is over: its rollup, run now after the correction of one of its days, is final and names that day.
    assert parsed_dag("monthly_sector_report").test(run_conf={"month": "2024-05"}).state == "success"
    month = json.loads(MonthFolder.for_month(data_root, "2024-05").summary_json.read_text())
    assert month["final"] is True
    assert [(d["date"], d["revision"]) for d in month["days_revised"]] == [(day, 2)]
    assert any(d["date"] == day and d["total_value"] for d in month["days"])


def test_a_night_is_withdrawn_only_on_purpose_with_its_reason_recorded(nightly_dag, data_root) -> None:
    day = "2024-05-16"
    assert run_dag(nightly_dag, day, {"rows": 50, "seed": 1}) == "success"
    night = published(data_root, day)
    withdrawal = parsed_dag("sector_report_withdrawal")
    asked = {"date": day, "reason": "the vendor sent yesterday's file", "locale": "en"}
    assert withdrawal.test(run_conf=asked).state == "success"
    assert published_revision(DataFolder(data_root), day) is None
    assert f"revisions/{day}/" not in (data_root / "index.html").read_text()
    record = Revisions.of(night).history()[-1]
    assert (record["event"], record["revision"], record["reason"]) == ("withdrawn", 1, asked["reason"])
    assert "sector_report_withdrawal" in record["by"]
    assert night.report_html.is_file(), "the withdrawn revision stays kept"
    assert withdrawal.test(run_conf=asked).state == "failed", "nothing left to withdraw, and it says so"
