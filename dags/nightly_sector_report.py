"""
### Nightly sector report

Every night at 23:00 (Asia/Seoul), after the trading day, this DAG

1. **prepare_input**: generates the day's transactions (`source=generate`) or lands a CSV
   (`source=file`: `input_path`, or the newest CSV for the date in `incoming/`), quarantining
   bad rows, and records control totals computed independently of Flink;
2. **aggregate**: runs `include/sql/nightly_sector_report/sector_summary.sql` as one PyFlink batch job:
   per sector total value `SUM(price * volume)` (exact DECIMAL), average price, total volume, count;
3. **validate**: reconciles Flink's output with the control totals to the cent, then publishes
   `summary.csv` / `summary.json`;
4. **render_report**: writes `report.html` (Korean or English), logs the summary table and links
   the report to the task ("Report" button) and the run ("Report" tab);
5. **publish**: adds the date to `reports/index.html` and points `reports/latest.html` at the newest.

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
from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_flink_sql.operators import PyFlinkSqlOperator
from include.sector_report.errors import ReportError
from include.sector_report.run_folder import RunFolder
from report_viewer.links import ReportLink, link_report

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INCLUDE_DIR = PROJECT_ROOT / "include"
DATA_ROOT = Path(os.environ.get("SECTOR_REPORT_DATA_DIR", PROJECT_ROOT / "data"))
# Folders outside DATA_ROOT that input_path may point into (os.pathsep-separated).
ALLOWED_INPUT_DIRS = [Path(p) for p in os.environ.get("SECTOR_REPORT_ALLOWED_INPUT_DIRS", "").split(os.pathsep) if p]
FLINK_TARGET = os.environ.get("SECTOR_REPORT_FLINK_TARGET", "local")
TIMEZONE = pendulum.timezone("Asia/Seoul")


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
    moment = context.get("logical_date") or context["dag_run"].run_after
    return pendulum.instance(moment).in_timezone(TIMEZONE).date()


@task
def prepare_input(**context) -> dict:
    from include.sector_report.inputs import prepare_input as prepare

    params = context["params"]
    day = report_date()
    run = RunFolder.for_date(DATA_ROOT, day.isoformat())
    with fail_without_retry():
        manifest = prepare(
            run,
            source=params["source"],
            logical_date=day,
            rows=params["rows"],
            seed=params["seed"],
            input_path=params["input_path"],
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


@task
def publish(report: str, **context) -> str:
    """Only now, with the report validated and rendered, does the date join the reports index."""
    from include.sector_report.publish import publish_index

    index = publish_index(DATA_ROOT, locale=context["params"]["locale"])
    print(f"Reports index: {index}")
    return str(index)


with DAG(
    dag_id="nightly_sector_report",
    description="Per-sector totals of the day's stock transactions, aggregated by PyFlink, as an HTML report",
    doc_md=__doc__,
    schedule="0 23 * * *",
    start_date=pendulum.datetime(2020, 1, 1, tz=TIMEZONE),  # earliest reportable date: runs before it create no tasks,
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(INCLUDE_DIR)],
    default_args={"owner": "data-eng", "retries": 2, "retry_delay": dt.timedelta(minutes=5)},
    tags=["reporting", "flink"],
    params={
        "source": Param("generate", enum=["generate", "file"], description="Generate sample data or land a CSV file."),
        "rows": Param(1000, type="integer", minimum=1, maximum=100_000_000, description="Rows to generate."),
        "seed": Param(42, type="integer", description="Random seed for generated data (with the date)."),
        "input_path": Param(
            None,
            type=["null", "string"],
            description="CSV file or folder of part files to land when source is 'file' (relative to the data "
            "folder, or inside SECTOR_REPORT_ALLOWED_INPUT_DIRS); empty: the newest CSV for the date in incoming/.",
        ),
        "allow_empty": Param(False, type="boolean", description="A day without transactions is a valid report."),
        "max_reject_ratio": Param(
            0.01,
            type="number",
            minimum=0,
            maximum=1,
            description="Largest share of rejected input rows a run may have.",
        ),
        "parallelism": Param(1, type="integer", minimum=1, maximum=64, description="Flink job parallelism."),
        "locale": Param("ko", enum=["ko", "en"], description="Language of the report."),
    },
):
    prepared = prepare_input()
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
    publish(report)
