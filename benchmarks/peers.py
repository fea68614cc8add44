"""The same aggregation on the peer engines, one engine per process (run by ``benchmarks.engines``).

    python -m benchmarks.peers duckdb --input transactions.csv --output out/

DuckDB and PySpark run the product script's own queries (``benchmarks.aggregation_sql``);
pandas, which has no SQL, does the same two group-bys in code. Each writes every sink as
``<output>/<sink table>/part-0.csv`` without a header, like Flink's filesystem sink, so one
reader compares them all. Money stays exact everywhere: DECIMAL in the SQL engines, integer
cents in pandas.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.aggregation_sql import load

ENGINES = ("duckdb", "pyspark", "pandas")
PANDAS_CHUNK_ROWS = 2_000_000


def run_duckdb(input_csv: Path, output: Path) -> None:
    import duckdb

    sql = load()
    con = duckdb.connect()
    columns = "{" + ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in sql.source_columns) + "}"
    # Loaded once into a table, as Flink reads the file once for both INSERTs.
    con.execute(
        f"CREATE TEMPORARY TABLE {sql.source_table} AS "
        f"SELECT * FROM read_csv(?, header = false, auto_detect = false, columns = {columns})",
        [str(input_csv)],
    )
    for view in sql.views:
        con.execute(view)
    for sink, query in sql.queries.items():
        part = _part_file(output, sink)
        con.execute(f"COPY ({query}) TO '{part}' (FORMAT csv, HEADER false)")


def run_pyspark(input_csv: Path, output: Path) -> None:
    from pyspark.sql import SparkSession

    sql = load()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        # The default of 200 shuffle partitions is tuned for clusters; a few dozen groups need two.
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        reader = spark.read.schema(sql.schema_ddl).option("mode", "FAILFAST")
        reader.csv(str(input_csv)).createOrReplaceTempView(sql.source_table)
        for view in sql.views:
            spark.sql(view)
        for sink, query in sql.queries.items():
            rows = spark.sql(query).collect()  # a few dozen rows: written here as one file
            _write_rows(_part_file(output, sink), [[_spark_text(value) for value in row] for row in rows])
    finally:
        spark.stop()


def run_pandas(input_csv: Path, output: Path) -> None:
    import pandas as pd

    sql = load()
    chunks = pd.read_csv(
        input_csv,
        header=None,
        names=[name for name, _ in sql.source_columns],
        dtype={"stock_code": str, "sector": str, "price": "float64", "volume": "int64", "transaction_date": str},
        # The C parser: the pyarrow one infers types before applying dtype, turning "005930" into 5930.
        engine="c",
        # Chunks keep memory flat (1e8 rows at once would need some 20 GB of Python strings).
        chunksize=PANDAS_CHUNK_ROWS,
    )
    partials = []
    for frame in chunks:
        # Prices have two decimals and stay far below 2**53 cents, so rounding the parsed float
        # to whole cents gives the exact amount; sums of int64 cents are then exact too.
        price_cents = (frame["price"] * 100).round().astype("int64")
        frame = frame.assign(price_cents=price_cents, value_cents=price_cents * frame["volume"], rows=1)
        partials.append(
            frame.groupby(["sector", "stock_code"], sort=False)[["value_cents", "price_cents", "volume", "rows"]].sum()
        )
    stocks = pd.concat(partials).groupby(level=["sector", "stock_code"], sort=False).sum()
    sectors = stocks.groupby(level="sector", sort=False).sum()
    _write_rows(
        _part_file(output, "sector_summary"),
        [
            [sector, _cents(r.value_cents), _average(r.price_cents, r.rows), int(r.volume), int(r.rows)]
            for sector, r in sectors.iterrows()
        ],
    )
    _write_rows(
        _part_file(output, "stock_summary"),
        [[sector, code, _cents(r.value_cents), int(r.volume), int(r.rows)] for (sector, code), r in stocks.iterrows()],
    )


def _cents(cents) -> str:
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _average(price_cents, rows) -> str:
    from decimal import ROUND_HALF_UP, Decimal

    return str((Decimal(int(price_cents)) / 100 / int(rows)).quantize(Decimal("0.000001"), ROUND_HALF_UP))


def _spark_text(value) -> str:
    from decimal import Decimal

    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _part_file(output: Path, sink: str) -> Path:
    folder = output / sink
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "part-0.csv"


def _write_rows(path: Path, rows: list[list]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


RUNNERS = {"duckdb": run_duckdb, "pyspark": run_pyspark, "pandas": run_pandas}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    RUNNERS[args.engine](args.input, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
