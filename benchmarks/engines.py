"""Flink against its peers on the same aggregation and file: wall time, rows/s, peak RSS, CPU.

    make bench                                   # 1e3, 1e6 and 1e7 rows, 3 timed runs each
    .venv/bin/python -m benchmarks.engines --rows 1e8 --repeats 1

For each size it generates one landed input (the DAG's own generator and landed format: the
files the Flink job reads), runs every engine once to check that its output equals Flink's (and
Flink's equals the generator's control totals),
then times ``--repeats`` rounds with the engine order rotated each round. A timed run only
counts if its output is still equal. Every run is a fresh process; its figures cover the
whole process tree, JVMs included. Results: ``benchmarks/results/engines.{md,json,png}``.

Engines: ``flink`` is the product's job through the operator's own entry point and hook
defaults (local MiniCluster, parallelism 1); ``pyspark`` is local[2] on the same SQL;
``duckdb`` the same SQL; ``pandas`` the same grouping and join in code. All read the same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from airflow_flink_sql.hooks.flink_sql import PyFlinkSqlHook

from benchmarks import aggregation_sql
from benchmarks.process_tree import Measurement, run_measured
from include.sector_report.landing.generate import generate_transactions
from include.sector_report.layout import RunFolder
from include.sector_report.transactions import ControlTotals
from include.sector_report.universe import load_universe

PROJECT_ROOT = Path(__file__).resolve().parents[1]

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
LOGICAL_DATE = dt.date(2024, 3, 8)
# DuckDB's AVG of a DECIMAL is a DOUBLE; every other figure must match exactly.
AVERAGE_TOLERANCE = Decimal("0.000001")


@dataclass
class Engine:
    """How to run one engine with the Flink job's ``sql_params``: the input files and a folder per sink."""

    name: str
    command: Callable[[dict[str, str], Path], list[str]]  # (sql_params, workdir) -> argv
    env: dict[str, str]


def flink_engine(name: str = "flink", env_overrides: dict[str, str] | None = None, **hook_kwargs) -> Engine:
    """The product's Flink job, started exactly as the operator starts it (its hook builds the command)."""
    hook = PyFlinkSqlHook(target="local", parallelism=1, **hook_kwargs)

    def command(sql_params: dict[str, str], workdir: Path) -> list[str]:
        script = workdir / f"{name}.sql"
        script.write_text(aggregation_sql.render(sql_params), encoding="utf-8")
        return hook.job_process.command(str(script), str(workdir), hook.flink_configuration(), detach=False)

    return Engine(name, command, {**os.environ, **(env_overrides or {})})


def peer_engine(name: str) -> Engine:
    def command(sql_params: dict[str, str], workdir: Path) -> list[str]:
        return [sys.executable, "-m", "benchmarks.peers", name, "--params", json.dumps(sql_params)]

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return Engine(name, command, env)


def default_engines() -> list[Engine]:
    return [flink_engine(), peer_engine("pyspark"), peer_engine("duckdb"), peer_engine("pandas")]


class OutputMismatch(Exception):
    pass


def sql_params(run: RunFolder, output: Path) -> dict[str, str]:
    """What the DAG gives the Flink job: the run's landed input, and here a sink folder under ``output``."""
    return {
        "transactions_path": str(run.transactions_csv),
        "stocks_path": str(run.stocks_csv),
        "sector_sink_path": str(output / "sector_summary"),
        "stock_sink_path": str(output / "stock_summary"),
    }


def read_output(params: dict[str, str]) -> dict[str, dict[tuple[str, ...], tuple[Decimal, ...]]]:
    """Each sink's rows keyed by their STRING columns, with the other columns as Decimals."""
    sql = aggregation_sql.load()
    result = {}
    for sink in sql.queries:
        text_columns = [sql_type.upper() == "STRING" for _, sql_type in sql.columns[sink]]
        rows = {}
        folder = Path(sql.path(sink, params))
        for part in sorted(folder.iterdir()):
            if part.name.startswith((".", "_")):
                continue  # checksums and success markers
            for line in part.read_text(encoding="utf-8").splitlines():
                fields = line.split(",")
                key = tuple(f for f, is_text in zip(fields, text_columns, strict=True) if is_text)
                if key in rows:
                    raise OutputMismatch(f"{folder}: group {key} appears twice")
                rows[key] = tuple(Decimal(f) for f, is_text in zip(fields, text_columns, strict=True) if not is_text)
        result[sink] = rows
    return result


