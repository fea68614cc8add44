from __future__ import annotations

import pytest
from airflow_flink_sql.sql_script import describe, is_insert, split_statements, sql_string_literal

# A script as a DAG writes one: commented tables, a view, then the INSERTs that make the one job.
SCRIPT = """
-- The input.
CREATE TEMPORARY TABLE trades (sector STRING, price_cents BIGINT)
WITH ('connector' = 'filesystem', 'path' = '/in/trades.csv', 'format' = 'csv');
CREATE TEMPORARY TABLE per_sector (sector STRING, n BIGINT)
WITH ('connector' = 'filesystem', 'path' = '/out/per_sector', 'format' = 'csv');
CREATE TEMPORARY TABLE overall (total BIGINT)
WITH ('connector' = 'filesystem', 'path' = '/out/overall', 'format' = 'csv');
CREATE TEMPORARY VIEW priced AS SELECT sector, price_cents FROM trades WHERE price_cents > 0;
-- Both INSERTs run as one job.
INSERT OVERWRITE per_sector
SELECT sector, COUNT(*) FROM priced GROUP BY sector;
insert into overall SELECT SUM(price_cents) FROM priced;
"""


def test_semicolons_inside_literals_and_comments_do_not_split() -> None:
    script = "-- a; comment\nSELECT 'a;b''c;' AS `x;y`;\n/* ; */ INSERT INTO t SELECT 1;\n-- trailing;\n"
    assert split_statements(script) == [
        "-- a; comment\nSELECT 'a;b''c;' AS `x;y`",
        "/* ; */ INSERT INTO t SELECT 1",
    ]


def test_inserts_are_told_apart_from_other_statements() -> None:
    statements = split_statements(SCRIPT)
    assert [is_insert(s) for s in statements] == [False] * 4 + [True, True]
    assert describe(statements[4]) == "INSERT OVERWRITE per_sector"


@pytest.mark.parametrize(
    ("value", "literal"),
    [("/data/it's here.csv", "'/data/it''s here.csv'"), ("'); DROP TABLE x; --", "'''); DROP TABLE x; --'")],
)
def test_string_literals_cannot_be_closed_by_their_value(value: str, literal: str) -> None:
    assert sql_string_literal(value) == literal
    script = f"CREATE TABLE t (a STRING) WITH ('path' = {literal}); SELECT 1"
    assert len(split_statements(script)) == 2
