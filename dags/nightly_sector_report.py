"""
### Nightly sector report

Every night at 23:00 (Asia/Seoul), after the trading day, this DAG

0. **wait_for_earlier_runs**: waits (deferred) until the previous date's run has ended, so a
   backfill gives the reports that nightly runs in date order would; **wait_for_input**: with
   `source=file` and no `input_path`, waits (deferred, until `file_wait_timeout`) for the day's
   file in `incoming/`;
1. **prepare_input**: generates the day's transactions (`source=generate`) or lands a CSV
   (`source=file`: `input_path`, or the day's file from `incoming/`), quarantining
   bad rows, and records control totals computed independently of Flink;
2. **aggregate**: runs `include/sql/nightly_sector_report/sector_summary.sql` as one PyFlink batch job:
   per sector total value `SUM(price * volume)` (exact DECIMAL), average price, total volume, count;
3. **validate**: reconciles Flink's output with the control totals to the cent, then publishes
   `summary.csv` / `summary.json`;
4. **render_report**: writes `report.html` (Korean or English), logs the summary table and links
   the report to the task ("Report" button) and the run ("Report" tab);
5. **publish**: adds the date to `reports/index.html` and points `reports/latest.html` at the newest;
6. **deliver_report**: mails the report to `email_to` (through the `smtp_default` connection).

A task that fails for good mails an alert to `alert_to`.

A run's files live in `$SECTOR_REPORT_DATA_DIR/runs/<date>/`, where `<date>` is the logical
date in Asia/Seoul; a rerun of a date replaces them. Bad input and failed validation fail the run
at once (no retries) and publish nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pendulum
from airflow.sdk import (
    DAG,
    Asset,
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    Param,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_flink_sql.operators import PyFlinkSqlOperator
from file_arrival.sensors import FileArrivalSensor
from include.sector_report.assets import DAILY_REPORT_ASSET
from include.sector_report.errors import ReportError
from include.sector_report.notify import (
    DEFAULT_ALERT_TO,
    DEFAULT_EMAIL_TO,
    DEFAULT_LOCALE,
    EMAIL_LIST,
    alert_failed_task,
    alert_late_run,
)
from include.sector_report.run_folder import RunFolder, report_date_of
from report_viewer.links import ReportLink, link_report, publish_pages
from run_order.sensors import PreviousRunSensor

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INCLUDE_DIR = PROJECT_ROOT / "include"
DATA_ROOT = Path(os.environ.get("SECTOR_REPORT_DATA_DIR", PROJECT_ROOT / "data"))
# Folders outside DATA_ROOT that input_path may point into (os.pathsep-separated).
ALLOWED_INPUT_DIRS = [Path(p) for p in os.environ.get("SECTOR_REPORT_ALLOWED_INPUT_DIRS", "").split(os.pathsep) if p]
FLINK_TARGET = os.environ.get("SECTOR_REPORT_FLINK_TARGET", "local")
TIMEZONE = pendulum.timezone("Asia/Seoul")
DAILY_REPORT = Asset(DAILY_REPORT_ASSET)
# A run not published this long after it was queued alerts alert_to (480: the 23:00 run by 07:00 Seoul
# time). Only where it is set: Airflow 3.3's dag.test(), so `make run`, fails at the end of a successful run
# of a DAG with a DeadlineAlert (its in-memory DAG holds the alert, not the alert's id in the DB).
PUBLISH_DEADLINE_MINUTES = os.environ.get("SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES")


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Bad input or failed validation fails the same way on every try: do not retry it."""
    try:
        yield
    except ReportError as exc:
        raise AirflowFailException(str(exc)) from exc


def report_date() -> dt.date:
    """The business day a run reports on: its logical date, as a date in Seoul."""
    context = get_current_context()
    return report_date_of(context.get("logical_date") or context["dag_run"].run_after)


