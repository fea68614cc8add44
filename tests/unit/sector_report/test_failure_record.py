"""A night's last failure: kept for the late alert, gone when the night starts afresh."""

from __future__ import annotations

from pathlib import Path

from include.sector_report.failure_record import Failure, last_failure, record_failure
from include.sector_report.layout import RunFolder


def test_the_last_failure_is_kept_until_the_night_starts_afresh(data_root: Path) -> None:
    night = RunFolder.for_date(data_root, "2023-07-14")
    night.reset()  # (the data folder is the session's)
    assert last_failure(night) is None
    first = Failure("wait_for_input", "manual__1", "No file for 2023-07-14 in incoming/.", "2023-07-14T22:00:00+00:00")
    second = Failure("aggregate", "manual__2", "Flink: no TaskManager offered it slots.", "2023-07-14T23:00:00+00:00")
    record_failure(night, first)
    record_failure(night, second)
    assert last_failure(night) == second
    night.reset()  # preparing the input of a rerun
    assert last_failure(night) is None
