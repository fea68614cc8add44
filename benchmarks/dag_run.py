"""The whole nightly run, step by step, beside DuckDB doing the same whole job on the same file.

    make bench-dag                      # 1e7-row export: local, DuckDB, remote on a warm cluster; and 1,000 rows
    .venv/bin/python -m benchmarks.dag_run --rows 1e8 --repeats 1 --no-remote --no-small   # figures only

Each run is a fresh process, measured as a process tree (Airflow, the Flink job's Python and its
JVM): wall time, CPU, peak RSS. In one sitting, with the order rotated each round:

- ``local``: ``dag.test()`` with ``source=file`` on a seed-format export of ``--rows`` rows, on
  SQLite and the local MiniCluster: every task's duration from the metadata DB, the landing's own
  time (``control.json``), the Flink job's process and net runtime (its XCom);
- ``quoted``: the same, on the same rows exported as spreadsheets do (a BOM, a quoted header, every
  field quoted, CRLF);
- ``checks_off``: as ``local`` with the plausibility checks off (``plausibility: off``): what the checks
  (``check_plausibility``, and ``wait_for_approval`` passing a night nothing holds) add to a night;
- ``duckdb``: ``benchmarks.duckdb_whole_job`` on the same export (strict typed read keeping
  rejects, both aggregations to CSV, control totals);
- ``remote`` (unless ``--no-remote``): the same DAG run on a session cluster from
  ``airflow_flink_sql.session_cluster`` (plugins/flink-sql), started for that run and warmed by one untimed run; the
  cluster's JVMs run apart from the measured tree.

Then ``small`` (unless ``--no-small``): a 1,000-row generated run, ``make run``'s shape. Every DAG
run must publish, and its sector figures must equal DuckDB's to the cent. Results go to
``benchmarks/results/dag_run.{md,json}`` (``--results`` elsewhere).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from benchmarks.duckdb_whole_job import read_sectors
from benchmarks.engines import PROJECT_ROOT, RESULTS, environment, parse_sizes
from benchmarks.landing import write_quoted
from benchmarks.process_tree import run_measured
from include.sector_report.landing.generate import generate_batches, write_seed_csv
from include.sector_report.layout import RunFolder
from include.sector_report.universe import load_universe
from tools.local_env import local_airflow_env

LOGICAL_DATE = "2024-03-08T14:00:00+00:00"  # 23:00 in Seoul: the report date is 2024-03-08
REPORT_DATE = "2024-03-08"
# DuckDB's AVG of a DECIMAL is a DOUBLE; everything else must be equal.
AVERAGE_TOLERANCE = Decimal("0.000001")

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
tasks = {ti.task_id: {"state": str(ti.state), "start": ti.start_date.isoformat(), "duration_s": round(ti.duration, 3)}
         for ti in ran}
with create_session() as session:
    row = session.scalars(XComModel.get_many(run_id=run.run_id, key="return_value", task_ids="aggregate")).first()
flink = XComModel.deserialize_value(row) if row else None
print("::dag-run::", json.dumps({"state": str(run.state), "tasks": tasks, "flink": flink}))
"""


