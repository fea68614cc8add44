"""How the earlier-runs wait tells an `airflow dags test` process from other processes (the runs themselves are
waited for in the project's system tests, tests/system/test_run_order.py)."""

from __future__ import annotations

from airflow_report_kit.sensors.run_order import dags_test_of

DAG_ID = "nightly_sector_report"


def test_the_dags_test_command_line_is_recognised() -> None:
    python = ["/venv/bin/python", "/venv/bin/airflow"]
    assert dags_test_of([*python, "dags", "test", DAG_ID, "2024-06-03", "--conf", "{}"]) == (DAG_ID, "2024-06-03")
    assert dags_test_of([*python, "dags", "test", DAG_ID, "--conf", "{}"]) == (DAG_ID, None)
    assert dags_test_of(["/venv/bin/python", "-m", "airflow", "dags", "test", DAG_ID]) == (DAG_ID, None)
    assert dags_test_of([*python, "dags", "trigger", DAG_ID]) is None
    assert dags_test_of(["grep", "dags", "test", DAG_ID]) is None
