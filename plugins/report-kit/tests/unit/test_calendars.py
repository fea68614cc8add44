"""Exchange calendars: which names are exchanges (without importing exchange-calendars for a code), and one calendar
per exchange and process, covering the years asked for.

Building a calendar takes up to seconds (XKRX about five), once per process: the years-covered checks use XNYS, the
quickest to build. tests/unit/sector_report/test_trading_days.py checks the sessions the reports read from it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import exchange_calendars
import pytest
from airflow_report_kit.calendars import FIRST_YEAR, YEARS_AHEAD, exchange_calendar, is_exchange
from exchange_calendars.errors import InvalidCalendarName

# The exchanges' codes, as is_exchange sees them when a DAG is parsed: the names of exchange-calendars' modules.
MODULE_CODES = sorted(
    path.stem.removeprefix("exchange_calendar_").upper()
    for path in Path(exchange_calendars.__file__).parent.glob("exchange_calendar_*.py")
)


@pytest.mark.parametrize("name", ["XKRX", "XTKS", "XNYS", "NYSE", "JPX", "24/7", "us_futures"])
def test_exchange_codes_and_the_librarys_aliases_are_exchanges(name: str) -> None:
    assert is_exchange(name) is True


@pytest.mark.parametrize(
    "name", ["XKRZ", "xkrx", "Xkrx", "XKRX ", " XKRX", "X KRX", "XKRX.py", "ＸＫＲＸ", "../x", "../XKRX", "", "nyse"]
)
def test_nothing_else_is_an_exchange(name: str) -> None:
    assert is_exchange(name) is False


def test_every_module_code_is_a_calendar_name_and_every_calendar_name_an_exchange() -> None:
    """The quick look at the modules and the library agree: neither admits a name the other does not know."""
    names = exchange_calendars.get_calendar_names()
    assert "XKRX" in MODULE_CODES
    assert sorted(set(MODULE_CODES) - set(names)) == []
    assert [name for name in names if not is_exchange(name)] == []


def test_an_unknown_exchange_has_no_calendar() -> None:
    with pytest.raises(InvalidCalendarName, match="XKRZ"):
        exchange_calendar("XKRZ")


@pytest.mark.parametrize("since", [None, dt.date(FIRST_YEAR, 1, 1), dt.date(2024, 2, 8), dt.date.today()])
def test_the_exchanges_calendar_is_one_object_for_whoever_asks_from_first_year_on(since: dt.date | None) -> None:
    assert exchange_calendar("XKRX", since=since) is exchange_calendar("XKRX")


def test_a_calendar_covers_first_year_to_two_years_ahead() -> None:
    calendar = exchange_calendar("XNYS")
    assert calendar.first_session.date() == dt.date(FIRST_YEAR, 1, 4)  # 1 January 2010 was a holiday, then a weekend
    assert calendar.last_session.year == dt.date.today().year + YEARS_AHEAD
    assert exchange_calendar("NYSE") is calendar, "an alias asks for the same calendar"


def test_an_earlier_since_gives_a_calendar_covering_that_earlier_year() -> None:
    calendar = exchange_calendar("XNYS", since=dt.date(2005, 1, 3))
    assert calendar.first_session.date() <= dt.date(2005, 1, 3)
    assert calendar.first_session.year == 2005
    assert calendar.last_session == exchange_calendar("XNYS").last_session
    assert calendar is not exchange_calendar("XNYS")
    assert exchange_calendar("XNYS", since=dt.date(2005, 12, 30)) is calendar, "one calendar per first year"
