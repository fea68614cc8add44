"""`airflow dags test` as `make run` shows it: one line per task as it ends, Airflow's own log in a file.

    python -m tools.dags_test DAG_ID DATE [--conf JSON] --log PATH

Airflow's structured log of a whole run (about 1,300 lines for a night) goes to ``PATH``; the screen gets the
task, its state and its seconds as each task ends, read from the metadata database the run writes. Exits 0 once
the run has ended, succeeded or failed (`show` then says what it published, or why not); otherwise, when Airflow
could not run it at all (a DAG that does not parse, say), with Airflow's exit code and the end of its log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from tools.waiting import wait_for

# States in which a try has ended; up_for_retry is shown too, the retry's end follows it.
ENDED = ("success", "failed", "skipped", "upstream_failed", "up_for_retry", "removed")


def ended_tries(dag_id: str, since: dt.datetime) -> list[Any]:
    """The tries of ``dag_id``'s tasks that ended since ``since``, first ended first.

    Read with Airflow's ORM models, not a public API: `airflow dags test` serves no REST API, and a CLI call per
    poll would cost an interpreter start. The two readers are here alone; tests/integration/test_end_to_end.py's
    `make run` tests fail if they stop finding the tasks."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    ti = TaskInstance
    query = (
        select(ti.task_id, ti.map_index, ti.try_number, ti.state, ti.duration)
        .where(ti.dag_id == dag_id, ti.end_date >= since, ti.state.in_(ENDED))
        .order_by(ti.end_date)
    )
    try:
        with create_session() as session:
            return list(session.execute(query).all())
    except OperationalError:  # SQLite busy with the run's own writes: read again at the next poll
        return []


def run_ended(dag_id: str, since: dt.datetime) -> bool:
    """Whether a run of ``dag_id`` has ended since ``since``, succeeded or failed."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.end_date >= since)
    with create_session() as session:
        return any(state in ("success", "failed") for state in session.scalars(query))


def show_ends(dag_id: str, since: dt.datetime, shown: set[tuple[str, int, int, str]], out: IO[str]) -> None:
    for task_id, map_index, try_number, state, duration in ended_tries(dag_id, since):
        if (key := (task_id, map_index, try_number, state)) not in shown:
            shown.add(key)
            name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            print(f"  {name:<24} {state:<15} {duration or 0:>6.1f} s", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dags_test")
    parser.add_argument("dag_id")
    parser.add_argument("date", help="the run's logical date, YYYY-MM-DD")
    parser.add_argument("--conf", default="{}", help="the run's conf, JSON")
    parser.add_argument("--log", required=True, type=Path, help="where Airflow's own log of the run goes")
    args = parser.parse_args(argv)

    args.log.parent.mkdir(parents=True, exist_ok=True)
    print(f"{args.dag_id} {args.date}: Airflow's log goes to {args.log}", flush=True)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    command = [sys.executable, "-m", "airflow", "dags", "test", args.dag_id, args.date, "--conf", args.conf]
    shown: set[tuple[str, int, int, str]] = set()
    with args.log.open("w") as log, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT) as run:

        def ended() -> bool:
            show_ends(args.dag_id, since, shown, sys.stdout)
            return run.poll() is not None

        try:
            wait_for(ended, f"`airflow dags test` of {args.dag_id} to end", math.inf)
        except KeyboardInterrupt:
            # Ctrl-C reached Airflow too (one process group): let it end the run before we go.
            run.wait(timeout=60)
            raise
    show_ends(args.dag_id, since, shown, sys.stdout)
    print(flush=True)
    if run_ended(args.dag_id, since):
        return 0
    tail = args.log.read_text(errors="replace").splitlines()[-15:]
    print(
        f"airflow dags test ran no {args.dag_id} run to its end; the end of its log:", *tail, sep="\n", file=sys.stderr
    )
    return run.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
