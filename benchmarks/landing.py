"""Landing benchmark: quoted and unquoted exports of the same rows, landed by the product and read by DuckDB.

    .venv/bin/python -m benchmarks.landing [--rows 1e7] [--repeats 3] [--results DIR]

Three shapes of one export (written first, not measured):

- ``unquoted``: the seed's format, headerless, LF;
- ``quoted``: as databases and spreadsheets write it: a BOM, a quoted header, every field quoted, CRLF;
- ``quoted, line breaks``: the same, with a line break inside a quoted sector name in ten records.

Each is landed by the product (``land_csv``, in a process of its own) and read by DuckDB the way
its whole job does (a strict typed read that keeps the rows it rejects), rotated, ``--repeats``
times; every run is measured as a process tree (wall time, peak RSS). Both must count the same
rows. Results go to ``benchmarks/results/landing.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.engines import PROJECT_ROOT, RESULTS, parse_sizes
from benchmarks.process_tree import run_measured
from include.sector_report.landing.generate import generate_batches, write_seed_csv
from include.sector_report.universe import load_universe

LAND = """
import json, sys, time
from pathlib import Path
from include.sector_report.landing.land import land_csv
from include.sector_report.layout import RunFolder
run = RunFolder.for_date(sys.argv[2], "2024-03-08")
run.reset()
started = time.perf_counter()
result = land_csv(Path(sys.argv[1]), run)
print(json.dumps({"rows": result.data_rows - result.rejected_rows, "rejected": result.rejected_rows,
                  "landing_s": time.perf_counter() - started}))
"""
DUCKDB = """
import json, sys, duckdb
from benchmarks.duckdb_whole_job import COLUMNS
con = duckdb.connect()
header = sys.argv[2] == "true"
con.execute("CREATE TEMPORARY TABLE t AS SELECT * FROM read_csv(?, header = ?, auto_detect = false, quote = '\\"', "
            f"columns = {COLUMNS}, store_rejects = true)", [sys.argv[1], header])
