"""What a Flink SQL script reads and writes: its filesystem tables, told apart by the INSERTs using them. The
operator reports them as OpenLineage datasets (the project's DAGs' jobs: tests/unit/dags/test_lineage.py there)."""

from __future__ import annotations

from airflow.providers.common.compat.openlineage.facet import Dataset
from airflow_flink_sql.lineage import filesystem_lineage
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator


def test_only_tables_the_inserts_read_are_inputs() -> None:
    script = """
    CREATE TEMPORARY TABLE unused (x INT) WITH ('connector' = 'filesystem', 'path' = 'rel/unused', 'format' = 'csv');
    CREATE TEMPORARY TABLE `a b` (x INT) WITH ('connector' = 'filesystem', 'path' = '/in/it''s', 'format' = 'csv');
    CREATE TEMPORARY TABLE gen (x INT) WITH ('connector' = 'datagen');
    CREATE TEMPORARY TABLE out1 (x INT) WITH ('path' = '/out/1', 'connector' = 'filesystem', 'format' = 'csv');
    CREATE TEMPORARY VIEW v AS SELECT x FROM `a b` -- not from unused
    ;
    INSERT INTO out1 SELECT x FROM v UNION ALL SELECT x FROM gen WHERE 'unused' <> ''
    """
    assert filesystem_lineage(script) == (["/in/it's"], ["/out/1"])


def test_the_operator_reports_them_as_openlineage_file_datasets() -> None:
    script = """
    CREATE TEMPORARY TABLE src (x INT) WITH ('connector' = 'filesystem', 'path' = '/in/x.csv', 'format' = 'csv');
    CREATE TEMPORARY TABLE dst (x INT) WITH ('connector' = 'filesystem', 'path' = '/out/x', 'format' = 'csv');
    INSERT INTO dst SELECT x FROM src
    """
    lineage = PyFlinkSqlOperator(task_id="t", sql=script).get_openlineage_facets_on_complete(task_instance=None)
    assert lineage.inputs == [Dataset(namespace="file", name="/in/x.csv")]
    assert lineage.outputs == [Dataset(namespace="file", name="/out/x")]
