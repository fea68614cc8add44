"""Exchange calendars: which names are exchanges (without importing exchange-calendars for a code), and one calendar
per exchange and process, covering the years asked for.

Building a calendar takes up to seconds (XKRX about five), once per process: the years-covered checks use XNYS, the
quickest to build. tests/unit/sector_report/test_trading_days.py checks the sessions the reports read from it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import exchange_calendars
import pytest
from airflow_report_kit.calendars import FIRST_YEAR, YEARS_AHEAD, _built, exchange_calendar, is_exchange
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


@pytest.fixture
def calendars_kept_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Calendars kept in a folder of the test's own, built afresh in this process (and again after the test)."""
    monkeypatch.setenv("AIRFLOW_REPORT_KIT_CACHE_DIR", str(tmp_path / "calendars"))
    _built.cache_clear()
    yield tmp_path / "calendars"
    _built.cache_clear()


# In another process, exchange-calendars' own builder made unusable: only a kept calendar can be had there.
READ_BACK = """
import exchange_calendars
from airflow_report_kit.calendars import exchange_calendar
def refuse(*args, **kwargs):
    raise RuntimeError("built, not read back")
exchange_calendars.get_calendar = refuse
print(exchange_calendar("NYSE").sessions_in_range("2024-12-23", "2024-12-27").strftime("%Y-%m-%d").tolist())
"""


def test_a_built_calendar_is_kept_and_another_process_reads_it_back(calendars_kept_in: Path) -> None:
    calendar = exchange_calendar("XNYS")
    [kept] = calendars_kept_in.glob("XNYS-*.pickle")
    assert kept.name.startswith(f"XNYS-{FIRST_YEAR}-{dt.date.today().year + YEARS_AHEAD}-12-31-")
    environ = {**os.environ, "AIRFLOW_REPORT_KIT_CACHE_DIR": str(calendars_kept_in)}
    done = subprocess.run([sys.executable, "-c", READ_BACK], env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    sessions = calendar.sessions_in_range("2024-12-23", "2024-12-27").strftime("%Y-%m-%d").tolist()
    assert done.stdout.strip() == str(sessions) == "['2024-12-23', '2024-12-24', '2024-12-26', '2024-12-27']"


def test_a_kept_calendar_that_cannot_be_read_back_is_built_anew_and_kept_whole(calendars_kept_in: Path) -> None:
    exchange_calendar("XNYS")
    [kept] = calendars_kept_in.glob("XNYS-*.pickle")
    kept.write_bytes(b"half a pickle")
    _built.cache_clear()
    assert exchange_calendar("XNYS").first_session.date() == dt.date(FIRST_YEAR, 1, 4)
    assert kept.read_bytes() != b"half a pickle"
    assert [path.name for path in calendars_kept_in.iterdir()] == [kept.name], "no temporary file is left"


def test_a_calendar_that_cannot_be_kept_is_only_not_kept(calendars_kept_in: Path) -> None:
    calendars_kept_in.parent.mkdir(exist_ok=True)
    calendars_kept_in.write_text("a file where the folder should be")
    assert exchange_calendar("XNYS").first_session.date() == dt.date(FIRST_YEAR, 1, 4)