def tolerances(sink: str) -> list[Decimal]:
    """Exact for every column, but averages (DECIMAL with 6+ decimals): DuckDB's AVG is a DOUBLE."""
    sql = aggregation_sql.load()
    found = []
    for _, sql_type in sql.columns[sink]:
        scale = re.fullmatch(r"DECIMAL\(\d+,\s*(\d+)\)", sql_type, re.I)
        if sql_type.upper() != "STRING":
            found.append(AVERAGE_TOLERANCE if scale and int(scale.group(1)) >= 6 else Decimal(0))
    return found


def compare(name: str, output, reference) -> None:
    for sink, theirs in reference.items():
        mine = output[sink]
        if mine.keys() != theirs.keys():
            missing, extra = sorted(theirs.keys() - mine.keys()), sorted(mine.keys() - theirs.keys())
            raise OutputMismatch(f"{name}: {sink} groups differ from Flink's (missing {missing}, extra {extra})")
        allowed = tolerances(sink)
        for key, values in mine.items():
            if any(abs(a - b) > tol for a, b, tol in zip(values, theirs[key], allowed, strict=True)):
                raise OutputMismatch(f"{name}: {sink} row {key} is {values}, Flink's is {theirs[key]}")


def check_against_control(output, control: ControlTotals) -> None:
    sectors = output["sector_summary"].values()
    value, volume, count = (sum(row[i] for row in sectors) for i in (0, 2, 3))
    found = (int(count), int(volume), int(value * 100))
    expected = (control.rows, control.total_volume, control.total_value_cents)
    if found != expected:
        raise OutputMismatch(f"flink: sector totals (rows, volume, cents) {found} != generator's {expected}")


@dataclass
class Run:
    engine: str
    rows: int
    measurement: Measurement


def run_once(engine: Engine, run: RunFolder, workdir: Path) -> tuple[Measurement, dict]:
    output = workdir / f"out-{engine.name}"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir()
    params = sql_params(run, output)
    measurement = run_measured(engine.command(params, workdir), env=engine.env, cwd=str(workdir))
    if measurement.returncode != 0:
        raise OutputMismatch(
            f"{engine.name} exited with {measurement.returncode} on {run.root}:\n{measurement.stderr[-3000:]}"
        )
    return measurement, read_output(params)


def landed_input(rows: int, workdir: Path) -> tuple[RunFolder, ControlTotals]:
    """The landed input of a generated night of ``rows`` transactions, as the DAG writes it."""
    run = RunFolder.for_date(workdir, LOGICAL_DATE.isoformat())
    run.reset()
    control = generate_transactions(run, rows=rows, seed=7, logical_date=LOGICAL_DATE, universe=load_universe())
    return run, control


def benchmark_size(engines: list[Engine], rows: int, repeats: int, workdir: Path, log) -> list[Run]:
    started = time.perf_counter()
    run, control = landed_input(rows, workdir)
    size_mb = run.transactions_csv.stat().st_size / 1e6
    log(f"{rows:,} rows: landed input {size_mb:,.0f} MB in {time.perf_counter() - started:.1f} s")
    # Untimed first round: outputs checked, caches warm (and Flink's class-data archive written).
    reference = None
    for engine in engines:
        _, output = run_once(engine, run, workdir)
        if reference is None:
            check_against_control(output, control)
            reference = output
        compare(engine.name, output, reference)
    log(f"{rows:,} rows: every engine's output equals Flink's; Flink's equals the control totals")
    runs = []
    for round_index in range(repeats):
        shift = round_index % len(engines)
        for engine in engines[shift:] + engines[:shift]:
            measurement, output = run_once(engine, run, workdir)
            compare(engine.name, output, reference)
            runs.append(Run(engine.name, rows, measurement))
            log(
                f"{rows:,} rows, round {round_index + 1}: {engine.name:<8} {measurement.wall_s:6.2f} s wall, "
                f"{measurement.cpu_s:6.1f} s CPU, {measurement.peak_rss_bytes / 2**20:6.0f} MB peak RSS"
            )
    shutil.rmtree(run.root)
    return runs


def summarize(runs: list[Run]) -> list[dict]:
    table = []
    for engine, rows in dict.fromkeys((r.engine, r.rows) for r in runs):
        mine = [r.measurement for r in runs if r.engine == engine and r.rows == rows]
        wall = statistics.median(m.wall_s for m in mine)
        table.append(
            {
                "engine": engine,
                "rows": rows,
                "runs": len(mine),
                "median_wall_s": round(wall, 3),
                "rows_per_s": round(rows / wall),
                "median_cpu_s": round(statistics.median(m.cpu_s for m in mine), 2),
                "peak_rss_mb": round(max(m.peak_rss_bytes for m in mine) / 2**20),
                "wall_s": [round(m.wall_s, 3) for m in mine],
            }
        )
    return table


