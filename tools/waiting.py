"""The project waits the flink-sql distribution's way (airflow_flink_sql/waiting.py): its session cluster and its
tests need ``wait_for`` when it stands alone, so it lives there; tools, tests and benchmarks import it from here."""

from airflow_flink_sql.waiting import PATIENCE_SECONDS, WaitTimedOut, wait_for

__all__ = ["PATIENCE_SECONDS", "WaitTimedOut", "wait_for"]
