"""The DAGs' Flink jobs report their lineage the providers' way: the operator gives the rendered script's
filesystem tables as OpenLineage datasets.

Built with apache-airflow-providers-openlineage's own classes, on the DAGs' real scripts as Airflow renders
them, without a lineage backend. (How a script's tables are told apart: the distribution's test_lineage.py.)
"""

from __future__ import annotations

import copy

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.common.compat.openlineage.facet import Dataset
from airflow.providers.openlineage.extractors import OperatorLineage

from tests.support import PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    return DagBag(dag_folder=DAGS_FOLDER)


def lineage_of(dag_bag: DagBag, dag_id: str, sql_params: dict[str, str]) -> OperatorLineage:
    """The aggregate task rendered with ``sql_params`` as Airflow renders it (the DAG's template environment)."""
    dag = dag_bag.dags[dag_id]
    task = copy.copy(dag.get_task("aggregate"))
    task.sql_params = sql_params
    task.render_template_fields({"task": task, "params": dag.params.dump()}, jinja_env=dag.get_template_env())
    return task.get_openlineage_facets_on_complete(task_instance=None)


def test_the_nightly_job_reads_the_landed_input_and_writes_its_two_sinks(dag_bag: DagBag) -> None:
    night = "/data/runs/2024-03-08"
    lineage = lineage_of(
        dag_bag,
        "nightly_sector_report",
        {
            "transactions_path": f"{night}/input/transactions.csv",
            "stocks_path": f"{night}/input/stocks.csv",
            "sector_sink_path": f"{night}/sink/sectors",
            "stock_sink_path": f"{night}/sink/stocks",
        },
    )
    assert lineage.inputs == [
        Dataset(namespace="file", name=f"{night}/input/stocks.csv"),
        Dataset(namespace="file", name=f"{night}/input/transactions.csv"),
    ]
    assert lineage.outputs == [
        Dataset(namespace="file", name=f"{night}/sink/sectors"),
        Dataset(namespace="file", name=f"{night}/sink/stocks"),
    ]


def test_the_monthly_job_reads_the_published_revisions_and_writes_the_rollup(dag_bag: DagBag) -> None:
    lineage = lineage_of(
        dag_bag,
        "monthly_sector_report",
        {
            "revisions_path": "/data/revisions",
            "transactions_pattern": "/data/revisions/(2024-03-04/r1)/input/transactions\\.csv",
            "stocks_pattern": "/data/revisions/(2024-03-04/r1)/input/stocks\\.csv",
            "transactions_date_pattern": "x",
            "stocks_date_pattern": "y",
            "day_sink_path": "/data/months/_rollup/days",
            "month_sink_path": "/data/months/_rollup/months",
        },
    )
    assert [d.name for d in lineage.inputs] == ["/data/revisions"]
    assert [d.name for d in lineage.outputs] == ["/data/months/_rollup/days", "/data/months/_rollup/months"]
    assert {d.namespace for d in [*lineage.inputs, *lineage.outputs]} == {"file"}
