"""What the DAGs share: the night a task works on, failing without retry, the chain that makes and publishes a night,
the DAGs' defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator
from airflow_report_kit.viewer.links import ReportLink

from include.sector_report.dag_support import (
    CLAIM_TASK,
    SECTOR_SUMMARY_SQL,
    alert_failed_restatement,
    alert_failed_task,
    alert_failed_withdrawal,
    alert_late_night,
    approved_since_checked,
    dag_args,
    daily_report_event,
    fail_without_retry,
    flink_paths,
    holding_findings,
    night_of,
    record_night_failure,
    report_chain,
    restated_date,
    revision_audit,
    sector_summary_params,
)
from include.sector_report.errors import ReportError
from include.sector_report.failure_record import last_failure
from include.sector_report.layout import RunFolder
from include.sector_report.plausibility import Compared, Finding, NightChecks
from include.sector_report.settings import INCLUDE_DIR
from tests.support.nights import published_night, sector

# A task's context as the DAGs' callbacks read it: the night's logical date (23:00 in Seoul), its params.
NIGHT = {
    "logical_date": dt.datetime(2024, 3, 8, 14, 0, tzinfo=dt.UTC),
    "params": {"locale": "en"},
    "ti": SimpleNamespace(task_id="aggregate", run_id="manual__2024-03-08T14:00:00+00:00"),
}


def test_a_tasks_night_is_its_logical_date_in_seoul_or_its_run_after_time() -> None:
    assert night_of(NIGHT).date == "2024-03-08"
    asset_triggered = {
        "logical_date": None,
        "dag_run": SimpleNamespace(run_after=dt.datetime(2024, 3, 8, 16, tzinfo=dt.UTC)),
    }
    assert night_of(asset_triggered).date == "2024-03-09"  # 01:00 in Seoul


def test_bad_input_fails_without_retry_and_anything_else_as_it_is() -> None:
    with pytest.raises(AirflowFailException, match="the file is empty"), fail_without_retry():
        raise ReportError("the file is empty")
    with pytest.raises(ConnectionError), fail_without_retry():
        raise ConnectionError("the cluster is down")


def test_a_task_failing_for_good_records_what_failed_in_its_night(data_root: Path) -> None:
    record_night_failure({**NIGHT, "exception": ReportError("The Flink job was cancelled: no slots.")})
    failure = last_failure(night_of(NIGHT))
    assert failure is not None
    assert (failure.task_id, failure.run_id) == ("aggregate", "manual__2024-03-08T14:00:00+00:00")
    assert failure.error == "The Flink job was cancelled: no slots."


def restatement_context(taken: dict | None, params: dict) -> dict:
    """A restatement task's context: what its first task returned (None: it failed), its params."""
    return {
        "params": params,
        "ti": SimpleNamespace(xcom_pull=lambda task_ids: taken if task_ids == CLAIM_TASK else None),
    }


def test_a_failed_withdrawal_alerts_naming_the_night_asked_for(smtp_server) -> None:
    ti = SimpleNamespace(dag_id="sector_report_withdrawal", task_id="withdraw", log_url="http://airflow/log")
    context = {"params": {"date": "2024-03-08", "alert_to": ["oncall@example.com"], "locale": "en"}, "ti": ti,
               "exception": ReportError("The night of 2024-03-08 is not published: nothing to withdraw.")}  # fmt: skip
    alert_failed_withdrawal(context)
    [(to, mail)] = smtp_server.about("[FAILED] sector_report_withdrawal 2024-03-08: withdraw")
    assert to == ["oncall@example.com"]
    assert "nothing to withdraw" in mail.get_body(("html",)).get_content()


def test_a_restatement_is_of_its_corrected_files_date_else_of_the_date_asked_for() -> None:
    assert restated_date(restatement_context({"date": "2024-03-08"}, {"date": None})) == "2024-03-08"
    assert restated_date(restatement_context(None, {"date": "2024-03-11"})) == "2024-03-11"
    assert restated_date(restatement_context(None, {"date": None})) is None