class Workspace:
    """A throwaway Airflow home and data folder, migrated once, shared by the runs of one sitting."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        # A local run's environment, on the local target with generated data unless a run says otherwise.
        self.env = {**os.environ, **local_airflow_env(PROJECT_ROOT, root / "airflow", self.data)}
        # Every run is the same date: each is checked against the revision the last one published, and the runs
        # of different sizes would be held for a person whom dag.test() waits for without end. Warn: the same checks.
        self.env["SECTOR_REPORT_PLAUSIBILITY"] = "warn"
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=self.env, check=True, capture_output=True
        )

    def export(self, rows: int) -> Path:
        path = self.data / "exports" / f"transactions-{rows}.csv"
        day = dt.date.fromisoformat(REPORT_DATE)
        write_seed_csv(path, generate_batches(rows=rows, seed=11, logical_date=day, universe=load_universe()))
        return path

    def quoted_export(self, export: Path) -> Path:
        path = export.with_name(f"{export.stem}-quoted.csv")
        write_quoted(export, path)
        return path

    def dag_run(self, conf: dict, **env: str) -> dict:
        command = [sys.executable, "-c", CHILD, str(PROJECT_ROOT / "dags"), LOGICAL_DATE, json.dumps(conf)]
        measurement = run_measured(command, env={**self.env, **env}, cwd=str(self.root))
        lines = [line for line in measurement.stdout.splitlines() if line.startswith("::dag-run::")]
        if measurement.returncode != 0 or not lines:
            raise SystemExit(f"dag.test with {conf} did not finish:\n{measurement.stderr[-3000:]}")
        facts = json.loads(lines[0].split(" ", 1)[1])
        if facts["state"] != "success":
            raise SystemExit(f"dag.test with {conf} ended {facts['state']}: {facts['tasks']}")
        run = RunFolder.for_date(self.data, REPORT_DATE)
        manifest = json.loads(run.control_json.read_text())
        summary = json.loads(run.summary_json.read_text())
        return {
            "process_wall_s": round(measurement.wall_s, 2),
            "peak_rss_mb": round(measurement.peak_rss_bytes / 2**20),
            "cpu_s": round(measurement.cpu_s, 1),
            "prepare_s": manifest["prepare_seconds"],
            "rows": manifest["data_rows"],
            "sectors": {s["sector"]: s for s in summary["sectors"]},
            **facts,
        }

    def duckdb(self, export: Path) -> dict:
        output = self.root / "duckdb-out"
        command = [sys.executable, "-m", "benchmarks.duckdb_whole_job", "--input", str(export), "--output", str(output)]
        measurement = run_measured(command, env=self.env, cwd=str(PROJECT_ROOT))
        if measurement.returncode != 0:
            raise SystemExit(f"DuckDB's whole job failed:\n{measurement.stderr[-3000:]}")
        return {
            "process_wall_s": round(measurement.wall_s, 2),
            "peak_rss_mb": round(measurement.peak_rss_bytes / 2**20),
            "cpu_s": round(measurement.cpu_s, 1),
            "totals": json.loads(measurement.stdout),
            "sectors": read_sectors(output),
        }


def check_equal(dag: dict, duckdb: dict) -> None:
    """The DAG's published sectors equal DuckDB's: every figure exact, the average within DOUBLE's rounding."""
    if set(dag["sectors"]) != set(duckdb["sectors"]):
        raise SystemExit(f"sectors differ: DAG {sorted(dag['sectors'])}, DuckDB {sorted(duckdb['sectors'])}")
    for sector, (value, average, volume, count) in duckdb["sectors"].items():
        mine = dag["sectors"][sector]
        same = (
            Decimal(mine["total_value"]) == Decimal(value)
            and abs(Decimal(mine["avg_price"]) - Decimal(average)) <= AVERAGE_TOLERANCE
            and (mine["total_volume"], mine["transaction_count"]) == (int(volume), int(count))
        )
        if not same:
            raise SystemExit(f"{sector}: DAG published {mine}, DuckDB computed {duckdb['sectors'][sector]}")


def remote_run(space: Workspace, conf: dict, root: Path) -> dict:
    """One run on a warm session cluster, started for this run alone and warmed by one untimed run.
    (Left up, idle, beside the local runs, the local Flink job took about 2 s longer in one sitting.)"""
    from airflow_flink_sql.session_cluster import SessionCluster

    cluster = SessionCluster(root / "flink-cluster")
    cluster.start()
    try:
        connection = json.dumps({"conn_type": "flink", "host": "localhost", "port": cluster.rest_port})
        env = {"SECTOR_REPORT_FLINK_TARGET": "remote", "AIRFLOW_CONN_FLINK_DEFAULT": connection}
        space.dag_run(conf, **env)
        return space.dag_run(conf, **env)
    finally:
        cluster.stop()


