"""Alert mails: what they say, escaped, in the run's language (report mails are checked end to end)."""

from __future__ import annotations

import re
from pathlib import Path

from include.sector_report.failure_record import Failure
from include.sector_report.reporting.mail import (
    MAX_ERROR_CHARS,
    correction_mail,
    failure_alert,
    first_paragraph,
    late_alert,
)
from include.sector_report.reporting.render import render_report
from tests.support.nights import FACTS, published_night, sector, validated_night


def test_an_alert_names_dag_date_task_error_and_log_and_escapes_them() -> None:
    mail = failure_alert(
        dag_id="nightly_sector_report",
        report_date="2024-03-08",
        task_id="aggregate",
        error="Flink job failed: <script>alert(1)</script> & more.\n\nJava trace line 1\nline 2",
        log_url="http://airflow.example/dags/nightly_sector_report/runs/r%201/tasks/aggregate?try_number=1",
        locale="en",
    )
    assert mail.subject == "[FAILED] nightly_sector_report 2024-03-08: aggregate"
    assert "Flink job failed: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in mail.html
    assert "Java trace" not in mail.html  # only the first paragraph
    assert (
        'href="http://airflow.example/dags/nightly_sector_report/runs/r%201/tasks/aggregate?try_number=1"' in mail.html
    )
    korean = failure_alert(
        dag_id="d", report_date="2024-03-08", task_id="t", error="e", log_url="http://x", locale="ko"
    )
    assert korean.subject == "[실패] d 2024-03-08: t"
    assert "실행이 실패했습니다" in korean.html


def test_first_paragraph_is_cut_at_a_blank_line_and_kept_short() -> None:
    assert first_paragraph("  one\nstill one\n \n two") == "one\nstill one"
    long = first_paragraph("x" * (MAX_ERROR_CHARS + 10))
    assert len(long) == MAX_ERROR_CHARS
    assert long.endswith("…")


def test_a_late_alert_says_what_the_run_is_doing_and_what_failed() -> None:
    late = dict(dag_id="nightly_sector_report", report_date="2024-03-08", deadline="2024-03-08T22:00:00+00:00",
                run_url="http://airflow.example/dags/nightly_sector_report/runs", locale="en")  # fmt: skip
    running = late_alert(night_state="running", failure=None, **late)
    assert running.subject == "[LATE] nightly_sector_report 2024-03-08"
    assert "running (e.g. waiting for its file)" in running.html
    assert "aggregate" not in running.html
    error = "The Flink job was cancelled: no TaskManager offered it slots in 300 s.\n\nJava trace"
    failure = Failure("aggregate", "scheduled__2024-03-08", error, "2024-03-08T15:00:00+00:00")
    failed = late_alert(night_state="failed", failure=failure, **late)
    assert "aggregate" in failed.html
    assert "no TaskManager offered it slots in 300 s." in failed.html
    assert "Java trace" not in failed.html


def test_a_correction_mail_names_the_date_the_revision_and_each_sectors_differences(tmp_path: Path) -> None:
    published_night(tmp_path, "2024-03-08", [sector("semiconductor", "1000.00", volume=10, count=2)])
    work = validated_night(
        tmp_path, "2024-03-08", [sector("semiconductor", "1100.00", volume=11, count=3), sector("bank", "5.00")],
        restatement=True, input_sha256="c" * 64,
    )  # fmt: skip
    render_report(work, locale="ko", run_facts=FACTS)
    mail = correction_mail(work, locale="ko")
    assert mail.subject == "[정정] 섹터별 금융 데이터 요약 2024-03-08: 개정판 2"
    rows = dict(re.findall(r'<tr data-sector="(\w+)"[^>]*>(.*?)</tr>', mail.html, re.S))
    assert re.findall(r'data-figure="\w+">([^<]+)<', rows["semiconductor"]) == ["+100.00", "+1", "+1"]
    assert "+10.0%" in rows["semiconductor"]
    assert re.findall(r'data-figure="\w+">([^<]+)<', rows["bank"]) == ["+5.00", "+1", "+1"]
    assert "<style" not in mail.html, "inline styles only: mail clients drop style sheets"


def test_a_late_alert_of_a_held_night_says_it_waits_for_approval() -> None:
    late = dict(dag_id="nightly_sector_report", report_date="2024-03-08", deadline="2024-03-08T22:00:00+00:00",
                run_url="http://airflow.example/required_actions", failure=None)  # fmt: skip
    assert (
        "held for approval: its plausibility checks held it" in late_alert(night_state="held", locale="en", **late).html
    )
    assert "승인 대기 중" in late_alert(night_state="held", locale="ko", **late).html
