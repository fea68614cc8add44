"""The remote target's client JVM: what C1 alone saves when the JVM only plans the job and submits it.

    .venv/bin/python -m benchmarks.remote_client                  # 2,000 rows, 6 rounds
    .venv/bin/python -m benchmarks.remote_client --rows 1e6 --rounds 3

On a session cluster of its own (a JobManager and a TaskManager from the PyFlink wheel), the night's script is
submitted through the hook as the operator submits it, with the JVM options of each variant in turn (the order
rotated each round):

- ``c1+c2``: the JDK's tiered compilation up to C2, as the remote target's client ran before;
- ``c1``: ``PLANNING_ONLY_JVM_OPTIONS`` before the defaults, as the hook now starts it.

Per submission it prints the wall time until the job is submitted and the CPU seconds the whole machine spent
meanwhile (the client's Python and JVM, the JobManager taking the job), then waits for the job to finish before
the next. Results: ``benchmarks/results/remote_client.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from airflow_flink_sql.hooks.flink_sql import DEFAULT_JVM_OPTIONS, PyFlinkSqlHook
from airflow_flink_sql.session_cluster import SessionCluster

from benchmarks import aggregation_sql
from benchmarks.engines import environment, landed_input, parse_sizes, sql_params

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {"c1+c2": (*DEFAULT_JVM_OPTIONS, "-XX:TieredStopAtLevel=4"), "c1": DEFAULT_JVM_OPTIONS}


def submit_once(hook: PyFlinkSqlHook, sql: str) -> tuple[float, float]:
    """Wall seconds to submit, and the machine's CPU seconds meanwhile; then the job waited for to its end."""
    job_id = uuid.uuid4().hex
    before, started = psutil.cpu_times(), time.monotonic()
    hook.submit(sql, job_id=job_id, job_name=f"remote_client {job_id}")
    wall, after = time.monotonic() - started, psutil.cpu_times()
    hook.wait_for_job(job_id)
    return wall, (after.user + after.system) - (before.user + before.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", default="2e3")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    [rows] = parse_sizes(args.rows)
    with tempfile.TemporaryDirectory(prefix="remote-client-") as folder:
        workdir = Path(folder)
        cluster = SessionCluster(workdir / "cluster")
        cluster.start()
        try:
            os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
                {"conn_type": "flink", "host": "localhost", "port": cluster.rest_port}
            )
            run, _ = landed_input(rows, workdir)
            hooks = {name: PyFlinkSqlHook(target="remote", jvm_options=options) for name, options in VARIANTS.items()}
            measured: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
            names = list(VARIANTS)
            for round_ in range(args.rounds):
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    sql = aggregation_sql.render(sql_params(run, workdir / f"out-{name}-{round_}"))
                    wall, cpu = submit_once(hooks[name], sql)
                    measured[name].append((round(wall, 2), round(cpu, 2)))
                    print(f"round {round_} {name:6} submitted in {wall:5.2f} s, machine CPU {cpu:5.2f} s", flush=True)
        finally:
            cluster.stop()
    table = [
        {
            "variant": name,
            "jvm_options": list(hooks[name].job_process.jvm_options),
            "median_submit_seconds": statistics.median(wall for wall, _ in runs),
            "median_machine_cpu_seconds": statistics.median(cpu for _, cpu in runs),
            "runs": runs,
        }
        for name, runs in measured.items()
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "remote_client.json").write_text(
        json.dumps({"rows": rows, "rounds": args.rounds, "environment": environment(), "variants": table}, indent=2)
    )
    lines = [
        f"# The remote target's client JVM, {rows:,} rows, {args.rounds} rounds",
        "",
        "| variant | median submit (s) | median machine CPU (s) | every run (submit s, CPU s) |",
        "|---|---|---|---|",
        *(
            f"| {row['variant']} | {row['median_submit_seconds']:.2f} | {row['median_machine_cpu_seconds']:.2f} "
            f"| {', '.join(f'{w}/{c}' for w, c in row['runs'])} |"
            for row in table
        ),
        "",
        *(f"- {key}: {value}" for key, value in environment().items()),
    ]
    (RESULTS / "remote_client.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:6]))


if __name__ == "__main__":
    main()
