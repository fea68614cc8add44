"""Alert mails: what they say, escaped, in the run's language (report mails are checked end to end)."""

from __future__ import annotations

from include.sector_report.failures import Failure
from include.sector_report.reporting.mail import MAX_ERROR_CHARS, failure_alert, first_paragraph, late_alert


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
