"""A timetable of an exchange's trading sessions: one run per session, at a time of day after it closes.

The sessions come from ``exchange-calendars`` (``XKRX`` the Korea Exchange, ``XNYS`` New York,
``XTKS`` Tokyo, ...), which knows each exchange's weekends, holidays and one-off closures. The
scheduler, catch-up and ``airflow backfill create`` therefore only ever create runs for trading
days. A run's data interval is its session (open to close); it runs at the first ``at`` (in
``timezone``) after the session closes, plus ``delay``.

Sessions are days: a restriction (a DAG's start date, a backfill's ``--from-date`` and ``--to-date``)
takes in every session whose date lies within the dates it names, both ends included, whatever time
of day the exchange opens. A manually triggered run is not snapped to a session: it runs for the
moment it was asked for (the DAG decides what a run of a closed day does).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable
from pendulum import DateTime

from airflow_report_kit.calendars import exchange_calendar


class ExchangeSessionTimetable(Timetable):
    """Runs after each trading session of ``exchange``: at ``at`` (``timezone``) after the close, plus ``delay``.

    :param exchange: an ``exchange-calendars`` calendar name, e.g. ``XKRX``.
    :param at: the time of day of the run.
    :param timezone: the time zone of ``at``.
    :param delay: added to the run time, e.g. to check a session's report some hours after it was due.
    """

    def __init__(self, exchange: str, *, at: dt.time, timezone: str, delay: dt.timedelta = dt.timedelta(0)) -> None:
        self.exchange = exchange
        self.at = at
        self.timezone = timezone
        self.delay = delay
        after = f" + {self.delay}" if self.delay else ""
        self.description = (
            f"After each {exchange} trading session: the first {at:%H:%M} ({timezone}) after it closes{after}"
        )

    @property
    def summary(self) -> str:
        return f"{self.exchange} sessions, {self.at:%H:%M} {self.timezone}" + (f" + {self.delay}" if self.delay else "")

    def serialize(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "at": self.at.isoformat(),
            "timezone": self.timezone,
            "delay_seconds": self.delay.total_seconds(),
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(
            data["exchange"],
            at=dt.time.fromisoformat(data["at"]),
            timezone=data["timezone"],
            delay=dt.timedelta(seconds=data["delay_seconds"]),
        )

    def validate(self) -> None:
        # Only the form: checking the exchange's name would import the calendars (and pandas) at DAG parse time.
        if not self.exchange or not self.exchange.isalnum():
            raise AirflowTimetableInvalid(f"Exchange {self.exchange!r} is not an exchange-calendars name, e.g. XKRX.")
        try:
            pendulum.timezone(self.timezone)
        except Exception as exc:  # noqa: BLE001 - pendulum's error types differ between versions
            raise AirflowTimetableInvalid(f"Time zone {self.timezone!r}: {exc}") from None

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: Any
    ) -> DagRunInfo | None:
        candidates = []
        if last_automated_data_interval is not None:
            candidates.append(self._next_session(self._session_of(last_automated_data_interval.start)))
        if restriction.earliest is not None:
            candidates.append(self._first_session_on_or_after(restriction.earliest.date()))
        if not restriction.catchup:
            # Without catch-up, only the latest session whose run is due, or the next one.
            candidates.append(self._latest_due_session(pendulum.now("UTC")))
        if not candidates:
            candidates.append(self._latest_due_session(pendulum.now("UTC")))
        session = max(candidates)
        if restriction.latest is not None and session > restriction.latest.date():
            return None
        return self.run_info(session)

    # -- sessions ------------------------------------------------------------------------------

    def run_info(self, session: dt.date) -> DagRunInfo:
        """The run of ``session``: its data interval is the session, open to close."""
        calendar = exchange_calendar(self.exchange)
        opens = _utc(calendar.session_open(session))
        closes = _utc(calendar.session_close(session))
        return DagRunInfo(run_after=self.run_after(closes), data_interval=DataInterval(opens, closes))

    def run_after(self, closes: DateTime) -> DateTime:
        """The first ``at`` in ``timezone`` at or after the close, plus the delay."""
        local = closes.in_timezone(self.timezone)
        run = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        if run < local:
            run = run.add(days=1)
        return (run + self.delay).in_timezone("UTC")

    def _session_of(self, moment: DateTime) -> dt.date:
        """The session whose data interval starts at ``moment`` (a run's logical date)."""
        return _day(exchange_calendar(self.exchange).minute_to_session(moment, direction="next"))

    def _next_session(self, session: dt.date) -> dt.date:
        return _day(exchange_calendar(self.exchange).next_session(session))

    def _first_session_on_or_after(self, day: dt.date) -> dt.date:
        return _day(exchange_calendar(self.exchange).date_to_session(day, direction="next"))

    def _latest_due_session(self, now: DateTime) -> dt.date:
        """The latest session whose run time has come (or, if none, the next)."""
        calendar = exchange_calendar(self.exchange)
        session = _day(calendar.date_to_session(now.in_timezone(str(calendar.tz)).date(), direction="previous"))
        while self.run_info(session).run_after > now:
            session = _day(calendar.previous_session(session))
        return session


def _day(session: Any) -> dt.date:
    """A calendar's session label (a pandas timestamp) as a date."""
    day: dt.date = session.date()
    return day


def _utc(timestamp: Any) -> DateTime:
    """A pandas timestamp (UTC) as a pendulum DateTime."""
    moment: DateTime = pendulum.instance(timestamp.to_pydatetime()).in_timezone("UTC")
    return moment