def test_a_revisions_audit_line_names_its_run_job_and_recipients(data_root: Path) -> None:
    published_night(data_root, "2024-03-08", [sector("semiconductor", "100.00")])
    night = night_of(NIGHT)  # the work area a revision is published from
    results = {"aggregate": {"job_id": "j1"}}
    ti = SimpleNamespace(
        dag_id="nightly_sector_report", run_id="manual__1", xcom_pull=lambda task_ids: results.get(task_ids)
    )
    nightly = revision_audit({"ti": ti, "params": {"email_to": ["desk@example.com"]}})(night, 2)
    assert (nightly["flink_job_id"], nightly["run_id"], nightly["recipients"]) == (
        "j1",
        "manual__1",
        ["desk@example.com"],
    )
    assert "approved" not in nightly, "nothing held the night: nobody approved it"
    restatement = revision_audit({"ti": ti, "params": {}})(night, 2)
    assert restatement["recipients"] == [], "a restatement's mail goes to whoever earlier revisions went to: nobody"


def approval_of(answered: dt.datetime) -> dict:
    """What the approval task returns (Airflow's HITLOperator.execute_complete), as its XCom gives it back."""
    return {
        "chosen_options": ["Approve"],
        "params_input": {"comment": "half-day session"},
        "responded_at": answered,
        "responded_by_user": {"id": "7", "name": "kim"},
    }


def held_night(checked_at: dt.datetime) -> RunFolder:
    """Tonight's work area, its checks holding it (row count), run at ``checked_at``."""
    night = night_of(NIGHT)
    held = Finding("row_count", "held", Compared(5, "2024-03-01", "2024-03-07"), {})
    NightChecks("history", [held], checked_at=checked_at.isoformat()).write(night)
    return night


def test_an_approved_nights_audit_line_says_who_approved_it_when_and_why(data_root: Path) -> None:
    published_night(data_root, "2024-03-08", [sector("semiconductor", "100.00")])
    checked = dt.datetime(2024, 3, 8, 22, 10, tzinfo=dt.UTC)
    night = held_night(checked)
    results = {"aggregate": {"job_id": "j1"}, "wait_for_approval": approval_of(checked + dt.timedelta(minutes=20))}
    ti = SimpleNamespace(
        dag_id="nightly_sector_report", run_id="manual__1", xcom_pull=lambda task_ids: results.get(task_ids)
    )
    line = revision_audit({"ti": ti, "params": {"email_to": []}})(night, 2)
    assert line["approved"] == {"by": "kim", "at": "2024-03-08T22:30:00+00:00", "comment": "half-day session"}
    assert line["checks"]["held"] == ["row_count"]


def test_an_approval_given_before_the_checks_last_ran_approves_nothing(data_root: Path) -> None:
    """check_plausibility cleared alone after an approval: publish finds the night held and not approved since."""
    checked = dt.datetime(2024, 3, 8, 22, 10, tzinfo=dt.UTC)
    night = held_night(checked)
    checks = NightChecks.read(night)
    assert checks is not None
    assert approved_since_checked(checks, approval_of(checked + dt.timedelta(seconds=1)))
    assert not approved_since_checked(checks, approval_of(checked - dt.timedelta(seconds=1)))
    assert not approved_since_checked(checks, None)
    assert [f.check for f in holding_findings(night)] == ["row_count"]


def test_a_night_held_past_its_deadline_is_said_to_be_held_with_a_link_to_its_approval(smtp_server) -> None:
    context = {"params": {"alert_to": ["oncall@example.com"], "locale": "en"}}
    deadline = dt.datetime(2024, 3, 8, 22, 0, tzinfo=dt.UTC)
    alert_late_night(
        context,
        night_dag_id="nightly_sector_report",
        report_date="2024-03-08",
        deadline=deadline,
        night_state="held",
        failure=None,
        held_run="scheduled__2024-03-08T14:00:00+00:00",
    )
    [(_, mail)] = smtp_server.about("[LATE] nightly_sector_report 2024-03-08")
    html = mail.get_body(("html",)).get_content()
    assert "held for approval" in html
    run = "scheduled__2024-03-08T14%3A00%3A00%2B00%3A00"
    assert f"/dags/nightly_sector_report/runs/{run}/tasks/wait_for_approval/required_actions" in html


def test_the_flink_jobs_paths_are_the_nights_files() -> None:
    run = RunFolder(Path("/data/runs/2024-03-08"))
    paths = flink_paths(run)
    assert paths["run_dir"] == "/data/runs/2024-03-08"
    assert sector_summary_params(paths) == {
        "transactions_path": str(run.transactions_csv),
        "stocks_path": str(run.stocks_csv),
        "sector_sink_path": str(run.sector_sink_dir),
        "stock_sink_path": str(run.stock_sink_dir),
    }


