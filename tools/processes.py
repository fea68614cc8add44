"""The project's process helpers are the flink-sql distribution's (airflow_flink_sql/processes.py): its session
cluster and its tests need them when it stands alone, so they live there; tools, tests and benchmarks import them
from here."""

from airflow_flink_sql.processes import alive, free_port, group_members, java_pids, wait_gone

__all__ = ["alive", "free_port", "group_members", "java_pids", "wait_gone"]
