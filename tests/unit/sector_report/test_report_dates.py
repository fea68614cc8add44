from __future__ import annotations

import datetime as dt

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.report_dates import parse_month, report_date_of


def test_a_run_is_the_business_day_in_seoul() -> None:
    assert report_date_of("2024-03-07T16:00:00+00:00") == dt.date(2024, 3, 8)  # 01:00 in Seoul
    assert report_date_of(dt.datetime(2024, 3, 7, 14, 59, tzinfo=dt.UTC)) == dt.date(2024, 3, 7)


@pytest.mark.parametrize("text", ["2024-3", "2024-13", "March 2024", ""])
def test_a_month_is_yyyy_mm(text: str) -> None:
    assert parse_month("2024-03") == dt.date(2024, 3, 1)
    with pytest.raises(ReportError, match="expected YYYY-MM"):
        parse_month(text)
