"""The exchange-session timetable against the real calendar of the Korea Exchange (exchange-calendars' XKRX)."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import TimeRestriction
from airflow_report_kit.timetables.exchange_sessions import ExchangeSessionTimetable

NIGHTLY = ExchangeSessionTimetable("XKRX", at=dt.time(23, 0), timezone="Asia/Seoul")
SEOUL = pendulum.timezone("Asia/Seoul")


def planned(timetable: ExchangeSessionTimetable, first: str, last: str) -> list[str]:
    """The session dates a backfill from ``first`` to ``last`` (both included) creates, as Airflow asks for them."""
    restriction = TimeRestriction(pendulum.parse(first), pendulum.parse(last), catchup=True)
    sessions, info = [], None
    while info := timetable.next_dagrun_info(
        last_automated_data_interval=info.data_interval if info else None, restriction=restriction
    ):
        sessions.append(info.data_interval.start.in_timezone(SEOUL).date().isoformat())
    return sessions


@pytest.mark.parametrize(
    ("first", "last", "sessions"),
    [
        # A week: no Saturday, no Sunday.
        (
            "2025-03-03",
            "2025-03-09",
            ["2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07"],
        ),  # 3 March: substitute holiday
        # Labour Day (1 May), Children's Day (5 May) and Buddha's Birthday observed (6 May).
        ("2025-05-01", "2025-05-07", ["2025-05-02", "2025-05-07"]),
        # The 2025 presidential election (3 June).
        ("2025-06-02", "2025-06-04", ["2025-06-02", "2025-06-04"]),
        # National Foundation Day, Chuseok (6-8 October) and Hangul Day: a week and a half closed but two days.
        ("2025-10-01", "2025-10-13", ["2025-10-01", "2025-10-02", "2025-10-10", "2025-10-13"]),
        # The year-end closing day (31 December) and New Year's Day.
        ("2025-12-29", "2026-01-02", ["2025-12-29", "2025-12-30", "2026-01-02"]),
    ],
)
def test_runs_are_planned_for_trading_sessions_only(first: str, last: str, sessions: list[str]) -> None:
    assert planned(NIGHTLY, first, last) == sessions


def test_a_session_runs_at_23_seoul_time_and_its_data_interval_is_the_session() -> None:
    info = NIGHTLY.run_info(dt.date(2025, 3, 5))
    assert info.run_after == pendulum.datetime(2025, 3, 5, 23, 0, tz=SEOUL)
    assert info.data_interval.start == pendulum.datetime(2025, 3, 5, 9, 0, tz=SEOUL)  # the opening bell
    assert info.data_interval.end == pendulum.datetime(2025, 3, 5, 15, 30, tz=SEOUL)
    # The first session of a year opens an hour late: the interval is the calendar's, not a fixed time.
    assert NIGHTLY.run_info(dt.date(2026, 1, 2)).data_interval.start == pendulum.datetime(2026, 1, 2, 10, tz=SEOUL)


def test_a_delay_moves_the_run_not_the_session() -> None:
    deadline = ExchangeSessionTimetable("XKRX", at=dt.time(23, 0), timezone="Asia/Seoul", delay=dt.timedelta(hours=8))
    info = deadline.run_info(dt.date(2025, 10, 2))  # the night before a week and a half of closed days
    assert info.run_after == pendulum.datetime(2025, 10, 3, 7, 0, tz=SEOUL)
    assert info.data_interval == NIGHTLY.run_info(dt.date(2025, 10, 2)).data_interval


def test_another_exchange_runs_after_its_own_close() -> None:
    new_york = ExchangeSessionTimetable("XNYS", at=dt.time(23, 0), timezone="Asia/Seoul")
    # New York closes at 16:00 on 4 March, 06:00 on 5 March in Seoul: that night's 23:00 is the first after it.
    assert new_york.run_info(dt.date(2025, 3, 4)).run_after == pendulum.datetime(2025, 3, 5, 23, 0, tz=SEOUL)
    assert planned(new_york, "2025-07-03", "2025-07-07") == ["2025-07-03", "2025-07-07"]  # 4 July


def test_without_catch_up_the_next_run_is_the_latest_session_due() -> None:
    restriction = TimeRestriction(pendulum.datetime(2020, 1, 1, tz=SEOUL), None, catchup=False)
    info = NIGHTLY.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    now = pendulum.now("UTC")
    assert info.run_after <= now
    following = NIGHTLY.next_dagrun_info(last_automated_data_interval=info.data_interval, restriction=restriction)
    assert following.run_after > now, "no session between the latest due one and the next was skipped"


def test_serialized_and_described() -> None:
    timetable = ExchangeSessionTimetable("XTKS", at=dt.time(22, 30), timezone="Asia/Tokyo", delay=dt.timedelta(hours=1))
    data = timetable.serialize()
    assert data == {"exchange": "XTKS", "at": "22:30:00", "timezone": "Asia/Tokyo", "delay_seconds": 3600.0}
    again = ExchangeSessionTimetable.deserialize(data)
    assert again.serialize() == data
    assert timetable.summary == "XTKS sessions, 22:30 Asia/Tokyo + 1:00:00"
    assert "After each XTKS trading session" in timetable.description


def test_a_manual_run_is_for_the_moment_it_was_asked_for() -> None:
    children_day = pendulum.datetime(2025, 5, 5, 0, 0, tz="UTC")
    interval = NIGHTLY.infer_manual_data_interval(run_after=children_day)
    assert interval.start == interval.end == children_day


@pytest.mark.parametrize("exchange", ["", "XK RX"])
def test_a_malformed_exchange_is_refused_when_the_dag_is_parsed(exchange: str) -> None:
    with pytest.raises(AirflowTimetableInvalid, match="is not an exchange-calendars name"):
        ExchangeSessionTimetable(exchange, at=dt.time(23, 0), timezone="Asia/Seoul").validate()
