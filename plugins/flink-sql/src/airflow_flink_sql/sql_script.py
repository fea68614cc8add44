"""Flink SQL script text: splitting into statements and quoting literals.

Shared by the operator (Airflow side) and the job (PyFlink side), so it imports neither.
"""

from __future__ import annotations

import re

_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_INSERT = re.compile(r"INSERT\b", re.I)


def sql_string_literal(value: object) -> str:
    """Quote ``value`` as a Flink SQL string literal: a quote inside is doubled, so it cannot end the literal."""
    return "'" + str(value).replace("'", "''") + "'"


def split_statements(script: str) -> list[str]:
    """Split a script on semicolons that are outside literals, quoted identifiers and comments."""
    statements: list[str] = []
    start = 0
    i = 0
    n = len(script)
    while i < n:
        ch = script[i]
        if ch in "'`\"":
            # A doubled quote char inside is an escaped quote; scanning on past it is the same.
            end = script.find(ch, i + 1)
            i = n if end < 0 else end + 1
        elif script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end < 0 else end + 1
        elif script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == ";":
            statements.append(script[start:i])
            start = i = i + 1
        else:
            i += 1
    statements.append(script[start:])
    return [s.strip() for s in statements if strip_leading_comments(s)]


def strip_leading_comments(statement: str) -> str:
    return _LEADING_COMMENTS.sub("", statement, count=1)


def is_insert(statement: str) -> bool:
    return bool(_INSERT.match(strip_leading_comments(statement)))


def describe(statement: str, limit: int = 80) -> str:
    """The statement's first line without comments, short enough for an error message."""
    first_line = strip_leading_comments(statement).splitlines()[0] if statement else ""
    return first_line if len(first_line) <= limit else first_line[: limit - 1] + "…"