def sitting(rows: int, repeats: int, remote: bool, small: bool, root: Path, log) -> dict:
    space = Workspace(root)
    export = space.export(rows)
    log(f"export of {rows:,} rows: {export.stat().st_size / 1e6:,.0f} MB")
    conf = {"source": "file", "input_path": str(export.relative_to(space.data))}
    quoted_conf = {"source": "file", "input_path": str(space.quoted_export(export).relative_to(space.data))}
    space.dag_run({"rows": 1000})  # not timed: a first run on a machine also writes the JVM's class-data archive
    modes = {
        "local": lambda: space.dag_run(conf),
        "quoted": lambda: space.dag_run(quoted_conf),
        "checks_off": lambda: space.dag_run({**conf, "plausibility": "off"}),
        "duckdb": lambda: space.duckdb(export),
    }
    if remote:
        modes["remote"] = lambda: remote_run(space, conf, root)
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    names = list(modes)
    for round_index in range(repeats):
        # Rotated each round, so no engine always runs first (or right after another).
        for mode in names[round_index % len(names) :] + names[: round_index % len(names)]:
            runs[mode].append(modes[mode]())
            wall, rss = runs[mode][-1]["process_wall_s"], runs[mode][-1]["peak_rss_mb"]
            log(f"round {round_index + 1}: {mode:<6} {wall:6.1f} s, {rss:,} MB")
        for mode in names:
            if mode != "duckdb":
                check_equal(runs[mode][-1], runs["duckdb"][-1])
    if small:
        runs["small"] = [space.dag_run({"rows": 1000}) for _ in range(repeats)]
        log(f"1,000 generated rows: {[r['process_wall_s'] for r in runs['small']]} s")
    return {"rows": rows, "export_mb": round(export.stat().st_size / 1e6), "runs": runs}


def median(runs: list[dict], value) -> float:
    return statistics.median(value(run) for run in runs)


def steps(runs: list[dict]) -> list[tuple[str, float]]:
    """Median seconds of each task of a DAG run, in the order they ran; what no task accounts for is Airflow's own."""
    tasks = sorted(runs[0]["tasks"], key=lambda task: runs[0]["tasks"][task]["start"])
    found = [(task, median(runs, lambda r, t=task: r["tasks"][t]["duration_s"])) for task in tasks]
    wall = median(runs, lambda r: r["process_wall_s"])
    airflow = wall - sum(seconds for _, seconds in found)
    return [("Airflow: start, DAG parse, dag.test's execution API, scheduling", airflow), *found, ("whole run", wall)]