@task
def plan_input_wait(**context) -> dict:
    """What wait_for_input waits for; skipped (and the wait with it) when the input is not a dropped file."""
    from include.sector_report.land import file_wait_deadline, incoming_folder, incoming_patterns

    params = context["params"]
    if params["source"] != "file" or params["input_path"]:
        raise AirflowSkipException("Nothing to wait for: the input is generated, or given as input_path.")
    day = report_date()
    deadline = file_wait_deadline(day, params["file_wait_timeout"], pendulum.now("UTC"))
    return {
        "folder": str(incoming_folder(DATA_ROOT)),
        "patterns": incoming_patterns(day),
        "until": deadline.isoformat(),
    }


@task(trigger_rule="none_failed")
def prepare_input(**context) -> dict:
    from include.sector_report.inputs import prepare_input as prepare

    params = context["params"]
    day = report_date()
    run = RunFolder.for_date(DATA_ROOT, day.isoformat())
    arrived = context["ti"].xcom_pull(task_ids="wait_for_input")
    with fail_without_retry():
        manifest = prepare(
            run,
            source=params["source"],
            logical_date=day,
            rows=params["rows"],
            seed=params["seed"],
            input_path=params["input_path"] or arrived,
            data_root=DATA_ROOT,
            allowed_input_dirs=ALLOWED_INPUT_DIRS,
            allow_empty=params["allow_empty"],
        )
    print(f"Prepared {run.transactions_csv}: {manifest}")
    return {
        "run_dir": str(run.root),
        "transactions_path": str(run.transactions_csv),
        "stocks_path": str(run.stocks_csv),
        "sector_sink_path": str(run.sector_sink_dir),
        "stock_sink_path": str(run.stock_sink_dir),
    }


@task
def validate(prepared: dict, **context) -> None:
    from include.sector_report.validate import validate_run

    with fail_without_retry():
        validate_run(
            RunFolder(Path(prepared["run_dir"])),
            max_reject_ratio=context["params"]["max_reject_ratio"],
            logical_date=report_date().isoformat(),
        )


@task
def render_report(prepared: dict, flink_job: dict, **context) -> str:
    from include.sector_report.render import format_summary_table
    from include.sector_report.render import render_report as render
    from include.sector_report.validate import read_summary

    locale = context["params"]["locale"]
    run = RunFolder(Path(prepared["run_dir"]))
    report = render(
        run,
        locale=locale,
        run_facts={
            "run_id": context["run_id"],
            "flink_job_id": flink_job["job_id"],
            "flink_duration_s": flink_job["duration_s"],
        },
    )
    _, sectors = read_summary(run)
    print(format_summary_table(sectors, locale))
    print(f"Report: {report} (in the Airflow UI: {link_report(context, report)})")
    return str(report)


@task(outlets=[DAILY_REPORT])
def publish(report: str, **context) -> str:
    """Only now, with the report validated and rendered, does the date join the reports index and
    the daily report Asset get its event (which runs the monthly rollup)."""
    from include.sector_report.publish import publish_index
    from include.sector_report.validate import read_summary

    summary, _ = read_summary(RunFolder(Path(report).parent))
    context["outlet_events"][DAILY_REPORT].extra = {
        "report_date": summary["logical_date"],
        "rows": summary["totals"]["rows"],
        "total_value": summary["totals"]["total_value"],
    }
    index = publish_index(DATA_ROOT, locale=context["params"]["locale"])
    publish_pages(context, index, index.with_name("latest.html"))
    print(f"Reports index: {index}")
    return str(index)


@task
def deliver_report(report: str, **context) -> None:
    """Mail the published report to ``email_to``: key figures in the body, the report attached."""
    import shutil
    import tempfile

    from include.sector_report.mail import report_mail
    from include.sector_report.notify import send

    params = context["params"]
    if not params["email_to"]:
        raise AirflowSkipException("email_to is empty: the report is not mailed.")
    run = RunFolder(Path(report).parent)
    mail = report_mail(run, locale=params["locale"])
    with tempfile.TemporaryDirectory() as folder:
        # The attachment's name is what readers keep: it says which day it is.
        attachment = shutil.copy(report, Path(folder) / f"sector-report-{run.date}.html")
        send(context, params["email_to"], mail, files=[attachment])
    print(f"Mailed {mail.subject!r} to {', '.join(params['email_to'])}")


