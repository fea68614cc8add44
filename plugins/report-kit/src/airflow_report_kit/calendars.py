"""Exchange calendars from ``exchange-calendars``, built once per process and exchange: the timetable's sessions and
the reports' trading days read the same calendar (building XKRX takes about a second).

Imports no Airflow, and ``exchange_calendars`` (which brings pandas) only on first use, so DAG files and plain
Python code may import it at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
from pathlib import Path
from typing import Any

# A calendar covers this year (or an earlier first year asked for) to two years ahead.
FIRST_YEAR = 2010
YEARS_AHEAD = 2
# How to see every name exchange-calendars knows, for the errors that name a wrong one.
LIST_EXCHANGES = "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())'"


def exchange_calendar(exchange: str, since: dt.date | None = None) -> Any:
    """The calendar of ``exchange`` from FIRST_YEAR (or ``since``'s year, if earlier) to two years ahead: one per
    exchange and process, whoever asks. Raises exchange-calendars' ``InvalidCalendarName`` for an unknown name."""
    return _built(exchange, min(since.year, FIRST_YEAR) if since else FIRST_YEAR)


@functools.cache
def _built(exchange: str, first_year: int) -> Any:
    import exchange_calendars

    end = f"{dt.date.today().year + YEARS_AHEAD}-12-31"
    return exchange_calendars.get_calendar(exchange, start=f"{first_year}-01-01", end=end)


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
