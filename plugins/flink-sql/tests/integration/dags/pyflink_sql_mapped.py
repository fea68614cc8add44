"""Test-only DAG: the Flink SQL operator mapped over several parameter sets, with its target and connection
templated (from the run's conf), as ``dag.test()`` runs it through Airflow's own task runner."""

import datetime as dt
from pathlib import Path

from airflow.sdk import DAG, Param, task
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator

from flink_sql_jobs import ROWS, TWO_SINKS_SQL, sql_params_of, write_input


@task
def inputs(**context) -> list[dict[str, str]]:
    """One input per parameter set: the first n rows, in a folder whose name needs quoting in SQL."""
    parameter_sets = []
    for n in range(1, len(ROWS) + 1):
        folder = Path(context["params"]["folder"]) / f"it's set {n}"
        write_input(folder, ROWS[:n])
        parameter_sets.append(sql_params_of(folder))
    return parameter_sets


with DAG(
    "pyflink_sql_mapped",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    tags=["test"],
    params={"folder": Param("", type="string"), "target": Param("local"), "conn": Param("flink_default")},
):
    PyFlinkSqlOperator.partial(
        task_id="aggregate",
        sql=TWO_SINKS_SQL,
        target="{{ params.target }}",
        flink_conn_id="{{ params.conn }}",
        retries=0,
    ).expand(sql_params=inputs())
