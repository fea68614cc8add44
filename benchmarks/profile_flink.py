"""Profile the product's Flink job with Java Flight Recorder: where the JVM's time goes, per thread.

    .venv/bin/python -m benchmarks.profile_flink --rows 1e7

Runs the job once (through the operator's entry point and defaults) with JFR recording,
then prints, for the busiest threads, how many execution samples each took and the methods
most often on their stacks, and the CPU time of every JVM thread (task threads, source
fetchers, JIT compilers, GC) read from /proc just before the job ends. The recording stays
in the folder given with ``--workdir``, for JDK Mission Control.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
from airflow_flink_sql.hooks.flink_sql import DEFAULT_JVM_OPTIONS

from benchmarks.engines import flink_engine, landed_input, parse_sizes, sql_params
from benchmarks.process_tree import run_measured

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (numbered pool threads added up) of one process."""
    totals: collections.Counter[str] = collections.Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        totals[name.rstrip("#0123456789 ")] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return dict(totals)


def record_jvm_threads(cpu: dict[str, float]):
    """A sampler for ``run_measured``: keeps the latest per-thread CPU of the tree's JVM."""

    def sample(processes) -> None:
        for process in processes:
            try:
                if process.name() == "java":
                    cpu.update(thread_cpu(process.pid))
            except (OSError, psutil.Error):
                continue

    return sample


def execution_samples(recording: Path) -> list[dict]:
    printed = subprocess.run(
        ["jfr", "print", "--json", "--events", "jdk.ExecutionSample", str(recording)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(printed)["recording"]["events"]


def summarize(samples: list[dict], threads: int, methods: int) -> list[str]:
    per_thread: collections.Counter[str] = collections.Counter()
    on_stack: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for sample in samples:
        values = sample["values"]
        thread = (values["sampledThread"].get("javaName") or values["sampledThread"]["osName"]).split(" (")[0]
        thread = thread if len(thread) <= 60 else thread[:57] + "..."
        per_thread[thread] += 1
        frames = (values.get("stackTrace") or {}).get("frames") or []
        for method in {f"{f['method']['type']['name'].rsplit('/', 1)[-1]}.{f['method']['name']}" for f in frames}:
            on_stack[thread][method] += 1
    lines = [f"{len(samples)} execution samples (Java code only; JIT and GC threads are not sampled)"]
    for thread, count in per_thread.most_common(threads):
        lines.append(f"\n{thread}: {count} samples")
        lines += [f"  {n:5d}  {method}" for method, n in on_stack[thread].most_common(methods)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e7")
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temporary folder)")
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--methods", type=int, default=25)
    args = parser.parse_args(argv)
    rows = parse_sizes(args.rows)[0]
    with tempfile.TemporaryDirectory(prefix="flink-profile-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        run, _ = landed_input(rows, workdir)
        recording = workdir / "flink-job.jfr"
        engine = flink_engine(
            jvm_options=[*DEFAULT_JVM_OPTIONS, f"-XX:StartFlightRecording=filename={recording},settings=default"]
        )
        cpu: dict[str, float] = {}
        measurement = run_measured(
            engine.command(sql_params(run, workdir / "out"), workdir),
            env=engine.env,
            cwd=str(workdir),
            interval=0.2,
            on_sample=record_jvm_threads(cpu),
        )
        if measurement.returncode != 0:
            raise SystemExit(f"the Flink job failed:\n{measurement.stderr[-3000:]}")
        print(f"{rows:,} rows: {measurement.wall_s:.1f} s wall, {measurement.cpu_s:.1f} s CPU")
        print("\nJVM CPU seconds by thread:")
        for name, seconds in sorted(cpu.items(), key=lambda item: -item[1])[:12]:
            print(f"  {seconds:6.1f}  {name}")
        print()
        print("\n".join(summarize(execution_samples(recording), args.threads, args.methods)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
