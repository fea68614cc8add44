"""Landing benchmark: time and peak memory of landing a large seed-format export (streamed, memory stays flat).

    .venv/bin/python -m benchmarks.landing --rows 10000000 [--quoted-header]

Writes the export first (not measured), then lands it in a separate process and prints that
process's wall time, rows per second and peak RSS. ``--quoted-header`` starts the export with a
header whose names are quoted: from the first quote character on, landing reads with Python's
csv module (a quoted field may hold commas and line breaks), so this measures that slower path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.engines import PROJECT_ROOT, parse_sizes
from include.sector_report.generate import generate_batches, write_seed_csv
from include.sector_report.universe import load_universe

LAND = """
import json, sys
from pathlib import Path
from include.sector_report.land import land_csv
from include.sector_report.run_folder import RunFolder
run = RunFolder.for_date(sys.argv[2], "2024-03-08")
run.reset()
result = land_csv(Path(sys.argv[1]), run)
print(json.dumps({"data_rows": result.data_rows, "rejected_rows": result.rejected_rows}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e7")
    parser.add_argument("--quoted-header", action="store_true", help="measure the csv-module path")
    args = parser.parse_args()
    rows = parse_sizes(args.rows)[0]
    with tempfile.TemporaryDirectory(prefix="landing-bench-") as tmp:
        source = Path(tmp) / "export.csv"
        day = dt.date(2024, 3, 8)
        write_seed_csv(source, generate_batches(rows=rows, seed=1, logical_date=day, universe=load_universe()))
        if args.quoted_header:
            body = source.rename(source.with_suffix(".body"))
            with source.open("wb") as out, body.open("rb") as rows_in:
                out.write(b'"stock_code","sector","price","volume","transaction_date"\n')
                shutil.copyfileobj(rows_in, out)
            body.unlink()
        size_mb = source.stat().st_size / 1e6
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", LAND, str(source), str(Path(tmp) / "data")],
            check=True,
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        ).stdout
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = json.loads(out)
    print(f"rows landed      {result['data_rows']:,} ({result['rejected_rows']} rejected) from {size_mb:,.0f} MB")
    print(f"wall time        {seconds:,.1f} s ({result['data_rows'] / seconds:,.0f} rows/s)")
    print(f"peak RSS         {peak_mb:,.0f} MB (landing process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
