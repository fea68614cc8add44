"""Airflow's REST API as the tests drive a running deployment: runs, task instances, clearing, asset events."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from include.sector_report.report_dates import report_date_of
from tests.support.airflow_admin import PASSWORD, admin_token
from tools.waiting import PATIENCE_SECONDS, wait_for

DAG_ID = "nightly_sector_report"
DEADLINE_DAG_ID = "nightly_sector_report_deadline"
MONTHLY_DAG_ID = "monthly_sector_report"
RESTATEMENT_DAG_ID = "sector_report_restatement"
WITHDRAWAL_DAG_ID = "sector_report_withdrawal"
DAG_IDS = (DAG_ID, DEADLINE_DAG_ID, MONTHLY_DAG_ID, RESTATEMENT_DAG_ID, WITHDRAWAL_DAG_ID)


class Api:
    def __init__(self, base: str, password: str = PASSWORD) -> None:
        self.base = base
        self.token = admin_token(base, password)

    def call(self, method: str, path: str, body: dict | None = None, *, api: str = "/api/v2"):
        request = urllib.request.Request(
            f"{self.base}{api}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_for(self, predicate, what: str, timeout: float = PATIENCE_SECONDS, every: float = 1):
        """``predicate``'s first truthy value; a 404 (what it asks for is not there yet) counts as "not yet"."""

        def found_yet():
            try:
                return predicate()
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
                return None

        return wait_for(found_yet, what, timeout, every=every)

    def unpause(self, *dag_ids: str) -> None:
        """Unpause each DAG that is paused, and have its file parsed again now (the UI's "Reparse"): Airflow starts a
        DAG's asset watchers (the restatements' corrections watcher) when it parses the DAG unpaused
        (``add_asset_trigger_references`` in airflow/dag_processing/collection.py), and the tests' deployments parse
        a file every 10 minutes."""
        for dag_id in dag_ids:
            dag = self.call("GET", f"/dags/{dag_id}")
            if dag["is_paused"]:
                self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
                self.call("PUT", f"/parseDagFile/{dag['file_token']}")

    def runs(self, dag_id: str, run_type: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns?run_type={run_type}&limit=100")["dag_runs"]

    def run_of(self, dag_id: str, run_type: str, report_date: str) -> dict:
        return self.wait_for(
            lambda: next(
                (r for r in self.runs(dag_id, run_type) if seoul_date(r["logical_date"]) == report_date), None
            ),
            f"the {run_type} run of {dag_id} for {report_date}",
        )

    def finished_run(self, run_id: str, dag_id: str = DAG_ID) -> dict:
        quoted = urllib.parse.quote(run_id, safe="")

        def done():
            run = self.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
            return run if run["state"] in ("success", "failed") else None

        return self.wait_for(done, f"run {run_id} of {dag_id} to finish")

    def task(self, run_id: str, task_id: str) -> dict:
        quoted = urllib.parse.quote(run_id, safe="")
        return self.call("GET", f"/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/{task_id}")

    def aggregate_result(self, run_id: str) -> dict:
        quoted = urllib.parse.quote(run_id, safe="")
        entry = self.call("GET", f"/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/aggregate/xcomEntries/return_value")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def clear(self, run: dict, task_ids: list[str], *, downstream: bool) -> list[str]:
        """Clear tasks of a finished run as an operator does (the UI's Clear, the REST API); the tasks cleared."""
        cleared = self.call(
            "POST",
            f"/dags/{DAG_ID}/clearTaskInstances",
            {"dag_run_id": run["dag_run_id"], "task_ids": task_ids, "include_downstream": downstream,
             "only_failed": False, "reset_dag_runs": True, "dry_run": False},
        )  # fmt: skip
        return sorted(ti["task_id"] for ti in cleared["task_instances"])

    def asset_events(self, run: dict) -> int:
        """How many asset events the run's tasks have sent."""
        quoted = urllib.parse.quote(run["dag_run_id"], safe="")
        return self.call("GET", f"/assets/events?source_dag_id={DAG_ID}&source_run_id={quoted}")["total_entries"]

    def end_unfinished_runs(self) -> None:
        """Mark every queued or running run failed and wait until none of its tasks still runs."""

        def every_unfinished_run_marked_failed() -> bool:
            for dag_id in DAG_IDS:
                for run in self.call("GET", f"/dags/{dag_id}/dagRuns?state=queued&state=running")["dag_runs"]:
                    quoted = urllib.parse.quote(run["dag_run_id"], safe="")
                    try:
                        self.call("PATCH", f"/dags/{dag_id}/dagRuns/{quoted}", {"state": "failed"})
                    except urllib.error.HTTPError as error:
                        if error.code < 500:
                            raise
                        return False  # seen once: a 500 while the scheduler changed the run; look again
            return True

        self.wait_for(every_unfinished_run_marked_failed, "the unfinished runs to be marked failed")
        states = "".join(f"&state={state}" for state in ("queued", "scheduled", "running", "deferred", "restarting"))

        def nothing_runs():
            return not self.call("GET", f"/dags/~/dagRuns/~/taskInstances?limit=1{states}")["task_instances"]

        self.wait_for(nothing_runs, "the tasks of the runs marked failed to stop")


def seoul_date(logical_date: str) -> str:
    return report_date_of(logical_date).isoformat()