rejected = con.execute("SELECT count(DISTINCT (scan_id, line)) FROM reject_errors").fetchone()[0]
print(json.dumps({"rows": con.execute("SELECT count(*) FROM t").fetchone()[0], "rejected": rejected}))
"""
SHAPES = ("unquoted", "quoted", "quoted, line breaks")
LINE_BREAKS = 10


def write_shapes(folder: Path, rows: int) -> dict[str, Path]:
    plain = folder / "unquoted.csv"
    day = dt.date(2024, 3, 8)
    write_seed_csv(plain, generate_batches(rows=rows, seed=1, logical_date=day, universe=load_universe()))
    quoted, broken = folder / "quoted.csv", folder / "quoted-line-breaks.csv"
    write_quoted(plain, quoted)
    write_quoted(plain, broken, line_breaks=LINE_BREAKS)
    return {"unquoted": plain, "quoted": quoted, "quoted, line breaks": broken}


def write_quoted(plain: Path, quoted: Path, *, line_breaks: int = 0) -> None:
    """``plain`` (headerless, LF) as spreadsheets export it: a BOM, a quoted header, every field quoted, CRLF;
    with ``line_breaks`` records spread over the file whose sector name is on two lines."""
    every = 0
    if line_breaks:
        with plain.open("rb") as rows:
            every = max(sum(1 for _ in rows) // line_breaks, 1)
    with plain.open("rb") as rows, quoted.open("wb") as out:
        out.write(b'\xef\xbb\xbf"stock_code","sector","price","volume","transaction_date"\r\n')
        for number, line in enumerate(rows):
            record = b'"' + line.rstrip(b"\n").replace(b",", b'","') + b'"\r\n'
            if every and number % every == every // 2:
                code, sector, rest = record.split(b'","', 2)
                record = code + b'","' + sector + b"\r\n(" + sector + b')","' + rest
            out.write(record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e7")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = parse_sizes(args.rows)[0]
    env = {"PYTHONPATH": str(PROJECT_ROOT)}
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="landing-bench-") as tmp:
        files = write_shapes(Path(tmp), rows)
        plan = [(shape, engine) for shape in SHAPES for engine in ("landing", "duckdb")]
        for repeat in range(args.repeats):
            order = plan[repeat % len(plan) :] + plan[: repeat % len(plan)]
            for shape, engine in order:
                source = files[shape]
                if engine == "landing":
                    command = [sys.executable, "-c", LAND, str(source), str(Path(tmp) / "data")]
                else:
                    command = [sys.executable, "-c", DUCKDB, str(source), "false" if shape == "unquoted" else "true"]
                measured = run_measured(command, env={**os.environ, **env}, cwd=str(PROJECT_ROOT))
                if measured.returncode:
                    raise SystemExit(f"{engine} on {shape} failed:\n{measured.stderr[-3000:]}")
                result = json.loads(measured.stdout.strip().splitlines()[-1])
                runs.append({"shape": shape, "engine": engine, "repeat": repeat, "wall_s": measured.wall_s,
                             "peak_rss_mb": measured.peak_rss_bytes / 1e6, "size_mb": source.stat().st_size / 1e6,
                             **result})  # fmt: skip
                print(f"{shape:20} {engine:8} {measured.wall_s:6.2f} s  {measured.peak_rss_bytes / 1e6:6.0f} MB  "
                      f"{result['rows']:,} rows, {result['rejected']} rejected", flush=True)  # fmt: skip
    for shape in SHAPES:  # both read the same rows
        counts = {(r["engine"], r["rows"], r["rejected"]) for r in runs if r["shape"] == shape}
        if len({(rows_, rejected) for _, rows_, rejected in counts}) != 1:
            raise SystemExit(f"landing and DuckDB disagree on {shape}: {sorted(counts)}")
    write_results(args.results, rows, runs)
    return 0


def write_results(folder: Path, rows: int, runs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    summary = []
    for shape in SHAPES:
        entry = {"shape": shape}
        for engine in ("landing", "duckdb"):
            mine = [r for r in runs if r["shape"] == shape and r["engine"] == engine]
            wall = statistics.median(r["wall_s"] for r in mine)
            entry[engine] = {
                "median_wall_s": round(wall, 2),
                "rows_per_s": round(rows / wall),
                "peak_rss_mb": round(max(r["peak_rss_mb"] for r in mine)),
                "size_mb": round(mine[0]["size_mb"]),
            }
            if engine == "landing":
                entry[engine]["median_landing_s"] = round(statistics.median(r["landing_s"] for r in mine), 2)
        summary.append(entry)
    sitting = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
        "summary": summary,
        "runs": runs,
    }
    (folder / "landing.json").write_text(json.dumps(sitting, indent=2))
    unquoted = summary[0]["landing"]["median_wall_s"]
    lines = [
        f"# Landing: quoted and unquoted exports ({sitting['date']}, {sitting['machine']})",
        "",
        f"{rows:,} rows per file; median of the runs below, each its own process (interpreter start included),",
        "measured as a process tree; `landing` lands the file as the nightly run does (checks, quarantine, landed",
        "input, control totals), `duckdb` reads it strictly typed, keeping its rejects. Written by",
        "`python -m benchmarks.landing`.",
        "",
        "| shape | MB | landing | rows/s | ÷ unquoted | peak RSS | DuckDB | rows/s | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in summary:
        mine, duck = entry["landing"], entry["duckdb"]
        lines.append(
            f"| {entry['shape']} | {mine['size_mb']:,} | {mine['median_wall_s']} s | {mine['rows_per_s']:,} | "
            f"{mine['median_wall_s'] / unquoted:.2f}× | {mine['peak_rss_mb']} MB | {duck['median_wall_s']} s | "
            f"{duck['rows_per_s']:,} | {duck['peak_rss_mb']} MB |"
        )
    lines += ["", "Every run:", "", "| shape | engine | repeat | wall | peak RSS |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['shape']} | {r['engine']} | {r['repeat']} | {r['wall_s']:.2f} s | {r['peak_rss_mb']:.0f} MB |"
              for r in runs]  # fmt: skip
    (folder / "landing.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
