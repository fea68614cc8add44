"""Wait for the DAG's previous run to end, without holding a worker slot."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.triggers.external_task import DagStateTrigger
from airflow.sdk import BaseOperator
from airflow.utils.state import DagRunState

ENDED = (DagRunState.SUCCESS, DagRunState.FAILED)


class PreviousRunSensor(BaseOperator):
    """Wait until this DAG's previous run (the latest with an earlier logical date) has ended.

    Put first in a DAG, it makes runs that read what earlier dates wrote behave as if they had run
    one after another in date order: ``airflow backfill create`` starts up to its own
    ``--max-active-runs`` dates at once (oldest first), whatever the DAG's ``max_active_runs``.
    Whether the previous run succeeded or failed does not matter, only that it is over; while it
    runs, this task is deferred to the triggerer. A previous run still queued is not waited for: it
    has not started, and it may be queued behind this very run (say, an earlier date triggered by
    hand while a later night runs). Do not backfill with ``--run-backwards``: later dates start first.
    """

    ui_color = "#eef0f7"

    def __init__(self, *, poll_seconds: float = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = poll_seconds

    def execute(self, context: Any) -> None:
        previous = context["ti"].get_previous_dagrun()
        if previous is None:
            self.log.info("No earlier run of %s", self.dag_id)
            return
        if previous.state != "running":
            # Ended, or still queued: a queued run has not started, so it is not ahead of this one,
            # and waiting for it could deadlock (with max_active_runs=1 it waits for this run's slot).
            self.log.info("The previous run %s is %s: not waiting", previous.run_id, previous.state)
            return
        self.log.info("Waiting for the previous run %s (%s) to end", previous.run_id, previous.state)
        self.defer(
            trigger=DagStateTrigger(
                dag_id=self.dag_id, states=list(ENDED), run_ids=[previous.run_id], poll_interval=self.poll_seconds
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: Any = None) -> None:
        self.log.info("The previous run has ended: %s", event)
