"""Test-only DAG: a Flink job that runs far longer than its execution_timeout, on either target; on the session
cluster it may wait for slots at most ``slot_wait`` seconds."""

import datetime as dt

from airflow.sdk import DAG, Param
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator

from flink_sql_jobs import SLOW_SQL

with DAG(
    "pyflink_sql_timeout",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    tags=["test"],
    params={"target": Param("local"), "conn": Param("flink_default"), "slot_wait": Param(300)},
):
    PyFlinkSqlOperator(
        task_id="slow",
        sql=SLOW_SQL,
        target="{{ params.target }}",
        flink_conn_id="{{ params.conn }}",
        slot_wait_timeout="{{ params.slot_wait }}",
        execution_timeout=dt.timedelta(seconds=20),
        retries=0,
    )
