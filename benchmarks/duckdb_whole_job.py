"""DuckDB doing the nightly job's whole work on a seed-format export: the yardstick for the DAG.

    python -m benchmarks.duckdb_whole_job --input export.csv --output out/

A strict typed read that keeps the rows it rejects (counted, never silently dropped or
turned into NULLs), both aggregations (per sector with the average price; per stock), each
written to a CSV file, and the control totals (rows, volume, value) with the number of rejected
rows, printed as one JSON line. Money is DECIMAL, so exact.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COLUMNS = "{'stock_code': 'VARCHAR', 'sector': 'VARCHAR', 'price': 'DECIMAL(18,2)', 'volume': 'INTEGER', " + (
    "'transaction_date': 'DATE'}"
)
SECTORS = """
SELECT sector, SUM(price * volume) AS total_value, AVG(price) AS avg_price, SUM(volume::BIGINT) AS total_volume,
       COUNT(*) AS transaction_count
FROM transactions GROUP BY sector"""
STOCKS = """
SELECT sector, stock_code, SUM(price * volume) AS total_value, SUM(volume::BIGINT) AS total_volume,
       COUNT(*) AS transaction_count
FROM transactions GROUP BY sector, stock_code"""


def run(input_csv: Path, output: Path) -> dict:
    import duckdb

    output.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "CREATE TEMPORARY TABLE transactions AS SELECT * FROM read_csv(?, header = false, auto_detect = false, "
        f"columns = {COLUMNS}, store_rejects = true)",
        [str(input_csv)],
    )
    rejected = con.execute("SELECT count(DISTINCT (scan_id, line)) FROM reject_errors").fetchone()[0]
    rows, volume, value = con.execute("SELECT count(*), sum(volume), sum(price * volume) FROM transactions").fetchone()
    for name, query in (("sectors", SECTORS), ("stocks", STOCKS)):
        con.execute(f"COPY ({query}) TO '{output / name}.csv' (FORMAT csv, HEADER false)")
    return {"rows": rows, "rejected_rows": rejected, "total_volume": int(volume or 0), "total_value": str(value or 0)}


def read_sectors(output: Path) -> dict[str, list[str]]:
    """sector -> [total_value, avg_price, total_volume, transaction_count] as written."""
    lines = (output / "sectors.csv").read_text(encoding="utf-8").splitlines()
    return {line.split(",")[0]: line.split(",")[1:] for line in lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.input, args.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