def ratios(table: list[dict], rows: int) -> dict[str, float]:
    wall = {r["engine"]: r["median_wall_s"] for r in table if r["rows"] == rows}
    found = {}
    if "flink" in wall and "pyspark" in wall:
        found["pyspark_over_flink"] = round(wall["pyspark"] / wall["flink"], 2)
    if "flink" in wall and "duckdb" in wall:
        found["flink_over_duckdb"] = round(wall["flink"] / wall["duckdb"], 2)
    return found


def environment() -> dict[str, str]:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {memory_gib:.0f} GiB",
        "python": platform.python_version(),
        "java": java,
        "versions": ", ".join(f"{p} {_version(p)}" for p in ("apache-flink", "pyspark", "duckdb", "pandas")),
    }


def write_results(table: list[dict], sizes: list[int], repeats: int, folder: Path, stem: str, title: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    env = environment()
    comparison = {_size_key(rows): ratios(table, rows) for rows in sizes}
    json_path = folder / f"{stem}.json"
    json_path.write_text(
        json.dumps({"environment": env, "repeats": repeats, "results": table, "ratios": comparison}, indent=2) + "\n"
    )
    lines = [
        f"# {title} ({env['date']})",
        "",
        f"{env['machine']}; Python {env['python']}; {env['java']}; {env['versions']}.",
        f"Median of {repeats} timed runs after an untimed, output-checked one; engine order rotated each round.",
        "Wall time and RSS cover each run's whole process tree (interpreter, JVM, engine start-up included).",
        "",
        "| rows | engine | median wall (s) | rows/s | median CPU (s) | peak RSS (MB) | runs (s) |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in table:
        runs = ", ".join(f"{w:.2f}" for w in r["wall_s"])
        lines.append(
            f"| {r['rows']:,} | {r['engine']} | {r['median_wall_s']:.2f} | {r['rows_per_s']:,} | "
            f"{r['median_cpu_s']:.1f} | {r['peak_rss_mb']:,} | {runs} |"
        )
    if any(comparison.values()):
        lines += ["", "| rows | PySpark time / Flink time | Flink time / DuckDB time |", "|---:|---:|---:|"]
        for rows in sizes:
            found = comparison[_size_key(rows)]
            lines.append(
                f"| {rows:,} | {found.get('pyspark_over_flink', '–')} | {found.get('flink_over_duckdb', '–')} |"
            )
    md_path = folder / f"{stem}.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [md_path, json_path, chart(table, sizes, folder / f"{stem}.png")]


def chart(table: list[dict], sizes: list[int], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = list(dict.fromkeys(r["engine"] for r in table))
    figure, axis = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(engines)
    for i, engine in enumerate(engines):
        walls = [
            next((r["median_wall_s"] for r in table if r["engine"] == engine and r["rows"] == n), 0) for n in sizes
        ]
        bars = axis.bar([x + i * width for x in range(len(sizes))], walls, width, label=engine)
        axis.bar_label(bars, fmt="%.1f", fontsize=7)
    axis.set_xticks([x + width * (len(engines) - 1) / 2 for x in range(len(sizes))], [f"{n:,} rows" for n in sizes])
    axis.set_yscale("log")
    axis.set_ylabel("median wall time, s (log)")
    axis.set_title("Median wall time of one run: process start to output written")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _size_key(rows: int) -> str:
    return f"{rows:.0e}".replace("+0", "")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def parse_sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part]


def main(
    argv: list[str] | None = None,
    engines: list[Engine] | None = None,
    stem: str = "engines",
    sizes: str = "1e3,1e6,1e7",
    description: str = __doc__,
) -> int:
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--rows", default=sizes, help="comma-separated sizes, e.g. 1e3,1e6,1e7,1e8")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per engine and size")
    parser.add_argument("--workdir", help="where inputs and outputs go (default: a temporary folder)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the tables and chart go")
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.rows)
    engines = engines or default_engines()
    with tempfile.TemporaryDirectory(prefix="engines-bench-", dir=args.workdir) as tmp:
        runs = []
        for rows in sizes:
            runs += benchmark_size(engines, rows, args.repeats, Path(tmp), log=lambda m: print(m, flush=True))
    table = summarize(runs)
    title = description.splitlines()[0].rstrip(".")
    for path in write_results(table, sizes, args.repeats, args.results, stem, title):
        print(f"wrote {path}")
    print((args.results / f"{stem}.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OutputMismatch as mismatch:
        print(f"benchmark stopped: {mismatch}", file=sys.stderr)
        sys.exit(1)
