"""The package's Flink SQL scripts (include/sql/), rendered as Airflow renders them for an aggregate task."""

from __future__ import annotations

from collections.abc import Mapping

NIGHTLY_SQL = "sql/nightly_sector_report/sector_summary.sql"
MONTHLY_SQL = "sql/monthly_sector_report/month_summary.sql"


def rendered_script(script: str, sql_params: Mapping[str, str]) -> str:
    """``script`` as a task of the package's DAGs renders it: found on their template search path (where its
    ``{% from %}`` imports are found too), ``sql_params`` placed as quoted literals."""
    from airflow.sdk import DAG
    from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator

    from include.sector_report.dag_support import dag_args

    with DAG(dag_id="rendering", schedule=None, **dag_args()):
        task = PyFlinkSqlOperator(task_id="aggregate", sql=script, sql_params=dict(sql_params))
    task.render_template_fields({"task": task})  # type: ignore[arg-type]  # all of a context the SQL reads
    return task.script
