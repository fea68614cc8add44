"""Wait for the DAG's previous run to end, without holding a worker slot, and never for a run nobody runs."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import psutil
from airflow.providers.standard.triggers.external_task import DagStateTrigger
from airflow.sdk import BaseOperator, conf, timezone
from airflow.utils.state import DagRunState

ENDED = (DagRunState.SUCCESS, DagRunState.FAILED)
# Airflow's variable for the metadata database's URL ([database] sql_alchemy_conn).
DATABASE_VARIABLE = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


class PreviousRunSensor(BaseOperator):
    """Wait until this DAG's previous run (the latest with an earlier logical date) has ended.

    Put first in a DAG, it makes runs that read what earlier dates wrote behave as if they had run
    one after another in date order: ``airflow backfill create`` starts up to its own
    ``--max-active-runs`` dates at once (oldest first), whatever the DAG's ``max_active_runs``.
    Whether the previous run succeeded or failed does not matter, only that it is over; while it
    runs, this task is deferred to the triggerer. A previous run still queued is not waited for: it
    has not started, and it may be queued behind this very run (say, an earlier date triggered by
    hand while a later night runs). Do not backfill with ``--run-backwards``: later dates start first.

    Under ``airflow dags test`` no scheduler stands behind the runs: a run left ``running`` by an
    interrupted ``dags test``, or by Airflow stopped mid-run, would be waited for forever. There the
    previous run is waited for only while a process on this machine works on it (its own
    ``airflow dags test``, or a scheduler of the same metadata database, which ends or retries a run
    whose tasks died; another deployment's scheduler never moves this run); otherwise
    the sensor logs which run it does not wait for, why, and how to end it, and goes on. Under a
    scheduler, the scheduler itself fails the tasks of a run whose workers died, so the run ends.
    """

    ui_color = "#eef0f7"

    def __init__(self, *, poll_seconds: float = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = poll_seconds

    def execute(self, context: Any) -> None:
        ti = context["ti"]
        previous = ti.get_previous_dagrun()
        if previous is None:
            self.log.info("No earlier run of %s", self.dag_id)
            return
        if previous.state != "running":
            # Ended, or still queued: a queued run has not started, so it is not ahead of this one,
            # and waiting for it could deadlock (with max_active_runs=1 it waits for this run's slot).
            self.log.info("The previous run %s is %s: not waiting", previous.run_id, previous.state)
            return
        self.log.info("Waiting for the previous run %s (%s) to end", previous.run_id, previous.state)
        if not _under_dags_test(psutil.Process()):
            self.defer(
                trigger=DagStateTrigger(
                    dag_id=self.dag_id, states=list(ENDED), run_ids=[previous.run_id], poll_interval=self.poll_seconds
                ),
                method_name="execute_complete",
            )
        while ti.get_dagrun_state(dag_id=self.dag_id, run_id=previous.run_id) == "running":
            if not (worker := _working_on(self.dag_id, previous.logical_date)):
                self.log.warning(
                    "Not waiting for the previous run %s: it is still 'running' in the metadata database, but no "
                    "process on this machine works on it (no `airflow dags test %s` of its date, no scheduler of "
                    "this metadata database): an "
                    "interrupted `airflow dags test` or an Airflow stopped mid-run left it so. End it by marking it "
                    "failed: in the UI (the run's 'Mark Failed'), or `PATCH /api/v2/dags/%s/dagRuns/%s` with "
                    '{"state": "failed"}.',
                    previous.run_id,
                    self.dag_id,
                    self.dag_id,
                    previous.run_id,
                )
                return
            self.log.info("The previous run %s is still running (%s)", previous.run_id, worker)
            time.sleep(self.poll_seconds)
        self.log.info("The previous run %s has ended", previous.run_id)

    def execute_complete(self, context: Any, event: Any = None) -> None:
        self.log.info("The previous run has ended: %s", event)


def _under_dags_test(process: psutil.Process) -> bool:
    """Whether this task runs inside ``airflow dags test`` (in its process): no scheduler behind its run."""
    return dags_test_of(process.cmdline()) is not None


def dags_test_of(command: list[str]) -> tuple[str, str | None] | None:
    """The DAG id and logical date argument of an ``airflow dags test`` command line, else None."""
    for i in range(len(command) - 2):
        if command[i] == "dags" and command[i + 1] == "test" and "airflow" in " ".join(command[:i]):
            rest = command[i + 2 :]
            return rest[0], rest[1] if len(rest) > 1 and not rest[1].startswith("-") else None
    return None


def _working_on(dag_id: str, logical_date: Any) -> str | None:
    """A process on this machine that may move the run of ``dag_id`` at ``logical_date`` along: that run's own
    ``airflow dags test``, or a scheduler of this metadata database. Described, or None."""
    database = conf.get("database", "sql_alchemy_conn", fallback=None)
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = process.info["cmdline"] or []
        if process.pid == psutil.Process().pid:
            continue
        if "scheduler" in command and "airflow" in " ".join(command) and _may_schedule_for(process, database):
            return f"a scheduler, pid {process.pid}"
        test = dags_test_of(command)
        if test and test[0] == dag_id and test[1] and logical_date and _same_moment(test[1], logical_date):
            return f"airflow dags test, pid {process.pid}"
    return None


def _may_schedule_for(scheduler: psutil.Process, database: str | None) -> bool:
    """Whether ``scheduler`` may schedule the runs of the metadata database ``database`` (this process's): one
    configured for another database (another deployment on the machine, a compose stack's container) never moves
    this database's runs along. A scheduler whose configuration cannot be read here counts: waiting too long is a
    lesser harm than a later night running beside a run that a scheduler still moves."""
    try:
        environ = scheduler.environ()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True
    url = environ.get(DATABASE_VARIABLE)
    if url is not None:
        return database is None or url == database
    if any(name.startswith(DATABASE_VARIABLE) for name in environ):
        return True  # from a command or a secret (`..._CMD`, `..._SECRET`): not read here
    # Configured by its AIRFLOW_HOME's airflow.cfg: the same home's configuration names the same database.
    return _airflow_home(environ) == _airflow_home(os.environ)


def _airflow_home(environ: Mapping[str, str]) -> str:
    home = environ.get("AIRFLOW_HOME") or os.path.join(environ.get("HOME", "~"), "airflow")
    return os.path.realpath(os.path.expanduser(home))


def _same_moment(argument: str, logical_date: Any) -> bool:
    """Whether a ``dags test`` logical date argument names ``logical_date`` (read as Airflow's CLI reads it)."""
    try:
        return bool(timezone.parse(argument) == logical_date)
    except (ValueError, TypeError):
        return False