def test_a_published_nights_asset_event_carries_its_date_totals_and_revision(tmp_path: Path) -> None:
    night = published_night(tmp_path, "2024-03-08", [sector("semiconductor", "100.50", count=3)])
    assert daily_report_event(night) == {"report_date": "2024-03-08", "rows": 3, "total_value": "100.50", "revision": 1}


def chain_dag(restatement: bool, prepare=lambda context, *values: RunFolder(Path("/data/runs/2024-03-08"))) -> DAG:
    """A DAG holding just a report chain, built as the nightly (after an upstream task) or restatement DAG builds it."""
    with DAG(dag_id=f"chain_{restatement}", schedule=None, **dag_args()) as dag:
        upstream = EmptyOperator(task_id="upstream")
        if restatement:
            report_chain(prepare, upstream.output)
        else:
            chain = report_chain(prepare, prepare_trigger_rule="none_failed", parallelism="{{ params.parallelism }}")
            upstream >> chain.prepared
    return dag


@pytest.mark.parametrize("restatement", [False, True])
def test_the_report_chain_is_the_same_seven_tasks_in_the_same_order(restatement: bool) -> None:
    dag = chain_dag(restatement)
    order = [
        "upstream",
        "prepare_input",
        "aggregate",
        "validate",
        "check_plausibility",
        "render_report",
        "wait_for_approval",
        "publish",
    ]
    assert sorted(dag.task_ids) == sorted(order)
    for before, after in zip(order, order[1:], strict=False):
        assert before in dag.get_task(after).upstream_task_ids
    aggregate = dag.get_task("aggregate")
    assert isinstance(aggregate, PyFlinkSqlOperator)
    assert aggregate.sql.serialize() == SECTOR_SUMMARY_SQL
    assert (INCLUDE_DIR / SECTOR_SUMMARY_SQL).is_file(), "the SQL renders from the DAGs' template_searchpath"
    assert [type(link) for link in dag.get_task("publish").operator_extra_links] == [ReportLink]
    assert [asset.name for asset in dag.get_task("publish").outlets] == ["sector_report_daily"]


@pytest.mark.parametrize("restatement", [False, True])
def test_no_task_of_the_chain_withdraws_a_night_before_or_after_it_runs(restatement: bool) -> None:
    """Clearing any task leaves what readers see as it was: only publish changes it, and only by succeeding."""
    dag = chain_dag(restatement)
    for task_id in set(dag.task_ids) - {"upstream"}:
        # Airflow keeps a task's pre_execute hook, which its task runner calls, under this name alone.
        assert dag.get_task(task_id)._pre_execute_hook is None
        assert dag.get_task(task_id).on_failure_callback == [alert_failed_task]  # the DAG's default


def test_a_night_and_a_restatement_differ_in_their_trigger_rule_and_flink_job() -> None:
    night, restatement = chain_dag(False), chain_dag(True)
    assert night.get_task("prepare_input").trigger_rule == "none_failed"
    assert restatement.get_task("prepare_input").trigger_rule == "all_success"
    assert night.get_task("aggregate").parallelism == "{{ params.parallelism }}"
    assert restatement.get_task("aggregate").parallelism is None


def test_prepare_input_hands_on_the_prepared_folders_paths_and_fails_bad_input_without_retry() -> None:
    prepared = chain_dag(True).get_task("prepare_input")
    assert prepared.python_callable({"date": "2024-03-08"}) == flink_paths(RunFolder(Path("/data/runs/2024-03-08")))

    def bad_file(context, correction) -> RunFolder:
        raise ReportError("the file is empty")

    with pytest.raises(AirflowFailException, match="the file is empty"):
        chain_dag(True, bad_file).get_task("prepare_input").python_callable({"date": "2024-03-08"})


def test_every_dag_is_alike_in_its_defaults() -> None:
    args = dag_args(on_failure_callback=alert_failed_restatement, runs_flink=False)
    assert (args["catchup"], args["max_active_runs"], args["tags"]) == (False, 1, ["reporting"])
    assert args["default_args"]["on_failure_callback"] is alert_failed_restatement
    assert args["default_args"]["owner"] == "data-eng"
    assert dag_args()["tags"] == ["reporting", "flink"]
