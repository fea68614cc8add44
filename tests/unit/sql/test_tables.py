"""include/sql/tables.sql: the nightly and monthly jobs read and write tables of one definition."""

from __future__ import annotations

import re

from airflow_flink_sql.sql_script import split_statements, strip_leading_comments

from tests.support.package_sql import MONTHLY_SQL, NIGHTLY_SQL, rendered_script

NIGHT = {key: f"/data/{key}" for key in ("transactions_path", "stocks_path", "sector_sink_path", "stock_sink_path")}
MONTH = {
    key: f"/data/{key}"
    for key in (
        "revisions_path",
        "transactions_pattern",
        "stocks_pattern",
        "transactions_date_pattern",
        "stocks_date_pattern",
        "day_sink_path",
        "month_sink_path",
    )
}
_TABLE = re.compile(r"CREATE TEMPORARY TABLE (\w+) \((.*)\) WITH \((.*)\)", re.S)


def tables(script: str, sql_params: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The script's tables as rendered: each one's columns and WITH options, comments left out."""
    found = {}
    for statement in split_statements(rendered_script(script, sql_params)):
        if match := _TABLE.fullmatch(strip_leading_comments(statement)):
            name, columns, options = match.groups()
            lines = [line.strip().rstrip(",") for line in options.splitlines() if not line.strip().startswith("--")]
            found[name] = (
                [" ".join(column.split()) for column in columns.split(",\n")],
                dict(line.split(" = ", 1) for line in lines if line),
            )
    return found


def test_the_nightly_and_monthly_jobs_read_the_landed_input_and_write_sector_totals_alike() -> None:
    night, month = tables(NIGHTLY_SQL, NIGHT), tables(MONTHLY_SQL, MONTH)
    file_path = "file_path STRING NOT NULL METADATA FROM 'file.path' VIRTUAL"
    for source, pattern in (("transactions", "transactions_pattern"), ("stocks", "stocks_pattern")):
        night_columns, night_options = night[source]
        month_columns, month_options = month[source]
        assert month_columns == [*night_columns, file_path], "a month's rows say which day's file they are from"
        assert month_options.pop("'source.path.regex-pattern'") == f"'/data/{pattern}'"
        assert {**night_options, "'path'": ""} == {**month_options, "'path'": ""}
    assert night["transactions"][0][0] == "stock_id INT"
    night_columns, night_options = night["sector_summary"]
    for sink, period in (("day_sector_summary", "report_date STRING"), ("month_sector_summary", "report_month STRING")):
        columns, options = month[sink]
        assert columns == [period, *night_columns]
        assert {**options, "'path'": ""} == {**night_options, "'path'": ""}
    assert night["stock_summary"][1].keys() == night_options.keys()


def test_each_table_reads_or_writes_the_path_its_sql_param_names() -> None:
    paths = {name: options["'path'"] for name, (_, options) in tables(NIGHTLY_SQL, NIGHT).items()}
    assert paths == {
        "transactions": "'/data/transactions_path'",
        "stocks": "'/data/stocks_path'",
        "sector_summary": "'/data/sector_sink_path'",
        "stock_summary": "'/data/stock_sink_path'",
    }
