"""A whole nightly run (``dag.test``) timed task by task, with the peak RSS of its process tree.

    make bench-dag                                   # 1e3 and 1e7 generated rows
    .venv/bin/python -m benchmarks.dag_run --rows 1e6

Each size runs in a fresh process against a throwaway Airflow home (SQLite, migrated first,
not timed) and data folder, so nothing touches the developer's own; an untimed 1,000-row
run goes first, as the first run on a machine also writes the JVM's class-data archive. Printed and written to
``benchmarks/results/dag_run.{md,json}``: wall time of the process (Python, Airflow import,
DAG parse, run), the run itself from its start to its end, each task's duration, and for
the Flink task the job's own net runtime (the rest is JVM and MiniCluster start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.engines import PROJECT_ROOT, RESULTS, environment, parse_sizes
from benchmarks.process_tree import run_measured

LOGICAL_DATE = "2024-03-08T14:00:00+00:00"

# Runs in the child: one dag.test() run, then the facts read back from the metadata DB.
CHILD = """
import datetime as dt, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["nightly_sector_report"]
for task in dag.tasks:
    task.retries = 0  # a failure must end the run, not sleep through retry delays
run = dag.test(logical_date=dt.datetime.fromisoformat(sys.argv[2]), run_conf=json.loads(sys.argv[3]))
ran = [ti for ti in run.get_task_instances() if ti.start_date and ti.end_date]
tasks = {
    ti.task_id: {"state": str(ti.state), "start": ti.start_date.isoformat(), "end": ti.end_date.isoformat(),
                 "duration_s": round(ti.duration, 3)}
    for ti in ran
}
with create_session() as session:
    row = session.scalars(XComModel.get_many(run_id=run.run_id, key="return_value", task_ids="aggregate")).first()
flink = XComModel.deserialize_value(row) if row else None
# dag.test() gives its run the logical date as start date: the run's span is its tasks' span.
run_s = (max(ti.end_date for ti in ran) - min(ti.start_date for ti in ran)).total_seconds() if ran else 0.0
print("::dag-run::", json.dumps({"state": str(run.state), "run_s": run_s, "tasks": tasks, "flink": flink}))
"""


def measure(rows: int, workdir: Path) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "SECTOR_REPORT_DATA_DIR": str(workdir / "data"),
        "SECTOR_REPORT_FLINK_TARGET": "local",
    }
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    conf = json.dumps({"rows": rows, "source": "generate"})
    measurement = run_measured(
        [sys.executable, "-c", CHILD, str(PROJECT_ROOT / "dags"), LOGICAL_DATE, conf], env=env, cwd=str(workdir)
    )
    lines = [line for line in measurement.stdout.splitlines() if line.startswith("::dag-run::")]
    if measurement.returncode != 0 or not lines:
        raise SystemExit(f"dag.test with {rows:,} rows did not finish:\n{measurement.stderr[-3000:]}")
    facts = json.loads(lines[0].split(" ", 1)[1])
    if facts["state"] != "success":
        raise SystemExit(f"dag.test with {rows:,} rows ended {facts['state']}: {facts['tasks']}")
    return {
        "rows": rows,
        "process_wall_s": round(measurement.wall_s, 2),
        "peak_rss_mb": round(measurement.peak_rss_bytes / 2**20),
        "cpu_s": round(measurement.cpu_s, 1),
        **facts,
    }


def write(results: list[dict]) -> Path:
    env = environment()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dag_run.json").write_text(json.dumps({"environment": env, "results": results}, indent=2) + "\n")
    lines = [
        f"# A whole nightly run, task by task ({env['date']})",
        "",
        f"{env['machine']}; Python {env['python']}; {env['java']}. `dag.test()` on SQLite and a local MiniCluster,",
        "generated input. Peak RSS is the whole process tree (Airflow, the Flink job's Python and its JVM).",
        "The run is its tasks' span; the process adds Python, Airflow's import and the DAG's parse. The first",
        "task's time includes about 3.5 s in which dag.test() starts its in-process execution API (Airflow's, once",
        "per process; a deployed worker pays its own start-up per task instead).",
    ]
    for result in results:
        run_s = result["run_s"]
        lines += [
            "",
            f"## {result['rows']:,} rows: run {run_s:.1f} s, process {result['process_wall_s']:.1f} s, "
            f"peak RSS {result['peak_rss_mb']:,} MB, CPU {result['cpu_s']:.0f} s",
            "",
            "| task | seconds | share of the run |",
            "|---|---:|---:|",
        ]
        for task_id, task in sorted(result["tasks"].items(), key=lambda item: item[1]["start"]):
            lines.append(f"| {task_id} | {task['duration_s']:.2f} | {task['duration_s'] / run_s:.0%} |")
        between = run_s - sum(task["duration_s"] for task in result["tasks"].values())
        lines.append(f"| (between tasks: dag.test's own scheduling) | {between:.2f} | {between / run_s:.0%} |")
        flink = result.get("flink") or {}
        if flink.get("net_runtime_ms") is not None:
            net = flink["net_runtime_ms"] / 1000
            lines += [
                "",
                f"Of `aggregate`, Flink's own net runtime was {net:.2f} s; the job process took "
                f"{flink['duration_s']:.2f} s (JVM and MiniCluster start-up, planning; the rest of the task is "
                "Airflow's operator and the child interpreter's start).",
            ]
    path = RESULTS / "dag_run.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e3,1e7", help="comma-separated sizes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dag-run-bench-") as tmp:
        # Not timed: a first run on a fresh machine also writes the JVM's class-data archive.
        measure(1000, Path(tmp))
    results = []
    for rows in parse_sizes(args.rows):
        with tempfile.TemporaryDirectory(prefix="dag-run-bench-") as tmp:
            results.append(measure(rows, Path(tmp)))
            print(f"{rows:,} rows: run {results[-1]['run_s']:.1f} s, peak RSS {results[-1]['peak_rss_mb']:,} MB")
    path = write(results)
    print(path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
