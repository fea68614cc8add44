"""Exchange calendars from ``exchange-calendars``, one per process and exchange: the timetable's sessions and the
reports' trading days read the same calendar.

Building one takes seconds (XKRX: 3 to 7 s on a 2-core machine), and every task process that reads one (a night's
publish draws the index's trend over the sessions) would pay that again: a built calendar is kept on disk, per
exchange, years covered and library versions, and read back in a tenth of a second. The folder is
``AIRFLOW_REPORT_KIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/airflow-report-kit`` (``~/.cache/...``): the user's own,
since a kept calendar is a pickle. A calendar that cannot be read back is built again; one that cannot be kept is
only not kept.

Imports no Airflow, and ``exchange_calendars`` (which brings pandas) only on first use, so DAG files and plain
Python code may import it at parse time.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import importlib.util
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A calendar covers this year (or an earlier first year asked for) to two years ahead.
FIRST_YEAR = 2010
YEARS_AHEAD = 2
# How to see every name exchange-calendars knows, for the errors that name a wrong one.
LIST_EXCHANGES = "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())'"


def exchange_calendar(exchange: str, since: dt.date | None = None) -> Any:
    """The calendar of ``exchange`` from FIRST_YEAR (or ``since``'s year, if earlier) to two years ahead: one per
    exchange and process, whoever asks. Raises exchange-calendars' ``InvalidCalendarName`` for an unknown name."""
    import exchange_calendars

    # One calendar for a code and its aliases (NYSE is XNYS), kept under the code.
    return _built(exchange_calendars.resolve_alias(exchange), min(since.year, FIRST_YEAR) if since else FIRST_YEAR)


def cache_dir() -> Path:
    """Where built calendars are kept (see the module's docstring)."""
    if configured := os.environ.get("AIRFLOW_REPORT_KIT_CACHE_DIR"):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airflow-report-kit"


@functools.cache
def _built(exchange: str, first_year: int) -> Any:
    import exchange_calendars

    end = f"{dt.date.today().year + YEARS_AHEAD}-12-31"
    versions = "-".join(importlib.metadata.version(name) for name in ("exchange-calendars", "pandas"))
    kept = cache_dir() / f"{exchange}-{first_year}-{end}-{versions}.pickle"
    try:
        with kept.open("rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        pass
    except Exception:  # whatever is wrong with a kept calendar, building it anew mends it
        log.warning("The kept calendar %s cannot be read back; building it anew", kept, exc_info=True)
    calendar = exchange_calendars.get_calendar(exchange, start=f"{first_year}-01-01", end=end)
    _keep(calendar, kept)
    return calendar


def _keep(calendar: Any, kept: Path) -> None:
    """Write ``calendar`` to ``kept`` whole or not at all (a reader never sees half a file)."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=kept.parent, prefix=f".{kept.name}.")
    except OSError as error:
        log.warning("Could not keep the calendar in %s (%s): each process builds it", kept.parent, error)
        return
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(calendar, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, kept)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        log.warning("Could not keep the calendar as %s (%s): each process builds it", kept, error)


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
