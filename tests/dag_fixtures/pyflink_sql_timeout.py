"""Test-only DAG: a Flink job that runs far longer than its execution_timeout."""

import datetime as dt

from airflow.sdk import DAG
from airflow_flink_sql.operators import PyFlinkSqlOperator

SLOW_SQL = """
CREATE TEMPORARY TABLE slow (n BIGINT)
WITH ('connector' = 'datagen', 'rows-per-second' = '1', 'number-of-rows' = '86400');
CREATE TEMPORARY TABLE nowhere (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO nowhere SELECT n FROM slow;
"""

with DAG("pyflink_sql_timeout", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tags=["test"]):
    PyFlinkSqlOperator(task_id="slow", sql=SLOW_SQL, execution_timeout=dt.timedelta(seconds=20), retries=0)
