from __future__ import annotations

import pytest
from airflow_flink_sql.sql_script import describe, is_insert, split_statements, sql_string_literal

from tests.support.package_sql import NIGHTLY_SQL, rendered_script

NIGHT = {key: f"/data/{key}" for key in ("transactions_path", "stocks_path", "sector_sink_path", "stock_sink_path")}


def test_semicolons_inside_literals_and_comments_do_not_split() -> None:
    script = "-- a; comment\nSELECT 'a;b''c;' AS `x;y`;\n/* ; */ INSERT INTO t SELECT 1;\n-- trailing;\n"
    assert split_statements(script) == [
        "-- a; comment\nSELECT 'a;b''c;' AS `x;y`",
        "/* ; */ INSERT INTO t SELECT 1",
    ]


def test_inserts_are_told_apart_from_other_statements() -> None:
    statements = split_statements(rendered_script(NIGHTLY_SQL, NIGHT))
    assert [is_insert(s) for s in statements] == [False] * 5 + [True, True]
    assert describe(statements[5]) == "INSERT OVERWRITE sector_summary"


@pytest.mark.parametrize(
    ("value", "literal"),
    [("/data/it's here.csv", "'/data/it''s here.csv'"), ("'); DROP TABLE x; --", "'''); DROP TABLE x; --'")],
)
def test_string_literals_cannot_be_closed_by_their_value(value: str, literal: str) -> None:
    assert sql_string_literal(value) == literal
    script = f"CREATE TABLE t (a STRING) WITH ('path' = {literal}); SELECT 1"
    assert len(split_statements(script)) == 2
