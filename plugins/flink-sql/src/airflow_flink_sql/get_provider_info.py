"""What Airflow's providers manager learns of this package (the ``apache_airflow_provider`` entry point)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-flink-sql",
        "name": "Apache Flink (PyFlink SQL)",
        "description": "Run Flink SQL scripts as PyFlink batch jobs, on a local MiniCluster or a session cluster.",
        "integrations": [
            {
                "integration-name": "Apache Flink",
                "external-doc-url": "https://nightlies.apache.org/flink/flink-docs-release-2.0/",
                "tags": ["apache"],
            }
        ],
        "operators": [
            {"integration-name": "Apache Flink", "python-modules": ["airflow_flink_sql.operators.flink_sql"]}
        ],
        "hooks": [{"integration-name": "Apache Flink", "python-modules": ["airflow_flink_sql.hooks.flink_sql"]}],
        "connection-types": [
            {
                "hook-class-name": "airflow_flink_sql.hooks.flink_sql.PyFlinkSqlHook",
                "hook-name": "Apache Flink",
                "connection-type": "flink",
                # The connection form: the REST endpoint of a Flink session cluster; extra holds more Flink options.
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "password"],
                    "relabeling": {"host": "REST host", "port": "REST port", "schema": "Scheme"},
                    "placeholders": {
                        "host": "flink-jobmanager",
                        "port": "8081",
                        "schema": "http",
                        "extra": '{"taskmanager.memory.process.size": "2g"}',
                    },
                },
            }
        ],
        "extra-links": ["airflow_flink_sql.operators.flink_sql.FlinkJobLink"],
    }
