"""Test-only DAG: the Flink SQL operator mapped over several parameter sets, with its target and connection
templated (from the run's conf), as ``dag.test()`` runs it through Airflow's own task runner."""

import csv
import datetime as dt
from pathlib import Path

from airflow.sdk import DAG, Param, task
from airflow_flink_sql.operators import PyFlinkSqlOperator

# Two INSERTs into two sinks: they must run as one Flink job.
TWO_SINKS_SQL = """
CREATE TEMPORARY TABLE trades (code STRING, sector STRING, price DECIMAL(18, 2), volume INT)
WITH ('connector' = 'filesystem', 'path' = {{ sql_params.input | sql_string }}, 'format' = 'csv');
CREATE TEMPORARY TABLE per_sector (sector STRING, n BIGINT)
WITH ('connector' = 'filesystem', 'path' = {{ sql_params.per_sector | sql_string }}, 'format' = 'csv');
CREATE TEMPORARY TABLE overall (total_value DECIMAL(38, 2))
WITH ('connector' = 'filesystem', 'path' = {{ sql_params.overall | sql_string }}, 'format' = 'csv',
      'csv.write-bigdecimal-in-scientific-notation' = 'false');
INSERT OVERWRITE per_sector SELECT sector, COUNT(*) FROM trades GROUP BY sector;
INSERT OVERWRITE overall SELECT SUM(price * volume) FROM trades;
"""
ROWS = [
    ("005930", "semiconductor", "820133.59", "53"),
    ("000660", "semiconductor", "150000.00", "10"),
    ("035420", "internet", "285893.55", "184"),
]


def sql_params_of(folder: Path) -> dict[str, str]:
    return {
        "input": str(folder / "in put.csv"),
        "per_sector": str(folder / "per sector"),
        "overall": str(folder / "overall"),
    }


def write_input(folder: Path, rows: list[tuple[str, ...]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "in put.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


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
