"""The exchange's trading sessions, from the ``exchange-calendars`` library (``XKRX``: the Korea Exchange).

Which days are trading days decides which nights are expected: the month to date counts only
sessions as missing, and the trend charts space the sessions evenly (a weekend is no gap, a
session without a published report is). Building a calendar takes about a second, so each
process builds one per exchange, on first use, shared with the nightly DAG's timetable.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
from pathlib import Path
from typing import Any

from .errors import ReportError

# The calendar covers 2010 (or the first year asked about, if earlier) to two years ahead: the span of the
# report kit's timetable, so that exchange-calendars' own cache (by name and span) builds one per process.
_FIRST_YEAR = 2010
_YEARS_AHEAD = 2


# How to see every name exchange-calendars knows, for the errors that name a wrong one.
LIST_EXCHANGES = "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())'"


def is_exchange(name: str) -> bool:
    """Whether exchange-calendars has a calendar called ``name``. Its exchanges' codes are the names of its
    modules (``exchange_calendar_xkrx``), seen without importing it (and pandas) when a DAG is parsed; any
    other name (an alias such as ``NYSE``) is looked up in the library itself."""
    spec = importlib.util.find_spec("exchange_calendars")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    if name.isalnum() and name.isupper() and folder and (folder / f"exchange_calendar_{name.lower()}.py").is_file():
        return True
    import exchange_calendars

    return name in exchange_calendars.get_calendar_names()


def unknown_exchange(name: str) -> ReportError:
    return ReportError(
        f"SECTOR_REPORT_EXCHANGE={name!r} is not an exchange calendar of exchange-calendars (e.g. XKRX for the "
        f"Korea Exchange, XNYS for New York, XTKS for Tokyo); list them with: {LIST_EXCHANGES}"
    )


def sessions_between(exchange: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The exchange's trading days from ``first`` to ``last``, both included."""
    if last < first:
        return []
    sessions = _calendar(exchange, min(first.year, _FIRST_YEAR)).sessions_in_range(first, last)
    return [session.date() for session in sessions]


def timeline(exchange: str, days: list[str]) -> list[str]:
    """The dates a chart of ``days`` (ISO dates) spaces evenly: every session from the first of them to the
    last, and the days themselves (a report may have been published for a day the exchange was closed)."""
    if not days:
        return []
    first, last = dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))
    return sorted({*days, *(day.isoformat() for day in sessions_between(exchange, first, last))})


@functools.cache
def _calendar(exchange: str, first_year: int) -> Any:
    import exchange_calendars

    try:
        return exchange_calendars.get_calendar(
            exchange, start=f"{first_year}-01-01", end=f"{dt.date.today().year + _YEARS_AHEAD}-12-31"
        )
    except exchange_calendars.errors.InvalidCalendarName:
        raise unknown_exchange(exchange) from None
