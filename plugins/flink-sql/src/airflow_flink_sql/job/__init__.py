"""The Flink job's side: run one Flink SQL script with PyFlink, in its own interpreter.

    python -m airflow_flink_sql.job --sql-file script.sql --workdir DIR [--configuration JSON] [--detach] ...

Imports no Airflow, so it runs in any interpreter that has PyFlink and this package. Its answer
is ``DIR/result.json`` (:mod:`airflow_flink_sql.protocol`); stdout and stderr are Flink's log.
"""
