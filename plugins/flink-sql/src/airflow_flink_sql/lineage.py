"""What a Flink SQL script reads and writes: its filesystem tables, told apart by the statements using them.

A table created with ``'connector' = 'filesystem'`` is a dataset at its ``'path'``. INSERT targets
are outputs; the filesystem tables the INSERTs read, directly or through the script's views, are
inputs. Plain Python: the operator turns these paths into OpenLineage datasets.
"""

from __future__ import annotations

import os
import re

from airflow_flink_sql.sql_script import split_statements, strip_leading_comments

_IDENTIFIER = r"`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_$]*"
_NAME = rf"((?:{_IDENTIFIER})(?:\s*\.\s*(?:{_IDENTIFIER}))*)"
_CREATE_TABLE = re.compile(rf"CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}", re.I)
_CREATE_VIEW = re.compile(
    rf"CREATE\s+(?:TEMPORARY\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}\s.*?\bAS\b(.*)", re.I | re.S
)
_INSERT = re.compile(rf"INSERT\s+(?:INTO|OVERWRITE)\s+(?:TABLE\s+)?{_NAME}(.*)", re.I | re.S)
_OPTION = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")
_WORD = re.compile(_IDENTIFIER)
_QUOTED = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)


def filesystem_lineage(script: str) -> tuple[list[str], list[str]]:
    """The absolute paths of the filesystem tables the script reads, and of those it writes."""
    paths: dict[str, str] = {}
    views: dict[str, str] = {}
    inserts: list[tuple[str, str]] = []
    for statement in split_statements(script):
        text = strip_leading_comments(statement)
        if table := _CREATE_TABLE.match(text):
            options = {_unquote(k): _unquote(v) for k, v in _OPTION.findall(text)}
            if options.get("connector") == "filesystem" and "path" in options:
                paths[_key(table.group(1))] = os.path.abspath(options["path"])
        elif view := _CREATE_VIEW.match(text):
            views[_key(view.group(1))] = view.group(2)
        elif insert := _INSERT.match(text):
            inserts.append((_key(insert.group(1)), insert.group(2)))
    outputs = {paths[target] for target, _ in inserts if target in paths}
    read = set()
    for _, query in inserts:
        read |= _tables_read(query, views)
    inputs = {paths[name] for name in read if name in paths} - outputs
    return sorted(inputs), sorted(outputs)


def _tables_read(query: str, views: dict[str, str], seen: frozenset[str] = frozenset()) -> set[str]:
    """Every name the query mentions, with the names its views mention in turn."""
    names = {_key(word) for word in _WORD.findall(_QUOTED.sub(" ", query))}
    for name in names & views.keys() - seen:
        names |= _tables_read(views[name], views, seen | {name})
    return names


def _key(name: str) -> str:
    """A table's name as Flink compares it (case-sensitive): unquoted; the last part of a qualified name."""
    last: str = _WORD.findall(name)[-1]
    return last[1:-1].replace("``", "`") if last.startswith("`") else last


def _unquote(text: str) -> str:
    return text.replace("''", "'")
