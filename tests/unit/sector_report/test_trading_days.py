"""The exchange's trading days, and the error naming an exchange it does not know (which names are exchanges:
plugins/report-kit/tests/unit/test_calendars.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow_report_kit.calendars import exchange_calendar

from include.sector_report.errors import ReportError
from include.sector_report.trading_days import sessions_between, timeline, unknown_exchange


def test_an_unknown_exchange_names_the_setting_and_how_to_list_the_valid_names() -> None:
    message = str(unknown_exchange("XKRZ"))
    assert message.startswith("SECTOR_REPORT_EXCHANGE='XKRZ' is not an exchange calendar of exchange-calendars")
    assert "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())'" in message


def test_the_sessions_are_the_exchanges_and_the_timetable_reads_the_same_calendar() -> None:
    """Building XKRX takes seconds: the reports' trading days and the timetable share one per process."""
    week = sessions_between("XKRX", dt.date(2024, 2, 8), dt.date(2024, 2, 14))
    # 9-12 February 2024: the Lunar New Year holidays and a weekend.
    assert week == [dt.date(2024, 2, 8), dt.date(2024, 2, 13), dt.date(2024, 2, 14)]
    assert sessions_between("XKRX", dt.date(2024, 2, 14), dt.date(2024, 2, 8)) == []
    # What the timetable asks for, and what the reports ask for from a day on: the same calendar.
    assert exchange_calendar("XKRX") is exchange_calendar("XKRX", since=dt.date(2024, 2, 8))
    assert timeline("XKRX", ["2024-02-08", "2024-02-10"]) == ["2024-02-08", "2024-02-10"]


def test_an_unknown_exchange_is_refused_where_its_sessions_are_asked_for() -> None:
    with pytest.raises(ReportError, match="SECTOR_REPORT_EXCHANGE='XKRZ'"):
        sessions_between("XKRZ", dt.date(2024, 2, 8), dt.date(2024, 2, 14))
