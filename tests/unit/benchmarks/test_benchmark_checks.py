"""The benchmark's own checks: it must run the product's real queries and refuse unequal outputs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.aggregation_sql import load
from benchmarks.engines import OutputMismatch, compare, read_output


def test_peers_get_the_product_scripts_sources_views_and_both_queries() -> None:
    sql = load()
    assert sql.sources == ["transactions", "stocks"]
    assert sql.columns["transactions"] == [
        ("stock_id", "INT"),
        ("price_cents", "BIGINT"),
        ("volume", "INT"),
        ("transaction_date", "DATE"),
    ]
    assert sql.columns["stocks"] == [("stock_id", "INT"), ("stock_code", "STRING"), ("sector", "STRING")]
    params = {"transactions_path": "/t", "stocks_path": "/s", "sector_sink_path": "/a", "stock_sink_path": "/b"}
    assert [sql.path(table, params) for table in ("transactions", "stocks", "sector_summary")] == ["/t", "/s", "/a"]
    [view] = sql.views
    assert "SUM(price_cents * volume)" in view
    assert "JOIN stocks" in view
    assert set(sql.queries) == {"sector_summary", "stock_summary"}
    assert all(q.startswith("SELECT") and "FROM stock_totals" in q for q in sql.queries.values())


def write_sinks(folder: Path, sectors: list[str], stocks: list[str]) -> dict[str, str]:
    params = {"sector_sink_path": str(folder / "sector_summary"), "stock_sink_path": str(folder / "stock_summary")}
    for sink, lines in (("sector_summary", sectors), ("stock_summary", stocks)):
        (folder / sink).mkdir(parents=True)
        (folder / sink / "part-0.csv").write_text("".join(f"{line}\n" for line in lines))
    (folder / "stock_summary" / "_SUCCESS").write_text("")  # Spark's marker is not data
    return params


STOCKS = ["semiconductor,005930,43466080.27,53,1", "semiconductor,123450,1500000.00,10,1"]


def test_an_average_from_a_double_passes_but_a_cent_of_money_does_not(tmp_path: Path) -> None:
    flink = read_output(write_sinks(tmp_path / "flink", ["semiconductor,44966080.27,485066.795000,63,2"], STOCKS))
    duckdb = read_output(write_sinks(tmp_path / "duckdb", ["semiconductor,44966080.27,485066.7949999999,63,2"], STOCKS))
    compare("duckdb", duckdb, flink)
    # Stock codes are text even when they look like numbers: two stocks, two groups.
    assert set(flink["stock_summary"]) == {("semiconductor", "005930"), ("semiconductor", "123450")}
    assert flink["sector_summary"][("semiconductor",)][0] == Decimal("44966080.27")

    off_by_a_cent = read_output(
        write_sinks(tmp_path / "spark", ["semiconductor,44966080.28,485066.795000,63,2"], STOCKS)
    )
    with pytest.raises(OutputMismatch, match=r"spark: sector_summary row \('semiconductor',\)"):
        compare("spark", off_by_a_cent, flink)


def test_a_missing_group_is_a_mismatch(tmp_path: Path) -> None:
    flink = read_output(write_sinks(tmp_path / "flink", ["semiconductor,44966080.27,485066.795000,63,2"], STOCKS))
    pandas = read_output(write_sinks(tmp_path / "pandas", ["semiconductor,44966080.27,485066.795000,63,2"], STOCKS[:1]))
    with pytest.raises(OutputMismatch, match=r"missing \[\('semiconductor', '123450'\)\]"):
        compare("pandas", pandas, flink)


def test_the_quoted_exports_hold_the_same_rows_as_the_plain_one(tmp_path: Path) -> None:
    """What the landing and whole-run benchmarks compare: the same rows, quoted, then with line breaks."""
    import benchmarks.dag_run  # noqa: F401  (it writes its quoted export with the same writer)
    from benchmarks.landing import write_shapes
    from include.sector_report.landing.land import land_csv
    from include.sector_report.layout import RunFolder

    totals = {}
    for shape, path in write_shapes(tmp_path, 2_000).items():
        run = RunFolder.for_date(tmp_path / shape.replace(" ", "_"), "2024-03-08")
        run.reset()
        result = land_csv(path, run)
        assert result.rejected_rows == 0
        totals[shape] = result.control
    assert totals["quoted"] == totals["unquoted"] == totals["quoted, line breaks"]
