"""Run Flink SQL scripts from Airflow through PyFlink, in an isolated child process.

Nothing here imports pyflink: only the child (:mod:`airflow_flink_sql.job`) does,
so importing the operator stays cheap at DAG parse time.
"""
