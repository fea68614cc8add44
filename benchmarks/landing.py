"""Landing benchmark: time and peak memory of landing a large CSV (streamed, so memory stays flat).

    .venv/bin/python benchmarks/landing.py --rows 10000000

Generates the input first (not measured), then lands it in a separate process and prints
that process's wall time, rows per second and peak RSS. Target: 10 million rows under 1 GB RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from include.sector_report.generate import generate_transactions  # noqa: E402
from include.sector_report.universe import load_universe  # noqa: E402

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
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="landing-bench-") as tmp:
        source = Path(tmp) / "export.csv"
        generate_transactions(
            source, rows=args.rows, seed=1, logical_date=dt.date(2024, 3, 8), universe=load_universe()
        )
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
