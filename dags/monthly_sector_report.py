"""
### Month-to-date sector report

Runs after every published nightly report (the `sector_report_daily` Asset), so the month's
report is refreshed every night and final after the month's last trading day:

1. **plan_months**: the month (param `month`, else the months of the reports that triggered it),
   the days with a published daily report, and the days without one;
2. **aggregate**: `include/sql/monthly_sector_report/month_summary.sql` as one PyFlink batch job
   over those days' landed inputs: per day and sector, and per month and sector (exact DECIMAL);
3. **publish_months**: reconciles every figure with the published daily summaries (to the cent and
   the row; a difference fails the run with both numbers), then writes `summary.json` and
   `report.html` under `$SECTOR_REPORT_DATA_DIR/months/<YYYY-MM>/`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, Param, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_flink_sql.operators import PyFlinkSqlOperator
from include.sector_report.assets import DAILY_REPORT_ASSET
from include.sector_report.errors import ReportError
from include.sector_report.notify import DEFAULT_ALERT_TO, DEFAULT_LOCALE, EMAIL_LIST, alert_failed_task
from include.sector_report.run_folder import report_date_of
from report_viewer.links import publish_pages

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("SECTOR_REPORT_DATA_DIR", PROJECT_ROOT / "data"))
FLINK_TARGET = os.environ.get("SECTOR_REPORT_FLINK_TARGET", "local")
TIMEZONE = pendulum.timezone("Asia/Seoul")


def months_to_roll_up(context) -> tuple[dt.date, list[str]]:
    """The day the rollup is as of, and its months: the param's, else those of every report date
    carried by the triggering events (a batch may span a month's end), else today's (in Seoul)."""
    dates = [
        event.extra["report_date"]
        for events in (context.get("triggering_asset_events") or {}).values()
        for event in events
        if "report_date" in (event.extra or {})
    ]
    as_of = dt.date.fromisoformat(max(dates)) if dates else report_date_of(dt.datetime.now(dt.UTC))
    if context["params"]["month"]:
        return as_of, [context["params"]["month"]]
    return as_of, sorted({date[:7] for date in dates}) or [as_of.strftime("%Y-%m")]


@task
def plan_months(**context) -> dict:
    """The months to roll up (their published and missing days), and the one job's sql_params."""
    from include.sector_report.month import month_inputs, sql_params

    as_of, months = months_to_roll_up(context)
    try:
        plans = [month_inputs(DATA_ROOT, month, as_of) for month in months]
    except ReportError as exc:
        raise AirflowFailException(str(exc)) from exc
    for plan in plans:
        print(f"{plan.month}: {len(plan.published)} published days {plan.published}; missing {plan.missing}")
    return {
        "months": [{"month": p.month, "published": p.published, "missing": p.missing} for p in plans],
        "sql_params": sql_params(DATA_ROOT, plans),
    }


@task
def publish_months(plan: dict, **context) -> list[str]:
    """Reconcile each month's figures with the published dailies, then write its summary and report."""
    from include.sector_report.month import MonthFolder, MonthInputs, reconcile_month, render_month
    from include.sector_report.render import format_summary_table
    from include.sector_report.validate import SectorSummary

    locale = context["params"]["locale"]
    reports = []
    for month in plan["months"]:
        folder = MonthFolder.for_month(DATA_ROOT, month["month"])
        try:
            summary = reconcile_month(DATA_ROOT, folder, MonthInputs(**month))
        except ReportError as exc:
            raise AirflowFailException(str(exc)) from exc
        reports.append(render_month(folder, summary, locale=locale))
        print(format_summary_table([SectorSummary.from_json(s) for s in summary["sectors"]], locale))
        print(f"Month report: {reports[-1]}")
    publish_pages(context, *reports)
    return [str(report) for report in reports]


with DAG(
    dag_id="monthly_sector_report",
    description="Month-to-date per-sector totals and daily trends, aggregated by PyFlink from the published days",
    doc_md=__doc__,
    schedule=[Asset(DAILY_REPORT_ASSET)],
    start_date=pendulum.datetime(2020, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(PROJECT_ROOT / "include")],
    default_args={
        "owner": "data-eng",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": alert_failed_task,
    },
    tags=["reporting", "flink"],
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            description="YYYY-MM; empty: the month of the report that triggered the run (or of today).",
        ),
        "locale": Param(DEFAULT_LOCALE, enum=["ko", "en"], description="Language of the report."),
        "alert_to": Param(DEFAULT_ALERT_TO, **EMAIL_LIST, description="Addresses told when a run fails."),
    },
):
    plan = plan_months()
    aggregate = PyFlinkSqlOperator(
        task_id="aggregate",
        sql="sql/monthly_sector_report/month_summary.sql",
        sql_params=plan["sql_params"],
        target=FLINK_TARGET,
    )
    aggregate >> publish_months(plan)