def write(result: dict, folder: Path) -> Path:
    env = environment()
    folder.mkdir(parents=True, exist_ok=True)
    rows, runs = result["rows"], result["runs"]
    local, duckdb = runs["local"], runs["duckdb"]
    duck = median(duckdb, lambda r: r["process_wall_s"])
    whole = median(local, lambda r: r["process_wall_s"])
    landing = median(local, lambda r: r["prepare_s"])
    quoted_landing = median(runs["quoted"], lambda r: r["prepare_s"])
    flink_job = median(local, lambda r: r["flink"]["duration_s"])
    figures = {
        "whole_run_over_duckdb": round(whole / duck, 2),
        "landing_share_of_whole_run": round(landing / whole, 3),
        "landing_rows_per_s": round(rows / landing),
        "quoted_landing_rows_per_s": round(rows / quoted_landing),
        "quoted_landing_over_unquoted": round(quoted_landing / landing, 2),
        "flink_job_over_duckdb": round(flink_job / duck, 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in local),
        "check_plausibility_s": median(local, lambda r: r["tasks"]["check_plausibility"]["duration_s"]),
        "wait_for_approval_s": median(local, lambda r: r["tasks"]["wait_for_approval"]["duration_s"]),
        "checks_off_whole_run_s": median(runs["checks_off"], lambda r: r["process_wall_s"]),
    }
    if "remote" in runs:
        figures["remote_aggregate_s"] = median(runs["remote"], lambda r: r["tasks"]["aggregate"]["duration_s"])
        figures["local_aggregate_s"] = median(local, lambda r: r["tasks"]["aggregate"]["duration_s"])
    result["figures"] = figures
    stem = "dag_run" if rows == 10_000_000 else f"dag_run_{rows:.0e}".replace("+0", "")
    (folder / f"{stem}.json").write_text(json.dumps({"environment": env, **result}, indent=2) + "\n")
    lines = [
        f"# The whole nightly run on {rows:,} rows, beside DuckDB's whole job ({env['date']})",
        "",
        f"{env['machine']}; Python {env['python']}; {env['java']}; {env['versions']}.",
        f"`dag.test()` with `source=file` on one {result['export_mb']:,} MB seed-format export, SQLite, local",
        "MiniCluster; every run a fresh process, measured as a process tree (Airflow, the Flink job's Python and",
        f"JVM). {f'Median of {len(local)} rounds, order rotated' if len(local) > 1 else 'One round'}; every run's "
        "published sector figures equal DuckDB's.",
        "",
        "| step | local (s) | share | remote, warm cluster (s) |",
        "|---|---:|---:|---:|",
    ]
    remote_steps = dict(steps(runs["remote"])) if "remote" in runs else {}
    for name, seconds in steps(local):
        other = f"{remote_steps[name]:.1f}" if name in remote_steps else "–"
        lines.append(f"| {name} | {seconds:.1f} | {seconds / whole:.0%} | {other} |")
    net = median(local, lambda r: r["flink"]["net_runtime_ms"] / 1000)
    lines += [
        "",
        f"- landing itself (inside prepare_input, `control.json`): **{landing:.1f} s**, {rows / landing:,.0f} rows/s, "
        f"{landing / whole:.0%} of the whole run",
        "- landing the same rows exported with every field quoted (BOM, quoted header, CRLF): "
        f"**{quoted_landing:.1f} s**, "
        f"{rows / quoted_landing:,.0f} rows/s, {quoted_landing / landing:.2f}× the unquoted; the whole run "
        f"{median(runs['quoted'], lambda r: r['process_wall_s']):.1f} s",
        f"- the Flink job's process: {flink_job:.1f} s, of which Flink's net runtime {net:.1f} s",
        f"- peak RSS of the run's process tree: {figures['peak_rss_mb']:,} MB",
        f"- the plausibility checks: check_plausibility {figures['check_plausibility_s']:.2f} s and wait_for_approval "
        f"{figures['wait_for_approval_s']:.2f} s (nothing held); the whole run with them off "
        f"{figures['checks_off_whole_run_s']:.1f} s: **{whole - figures['checks_off_whole_run_s']:+.1f} s** with them",
        f"- **DuckDB's whole job: {duck:.2f} s**, {median(duckdb, lambda r: r['peak_rss_mb']):,.0f} MB",
        f"- whole run / DuckDB: **{figures['whole_run_over_duckdb']}×**; Flink job / DuckDB: "
        f"**{figures['flink_job_over_duckdb']}×**",
    ]
    if "small" in runs:
        small = [r["process_wall_s"] for r in runs["small"]]
        lines.append(f"- a 1,000-row generated run (`make run`'s shape): {statistics.median(small):.1f} s ({small})")
    lines += [
        "",
        "Every run (process wall, s): "
        + "; ".join(f"{mode} {[r['process_wall_s'] for r in mode_runs]}" for mode, mode_runs in runs.items()),
    ]
    path = folder / f"{stem}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e7", help="rows of the export")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-remote", dest="remote", action="store_false", help="skip the session cluster runs")
    parser.add_argument("--no-small", dest="small", action="store_false", help="skip the 1,000-row runs")
    parser.add_argument("--workdir", help="where the exports and runs go (default: a temporary folder)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dag-run-bench-", dir=args.workdir) as tmp:
        result = sitting(
            parse_sizes(args.rows)[0],
            args.repeats,
            args.remote,
            args.small,
            Path(tmp),
            functools.partial(print, flush=True),
        )
    path = write(result, args.results)
    print(path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
