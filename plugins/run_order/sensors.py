"""Wait for the DAG's previous run to end, without holding a worker slot."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.triggers.external_task import DagStateTrigger
from airflow.sdk import BaseOperator

ENDED = ("success", "failed")


class PreviousRunSensor(BaseOperator):
    """Wait until this DAG's previous run (the latest with an earlier logical date) has ended.

    Put first in a DAG, it makes runs that read what earlier dates wrote behave as if they had run
    one after another in date order: ``airflow backfill create`` starts up to its own
    ``--max-active-runs`` dates at once, whatever the DAG's ``max_active_runs``. Whether the previous
    run succeeded or failed does not matter, only that it is over; while it runs, this task is deferred
    to the triggerer. Do not backfill such a DAG with ``--run-backwards``: a later date would wait for
    earlier ones that cannot start while it holds a run slot.
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
        if previous.state in ENDED:
            self.log.info("The previous run %s has ended (%s)", previous.run_id, previous.state)
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
