"""The product's aggregation script, taken apart so other SQL engines can run the same queries.

Only the connector DDL is Flink's own (``CREATE TEMPORARY TABLE ... WITH (...)``): every peer
reads each source table's file its own way, with the column list of that same DDL, then runs
the script's views and the ``SELECT`` of each ``INSERT`` as they are written. Which file or
folder a table is comes from the ``sql_params`` its ``'path'`` names, the same values the DAG
gives the Flink job.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from airflow_flink_sql.sql_script import is_insert, split_statements, sql_string_literal

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The DAGs' template search path, and the night's script on it (its tables come from sql/tables.sql there).
TEMPLATE_SEARCHPATH = PROJECT_ROOT / "include"
SCRIPT = "sql/nightly_sector_report/sector_summary.sql"

_TABLE = re.compile(r"CREATE\s+TEMPORARY\s+TABLE\s+(\w+)\s*\((.*)\)\s*WITH\s*\((.*)\)", re.I | re.S)
_PATH_PARAM = re.compile(r"'path'\s*=\s*'<(\w+)>'")
_INSERT = re.compile(r"INSERT\s+(?:OVERWRITE|INTO)\s+(\w+)\s+(SELECT\b.*)", re.I | re.S)
_VIEW = re.compile(r"CREATE\s+TEMPORARY\s+VIEW\b", re.I)


@dataclass(frozen=True)
class AggregationSql:
    columns: dict[str, list[tuple[str, str]]]  # table -> (name, SQL type) in file order
    path_params: dict[str, str]  # table -> the sql_params entry that holds its path
    views: list[str]
    queries: dict[str, str]  # sink table -> SELECT

    @property
    def sources(self) -> list[str]:
        """Tables read from files: those no INSERT writes."""
        return [table for table in self.columns if table not in self.queries]

    def path(self, table: str, sql_params: dict[str, str]) -> str:
        return sql_params[self.path_params[table]]

    def schema_ddl(self, table: str) -> str:
        return ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns[table])


class _ParamNames(dict[str, str]):
    """sql_params that render as their own names, ``<name>``: a table's 'path' says which one it is."""

    def __missing__(self, name: str) -> str:
        return f"<{name}>"


@functools.cache
def load(script: str = SCRIPT) -> AggregationSql:
    statements = [_without_comment_lines(s) for s in split_statements(render(_ParamNames(), script))]
    tables = {m.group(1): (m.group(2), m.group(3)) for s in statements if (m := _TABLE.match(s))}
    return AggregationSql(
        columns={name: _columns(body) for name, (body, _) in tables.items()},
        path_params={name: _PATH_PARAM.search(options).group(1) for name, (_, options) in tables.items()},
        views=[s for s in statements if _VIEW.match(s)],
        queries={m.group(1): m.group(2) for s in statements if is_insert(s) and (m := _INSERT.match(s))},
    )


def render(sql_params: dict[str, str], script: str = SCRIPT) -> str:
    """The script as the operator renders it: found on the DAGs' template search path, ``sql_params`` placed as
    quoted literals."""
    env = jinja2.Environment(  # noqa: S701 - SQL, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATE_SEARCHPATH), undefined=jinja2.StrictUndefined, autoescape=False
    )
    env.filters["sql_string"] = sql_string_literal
    return env.get_template(script).render(sql_params=sql_params)


def _without_comment_lines(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()


def _columns(body: str) -> list[tuple[str, str]]:
    """``a STRING, b DECIMAL(18, 2)`` -> pairs, splitting only at commas outside parentheses."""
    columns, depth, current = [], 0, ""
    for char in body + ",":
        if char == "," and depth == 0:
            name, sql_type = current.strip().split(None, 1)
            columns.append((name, " ".join(sql_type.split())))
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    return columns