with DAG(
    dag_id="nightly_sector_report",
    description="Per-sector totals of the day's stock transactions, aggregated by PyFlink, as an HTML report",
    doc_md=__doc__,
    schedule="0 23 * * *",
    start_date=pendulum.datetime(2020, 1, 1, tz=TIMEZONE),  # earliest reportable date: runs before it create no tasks,
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(INCLUDE_DIR)],
    default_args={
        "owner": "data-eng",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": alert_failed_task,
    },
    tags=["reporting", "flink"],
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=dt.timedelta(minutes=float(PUBLISH_DEADLINE_MINUTES)),
        callback=AsyncCallback(alert_late_run, kwargs={"alert_to": DEFAULT_ALERT_TO, "locale": DEFAULT_LOCALE}),
    )
    if PUBLISH_DEADLINE_MINUTES
    else None,
    params={
        "source": Param("generate", enum=["generate", "file"], description="Generate sample data or land a CSV file."),
        "rows": Param(1000, type="integer", minimum=1, maximum=100_000_000, description="Rows to generate."),
        "seed": Param(42, type="integer", description="Random seed for generated data (with the date)."),
        "input_path": Param(
            None,
            type=["null", "string"],
            description="CSV file or folder of part files to land when source is 'file' (relative to the data "
            "folder, or inside SECTOR_REPORT_ALLOWED_INPUT_DIRS); empty: wait for the date's CSV in incoming/.",
        ),
        "file_wait_timeout": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            description="Seconds to wait for the date's CSV in incoming/ (source 'file', no input_path); "
            "empty: until 06:00 Seoul time the next morning.",
        ),
        "email_to": Param(DEFAULT_EMAIL_TO, **EMAIL_LIST, description="Addresses the report is mailed to."),
        "alert_to": Param(DEFAULT_ALERT_TO, **EMAIL_LIST, description="Addresses told when a run fails or is late."),
        "allow_empty": Param(False, type="boolean", description="A day without transactions is a valid report."),
        "max_reject_ratio": Param(
            0.01,
            type="number",
            minimum=0,
            maximum=1,
            description="Largest share of rejected input rows a run may have.",
        ),
        "parallelism": Param(1, type="integer", minimum=1, maximum=64, description="Flink job parallelism."),
        "locale": Param(DEFAULT_LOCALE, enum=["ko", "en"], description="Language of the report."),
    },
):
    earlier_runs = PreviousRunSensor(task_id="wait_for_earlier_runs")
    input_wait = plan_input_wait()
    arrived = FileArrivalSensor(
        task_id="wait_for_input",
        folder=input_wait["folder"],
        patterns=input_wait["patterns"],
        wait_until=input_wait["until"],
    )
    prepared = prepare_input()
    earlier_runs >> input_wait
    arrived >> prepared
    aggregate = PyFlinkSqlOperator(
        task_id="aggregate",
        sql="sql/nightly_sector_report/sector_summary.sql",
        sql_params={
            "transactions_path": prepared["transactions_path"],
            "stocks_path": prepared["stocks_path"],
            "sector_sink_path": prepared["sector_sink_path"],
            "stock_sink_path": prepared["stock_sink_path"],
        },
        parallelism="{{ params.parallelism }}",
        target=FLINK_TARGET,
    )
    validated = validate(prepared)
    report = render_report(prepared, aggregate.output)
    # TaskFlow takes no operator_extra_links argument; the link is the rendered report's.
    report.operator.operator_extra_links = (ReportLink(),)
    aggregate >> validated >> report
    publish(report) >> deliver_report(report)
