"""
### Month-to-date sector report

Runs after every published nightly report (the `sector_report_daily` Asset), so the month's
report is refreshed every night and final after the month's last trading day:

1. **plan_months**: the month (param `month`, else the months of the reports that triggered it),
   its published nights, and its trading sessions so far without one (`SECTOR_REPORT_EXCHANGE`);
2. **aggregate**: `include/sql/monthly_sector_report/month_summary.sql` as one PyFlink batch job
   over those days' landed inputs: per day and sector, and per month and sector (exact DECIMAL);
3. **publish_months**: reconciles every figure with the published daily summaries (to the cent and
   the row; a difference fails the run with both numbers), then writes `summary.json` and
   `report.html` under `$SECTOR_REPORT_DATA_DIR/months/<YYYY-MM>/`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from airflow.sdk import DAG, Param, task
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator
from airflow_report_kit.viewer.links import ReportLink, publish_pages

from include.sector_report import settings
from include.sector_report.dag_support import (
    DAILY_REPORT,
    DATA,
    FLINK_JOB,
    alert_to_param,
    dag_args,
    fail_without_retry,
    locale_param,
)
from include.sector_report.report_dates import report_date_of


def months_to_roll_up(context: Mapping[str, Any]) -> tuple[dt.date, list[str]]:
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
def plan_months(**context: Any) -> dict[str, Any]:
    """The months to roll up (their published and missing days), and the one job's sql_params."""
    from include.sector_report.month import month_inputs, sql_params

    as_of, months = months_to_roll_up(context)
    with fail_without_retry():
        plans = [month_inputs(settings.DATA_ROOT, month, as_of, exchange=settings.EXCHANGE) for month in months]
    for plan in plans:
        final = "final" if plan.final else f"to date, as of {as_of}"
        print(f"{plan.month} ({final}): {len(plan.published)} published nights {plan.published}; "
              f"sessions without one: {plan.missing}")  # fmt: skip
    return {
        "months": [dataclasses.asdict(plan) for plan in plans],
        "sql_params": sql_params(settings.DATA_ROOT, plans),
    }


@task
def publish_months(plan: dict[str, Any], **context: Any) -> list[str]:
    """Reconcile each month's figures with the published dailies, then write its summary and report."""
    from include.sector_report.month import MonthInputs, reconcile_month
    from include.sector_report.reporting.publish import rewrite_index
    from include.sector_report.reporting.render import format_summary_table, render_month
    from include.sector_report.summary import SectorSummary

    locale = context["params"]["locale"]
    reports = []
    for month in plan["months"]:
        folder = DATA.month(month["month"])
        with fail_without_retry():
            summary = reconcile_month(settings.DATA_ROOT, folder, MonthInputs(**month))
        reports.append(render_month(folder, summary, locale=locale))
        print(format_summary_table([SectorSummary.from_json(s) for s in summary["sectors"]], locale))
        print(f"Month report: {reports[-1]}")
    # The reports index lists the months beside the nights.
    index_pages = rewrite_index(DATA, locale=locale, exchange=settings.EXCHANGE)
    # The run's "Report" tab shows its (latest) month; every month it wrote is served to the DAG's readers.
    print(f"In the Airflow UI: {publish_pages(context, reports[-1], *reports[:-1], *index_pages)}")
    return [str(report) for report in reports]


with DAG(
    dag_id="monthly_sector_report",
    description="Month-to-date per-sector totals and daily trends, aggregated by PyFlink from the published days",
    doc_md=__doc__,
    schedule=[DAILY_REPORT],
    **dag_args(),
    params={
        "month": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
            description="YYYY-MM; empty: the month of the report that triggered the run (or of today).",
        ),
        "locale": locale_param(),
        "alert_to": alert_to_param(),
    },
):
    # TaskFlow passes XComArgs where the tasks take their values, and indexes them: the wiring's names are Any.
    plan: Any = plan_months()
    aggregate = PyFlinkSqlOperator(
        task_id="aggregate",
        sql="sql/monthly_sector_report/month_summary.sql",
        sql_params=plan["sql_params"],
        **FLINK_JOB,
        slot_wait_setting="SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS",
    )
    published: Any = publish_months(plan)
    # TaskFlow takes no operator_extra_links argument; the link is the month report's.
    published.operator.operator_extra_links = (ReportLink(),)
    aggregate >> published
