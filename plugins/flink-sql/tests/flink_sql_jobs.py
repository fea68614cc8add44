"""The Flink SQL jobs of the operator's integration tests: what their test-only DAGs run and the tests check.

A top-level module of this folder (pytest's ``pythonpath``; the conftest.py that sets up the run puts it on the
``PYTHONPATH`` of child processes too): the DAG files, loaded by path, import it as ``flink_sql_jobs``."""

from __future__ import annotations

import csv
from pathlib import Path

# Where this module is: what a child process that parses the test DAGs needs on its PYTHONPATH.
TESTS_FOLDER = Path(__file__).resolve().parent
# The test-only DAGs that run these jobs through Airflow's task runner: a DAG bundle of the tests (conftest.py).
TEST_DAGS_FOLDER = TESTS_FOLDER / "integration" / "dags"

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


# A job that runs a day at one row a second: long past any timeout.
SLOW_SQL = """
CREATE TEMPORARY TABLE slow (n BIGINT)
WITH ('connector' = 'datagen', 'rows-per-second' = '1', 'number-of-rows' = '86400');
CREATE TEMPORARY TABLE nowhere (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO nowhere SELECT n FROM slow;
"""
