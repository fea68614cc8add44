"""Airflow provider: run Flink SQL scripts as PyFlink batch jobs, from Airflow, in an isolated child process.

Nothing here imports pyflink: only the child (:mod:`airflow_flink_sql.job`) does, so importing
the operator stays cheap at DAG parse time.
"""

__version__ = "0.3.0"
