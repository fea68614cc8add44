"""The dates reports are for: a run's business day, and a month as a parameter names it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .errors import ReportError

# The business day of a run is its logical date in Seoul, where the market and the readers are.
SEOUL = ZoneInfo("Asia/Seoul")


def report_date_of(moment: dt.datetime | str) -> dt.date:
    """The business day of a run: its logical date (or, without one, its run-after time) in Seoul."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(SEOUL).date()


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` as the month's first day."""
    problem = ReportError(f"Parameter month={text!r} is not a month: expected YYYY-MM, e.g. 2024-03.")
    if not re.fullmatch(r"\d{4}-\d{2}", text or ""):
        raise problem
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise problem from None
