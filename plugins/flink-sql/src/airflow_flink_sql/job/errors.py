"""Flink's own words for what went wrong: the line a person needs, not the 300-line Java trace."""

from __future__ import annotations

import re


def statement_error(exc: BaseException) -> str:
    """Flink's message for a rejected statement: the outermost one names the problem and where."""
    java = getattr(exc, "java_exception", None)  # py4j's Py4JJavaError
    text = str(java.toString()) if java is not None else str(exc)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("An error occurred")]
    return lines[0].lstrip(": ") if lines else type(exc).__name__


def root_cause(exc: BaseException) -> str:
    """The innermost Java cause's message."""
    java = getattr(exc, "java_exception", None)
    if java is not None:
        while java.getCause() is not None and not java.getCause().equals(java):
            java = java.getCause()
        return str(java.toString())
    return root_cause_of_trace(str(exc))  # pyflink's JavaException carries the trace as text


def root_cause_of_trace(trace: str) -> str:
    """The last ``Caused by:`` of a Java stack trace as text (the REST API's job exceptions are text too)."""
    causes = re.findall(r"^Caused by: (.+)$", trace, re.M)
    first_line = next((line for line in trace.splitlines() if line.strip()), "unknown error")
    return causes[-1] if causes else first_line
