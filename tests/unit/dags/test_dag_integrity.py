"""DAG-integrity checks: the team's rules for every DAG in dags/, written as tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.support import PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=DAGS_FOLDER)


def test_no_import_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}
    assert dag_bag.dags, "no DAG was found in dags/"


def dag_ids() -> list[str]:
    return sorted(DagBag(dag_folder=DAGS_FOLDER).dag_ids)


@pytest.mark.parametrize("dag_id", dag_ids())
def test_dag_follows_team_rules(dag_bag: DagBag, dag_id: str) -> None:
    dag = dag_bag.dags[dag_id]
    assert dag.tags, "every DAG is tagged"
    assert dag.doc_md and dag.doc_md.strip(), "every DAG is documented (doc_md)"
    assert dag.schedule is not None, "every DAG has a schedule"
    assert dag.catchup is False, "catchup is off: a new deployment must not replay history"
    for task in dag.tasks:
        assert task.owner not in ("", "airflow"), f"{task.task_id} has a real owner"
        assert task.retries >= 1, f"{task.task_id} retries transient failures"


def test_parsing_imports_no_engines(capsys) -> None:
    """Parsing the DAGs and importing the plugins must stay cheap: no pyflink, pandas, numpy or exchange calendar."""
    probe = (
        "import sys, time, json; t = time.perf_counter();"
        "import airflow, airflow_flink_sql.operators, airflow_flink_sql.hooks, airflow_report_kit.plugin;"
        "from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r});"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'errors': len(bag.import_errors),"
        "'loaded': sorted(m for m in ('pyflink', 'pandas', 'numpy', 'exchange_calendars') if m in sys.modules)}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    with capsys.disabled():
        print(f"\n[parse time] plugins imported and dags/ parsed in {result['seconds']:.2f} s (with Airflow's imports)")
    assert result["errors"] == 0
    assert result["loaded"] == []


def test_the_nights_follow_the_exchanges_trading_sessions(dag_bag: DagBag) -> None:
    from airflow_report_kit.timetables.exchange_sessions import ExchangeSessionTimetable

    nightly, deadline = dag_bag.dags["nightly_sector_report"], dag_bag.dags["nightly_sector_report_deadline"]
    for dag in (nightly, deadline):
        assert isinstance(dag.timetable, ExchangeSessionTimetable) and dag.timetable.exchange == "XKRX"
    assert nightly.timetable.summary == "XKRX sessions, 23:00 Asia/Seoul"
    assert deadline.timetable.summary == "XKRX sessions, 23:00 Asia/Seoul + 8:00:00"  # by 07:00 the next morning


def test_a_scheduled_night_lands_the_days_file_unless_the_deployment_says_otherwise() -> None:
    probe = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r}); params = bag.dags['nightly_sector_report'].params;"
        "print(json.dumps([params['source'], params['file_wait_timeout']]))"
    )
    settings = ("SECTOR_REPORT_SOURCE", "SECTOR_REPORT_FILE_WAIT_SECONDS")
    for values, expected in (((None, None), ["file", None]), (("generate", "600"), ["generate", 600])):
        env = {k: v for k, v in os.environ.items() if k not in settings}
        env |= {name: value for name, value in zip(settings, values, strict=True) if value}
        out = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True).stdout
        assert json.loads(out.strip().splitlines()[-1]) == expected


def test_a_setting_that_is_not_a_number_of_seconds_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from include.sector_report.settings import seconds_from_env

    monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", "2h")
    with pytest.raises(ValueError, match=r"SECTOR_REPORT_FILE_WAIT_SECONDS='2h' is not a whole number of seconds"):
        seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS")
    monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", " 90 ")
    assert seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS") == 90


def test_an_unknown_exchange_fails_the_parse_naming_the_setting_and_where_names_are_listed() -> None:
    probe = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r});"
        "print(json.dumps([sorted(bag.dags), list(bag.import_errors.values())]))"
    )
    env = {**os.environ, "SECTOR_REPORT_EXCHANGE": "krx "}
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True).stdout
    parsed, errors = json.loads(out.strip().splitlines()[-1])
    assert parsed == [] and len(errors) == 3, "every DAG of the package names the setting"
    for message in errors:
        assert "SECTOR_REPORT_EXCHANGE='krx ' is not an exchange calendar of exchange-calendars" in message
        assert "exchange_calendars.get_calendar_names()" in message
