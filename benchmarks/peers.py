"""The same aggregation on the peer engines, one engine per process (run by ``benchmarks.engines``).

    python -m benchmarks.peers duckdb --params '{"transactions_path": ..., "sector_sink_path": ...}'

Every engine gets the ``sql_params`` the DAG gives the Flink job: the landed input's files and
the sink folders. DuckDB and PySpark run the product script's own views and queries
(``benchmarks.aggregation_sql``); pandas, which has no SQL, does the same grouping and join in
code. Each writes every sink as ``<sink folder>/part-0.csv`` without a header, like Flink's
filesystem sink, so one reader compares them all. Money stays exact everywhere: DECIMAL in the
SQL engines, integer cents in pandas.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.aggregation_sql import load

ENGINES = ("duckdb", "pyspark", "pandas")
PANDAS_CHUNK_ROWS = 2_000_000
_DUCKDB_TYPES = {"STRING": "VARCHAR"}


def run_duckdb(sql_params: dict[str, str]) -> None:
    import duckdb

    sql = load()
    con = duckdb.connect()
    for table in sql.sources:
        columns = ", ".join(f"'{name}': '{_DUCKDB_TYPES.get(t, t)}'" for name, t in sql.columns[table])
        # Loaded once into a table, as Flink reads each file once for both INSERTs.
        con.execute(
            f"CREATE TEMPORARY TABLE {table} AS "
            f"SELECT * FROM read_csv(?, header = false, auto_detect = false, columns = {{{columns}}})",
            [sql.path(table, sql_params)],
        )
    for view in sql.views:
        con.execute(view)
    for sink, query in sql.queries.items():
        con.execute(f"COPY ({query}) TO '{_part_file(sql, sink, sql_params)}' (FORMAT csv, HEADER false)")


def run_pyspark(sql_params: dict[str, str]) -> None:
    from pyspark.sql import SparkSession

    sql = load()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        # The default of 200 shuffle partitions is tuned for clusters; a few dozen groups need two.
        .config("spark.sql.shuffle.partitions", "2")
        # Keep the cents of cents * 0.01 (DECIMAL(36, 0) * DECIMAL(2, 2)) rather than round them away.
        .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for table in sql.sources:
            reader = spark.read.schema(sql.schema_ddl(table)).option("mode", "FAILFAST").option("escape", '"')
            reader.csv(sql.path(table, sql_params)).createOrReplaceTempView(table)
        for view in sql.views:
            spark.sql(view)
        for sink, query in sql.queries.items():
            rows = spark.sql(query).collect()  # a few dozen rows: written here as one file
            _write_rows(_part_file(sql, sink, sql_params), [[_spark_text(value) for value in row] for row in rows])
    finally:
        spark.stop()


def run_pandas(sql_params: dict[str, str]) -> None:
    import pandas as pd

    sql = load()
    stocks = pd.read_csv(
        sql.path("stocks", sql_params), header=None, names=["stock_id", "stock_code", "sector"], dtype=str
    ).astype({"stock_id": "int64"})
    chunks = pd.read_csv(
        sql.path("transactions", sql_params),
        header=None,
        names=["stock_id", "price_cents", "volume", "transaction_date"],
        usecols=["stock_id", "price_cents", "volume"],
        dtype="int64",
        # Chunks keep memory flat at 1e8 rows.
        chunksize=PANDAS_CHUNK_ROWS,
    )
    partials = []
    for frame in chunks:
        frame = frame.assign(value_cents=frame["price_cents"] * frame["volume"], rows=1)
        partials.append(frame.groupby("stock_id")[["value_cents", "price_cents", "volume", "rows"]].sum())
    totals = pd.concat(partials).groupby(level="stock_id").sum().join(stocks.set_index("stock_id"))
    sectors = totals.groupby("sector").sum(numeric_only=True)
    _write_rows(
        _part_file(sql, "sector_summary", sql_params),
        [
            [sector, _cents(r.value_cents), _average(r.price_cents, r.rows), int(r.volume), int(r.rows)]
            for sector, r in sectors.iterrows()
        ],
    )
    _write_rows(
        _part_file(sql, "stock_summary", sql_params),
        [[r.sector, r.stock_code, _cents(r.value_cents), int(r.volume), int(r.rows)] for _, r in totals.iterrows()],
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


def _part_file(sql, sink: str, sql_params: dict[str, str]) -> Path:
    folder = Path(sql.path(sink, sql_params))
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
    parser.add_argument("--params", required=True, help="the sql_params of the Flink job, as JSON")
    args = parser.parse_args(argv)
    RUNNERS[args.engine](json.loads(args.params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
