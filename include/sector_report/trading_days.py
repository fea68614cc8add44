"""The exchange's trading sessions, from the ``exchange-calendars`` library (``XKRX``: the Korea Exchange).

Which days are trading days decides which nights are expected: the month to date counts only
sessions as missing, and the trend charts space the sessions evenly (a weekend is no gap, a
session without a published report is). Building a calendar takes seconds, so each
process has one per exchange, shared with the nightly DAG's timetable, and built ones are
kept on disk for the next process (:mod:`airflow_report_kit.calendars`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_report_kit.calendars import LIST_EXCHANGES, exchange_calendar

from .errors import ReportError


def unknown_exchange(name: str) -> ReportError:
    return ReportError(
        f"SECTOR_REPORT_EXCHANGE={name!r} is not an exchange calendar of exchange-calendars (e.g. XKRX for the "
        f"Korea Exchange, XNYS for New York, XTKS for Tokyo); list them with: {LIST_EXCHANGES}"
    )


def sessions_between(exchange: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The exchange's trading days from ``first`` to ``last``, both included."""
    if last < first:
        return []
    sessions = _calendar(exchange, first).sessions_in_range(first, last)
    return [session.date() for session in sessions]


def timeline(exchange: str, days: list[str]) -> list[str]:
    """The dates a chart of ``days`` (ISO dates) spaces evenly: every session from the first of them to the
    last, and the days themselves (a report may have been published for a day the exchange was closed)."""
    if not days:
        return []
    first, last = dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))
    return sorted({*days, *(day.isoformat() for day in sessions_between(exchange, first, last))})


def _calendar(exchange: str, since: dt.date) -> Any:
    import exchange_calendars

    try:
        return exchange_calendar(exchange, since)
    except exchange_calendars.errors.InvalidCalendarName:
        raise unknown_exchange(exchange) from None
