"""DAG-integrity checks: the team's rules for every DAG in dags/, written as tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

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


# The DAGs a person triggers and nothing else: an operator's action is never a schedule's.
BY_HAND = {"sector_report_withdrawal"}


@pytest.mark.parametrize("dag_id", dag_ids())
def test_dag_follows_team_rules(dag_bag: DagBag, dag_id: str) -> None:
    dag = dag_bag.dags[dag_id]
    assert dag.tags, "every DAG is tagged"
    assert (dag.doc_md or "").strip(), "every DAG is documented (doc_md)"
    assert (dag.schedule is None) == (dag_id in BY_HAND), "every DAG has a schedule, but those triggered by hand"
    assert dag.catchup is False, "catchup is off: a new deployment must not replay history"
    for task in dag.tasks:
        assert task.owner not in ("", "airflow"), f"{task.task_id} has a real owner"
        assert task.retries >= 1, f"{task.task_id} retries transient failures"


def test_parsing_imports_no_engines(capsys) -> None:
    """Parsing the DAGs and importing the plugins must stay cheap: no pyflink, pandas, numpy or exchange calendar."""
    probe = (
        "import sys, time, json; t = time.perf_counter();"
        "import airflow, airflow_flink_sql.operators.flink_sql, airflow_flink_sql.hooks.flink_sql;"
        "import airflow_report_kit.plugin;"
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
        assert isinstance(dag.timetable, ExchangeSessionTimetable)
        assert dag.timetable.exchange == "XKRX"
    assert nightly.timetable.summary == "XKRX sessions, 23:00 Asia/Seoul"
    assert deadline.timetable.summary == "XKRX sessions, 23:00 Asia/Seoul + 8:00:00"  # by 07:00 the next morning


def test_a_flink_jobs_slot_limit_error_names_the_setting_to_raise(dag_bag: DagBag) -> None:
    from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator

    flink_tasks = {
        (dag.dag_id, task.task_id): task
        for dag in dag_bag.dags.values()
        for task in dag.tasks
        if isinstance(task, PyFlinkSqlOperator)
    }
    assert len(flink_tasks) == 3, "the nightly, monthly and restatement DAGs' aggregate"
    for task in flink_tasks.values():
        assert "SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS" in task.slot_wait_setting
    assert "flink_slot_wait param" in flink_tasks["nightly_sector_report", "aggregate"].slot_wait_setting


@pytest.fixture
def parse_as_deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., DagBag]]:
    """Parse dags/ in-process as a deployment with other settings would: the settings are read when the package
    is imported, so its modules are imported anew for the parse, and the test's own are put back afterwards."""
    package = "include.sector_report"

    def imported() -> dict[str, ModuleType]:
        return {name: module for name, module in sys.modules.items() if name.split(".")[:2] == package.split(".")}

    ours = imported()

    def parse(**settings: str | None) -> DagBag:
        for name, value in settings.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        for name in imported():
            del sys.modules[name]
        monkeypatch.delattr(sys.modules["include"], "sector_report", raising=False)
        return DagBag(dag_folder=DAGS_FOLDER)

    yield parse
    for name in imported():
        del sys.modules[name]
    sys.modules.update(ours)


def test_a_scheduled_night_lands_the_days_file_unless_the_deployment_says_otherwise(parse_as_deployed) -> None:
    for source, wait, expected in ((None, None, ["file", None]), ("generate", "600", ["generate", 600])):
        bag = parse_as_deployed(SECTOR_REPORT_SOURCE=source, SECTOR_REPORT_FILE_WAIT_SECONDS=wait)
        params = bag.dags["nightly_sector_report"].params
        assert [params["source"], params["file_wait_timeout"]] == expected


def test_an_unknown_exchange_fails_the_parse_naming_the_setting_and_where_names_are_listed(parse_as_deployed) -> None:
    bag = parse_as_deployed(SECTOR_REPORT_EXCHANGE="krx ")
    assert bag.dags == {}
    assert len(bag.import_errors) == len(list(DAGS_FOLDER.glob("*.py"))), "every DAG of the package names the setting"
    for message in bag.import_errors.values():
        assert "SECTOR_REPORT_EXCHANGE='krx ' is not an exchange calendar of exchange-calendars" in message
        assert "exchange_calendars.get_calendar_names()" in message


@pytest.mark.parametrize(
    "setting",
    [
        "SECTOR_REPORT_FLINK_JOB_TIMEOUT_SECONDS",
        "SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS",
        "SECTOR_REPORT_FILE_WAIT_SECONDS",
        "SECTOR_REPORT_CORRECTIONS_POLL_SECONDS",
        "SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES",
    ],
)
def test_a_limit_set_to_zero_fails_the_parse_naming_the_setting(parse_as_deployed, setting: str) -> None:
    """0 is no "no limit": a deployment that sets it hears so at once, not at 23:00 (nor gets the default)."""
    bag = parse_as_deployed(**{setting: "0"})
    assert bag.dags == {}
    assert bag.import_errors
    for message in bag.import_errors.values():
        assert f"{setting}=0 is refused: " in message


def test_a_retry_delay_of_zero_retries_at_once(parse_as_deployed) -> None:
    bag = parse_as_deployed(SECTOR_REPORT_RETRY_DELAY_SECONDS="0")
    assert bag.import_errors == {}
    assert {task.retry_delay.total_seconds() for dag in bag.dags.values() for task in dag.tasks} == {0}
