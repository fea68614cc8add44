"""Alert mails: what they say, escaped, in the run's language (report mails are checked end to end)."""

from __future__ import annotations

from include.sector_report.reporting.mail import MAX_ERROR_CHARS, failure_alert, first_paragraph


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
    assert korean.subject == "[실패] d 2024-03-08: t" and "실행이 실패했습니다" in korean.html


def test_first_paragraph_is_cut_at_a_blank_line_and_kept_short() -> None:
    assert first_paragraph("  one\nstill one\n \n two") == "one\nstill one"
    long = first_paragraph("x" * (MAX_ERROR_CHARS + 10))
    assert len(long) == MAX_ERROR_CHARS and long.endswith("…")
