"""The month rollup's plain-Python side: which days it reads, and its reconciliation with the dailies."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError, ValidationFailed
from include.sector_report.layout import DataFolder, MonthFolder, RunFolder
from include.sector_report.month import MonthInputs, month_inputs, reconcile_month, revised_days, sql_params
from include.sector_report.reporting.render import render_month
from include.sector_report.revisions import Revisions
from tests.support.nights import published_night, sector

DAILY = {
    "2024-03-04": [("semiconductor", "100.50", "50.250000", 3, 2), ("biotech", "10.00", "5.000000", 2, 1)],
    "2024-03-06": [("semiconductor", "200.25", "66.750000", 4, 3)],
}


def publish_day(data_root: Path, day: str, sectors: list[tuple]) -> None:
    run = published_night(data_root, day, [sector(*s) for s in sectors])
    run.transactions_csv.write_text("")  # what the night landed: the month job reads it
    run.stocks_csv.write_text("")


def write_sinks(data_root: Path, days: list[tuple], sectors: list[tuple]) -> None:
    """The month job's output: another month's rows beside this one's must be ignored."""
    other_day = ("2024-02-29", "semiconductor", "1.00", "1.000000", 1, 1)
    other_month = ("2024-02", "semiconductor", "1.00", "1.000000", 1, 1)
    for sink, rows in (("days", [other_day, *days]), ("months", [other_month, *(("2024-03", *s) for s in sectors)])):
        folder = DataFolder(data_root).rollup / sink
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "part-0").write_text("".join(",".join(map(str, row)) + "\n" for row in rows))


@pytest.fixture
def month(tmp_path: Path) -> tuple[Path, MonthFolder, MonthInputs]:
    for day, sectors in DAILY.items():
        publish_day(tmp_path, day, sectors)
    RunFolder.for_date(tmp_path, "2024-03-05").reset()  # a run that did not publish
    as_of = dt.date(2024, 3, 7)
    return (
        tmp_path,
        MonthFolder.for_month(tmp_path, "2024-03"),
        month_inputs(tmp_path, "2024-03", as_of, exchange="XKRX"),
    )


def test_the_month_reads_the_published_nights_and_names_the_missing_sessions(month) -> None:
    data_root, folder, inputs = month
    assert inputs.published == ["2024-03-04", "2024-03-06"]
    # 1 March (Independence Movement Day) and the weekend are no sessions of the Korea Exchange.
    assert inputs.missing == ["2024-03-05", "2024-03-07"]
    assert not inputs.final
    assert inputs.revisions == [1, 1]
    params = sql_params(data_root, [inputs])
    revisions = (data_root / "revisions").resolve().as_posix()
    assert re.fullmatch(params["transactions_pattern"], f"{revisions}/2024-03-06/r1/input/transactions.csv")
    assert not re.fullmatch(params["transactions_pattern"], f"{revisions}/2024-03-05/r1/input/transactions.csv")
    assert not re.fullmatch(params["transactions_pattern"], f"{revisions}/2024-03-06/r1/input/stocks.csv")
    runs = (data_root / "runs").resolve().as_posix()
    assert not re.fullmatch(params["transactions_pattern"], f"{runs}/2024-03-06/input/transactions.csv")
    after_the_month = month_inputs(data_root, "2024-03", dt.date(2024, 5, 1), exchange="XKRX")
    assert after_the_month.missing[-1] == "2024-03-29"  # the month's last session, a Friday
    assert after_the_month.final


def test_a_month_is_final_once_its_last_session_has_passed(tmp_path: Path) -> None:
    publish_day(tmp_path, "2025-12-30", DAILY["2024-03-06"])
    # 31 December is a holiday of the Korea Exchange: the year's last session is the 30th.
    assert month_inputs(tmp_path, "2025-12", dt.date(2025, 12, 30), exchange="XKRX").final
    assert not month_inputs(tmp_path, "2025-12", dt.date(2025, 12, 29), exchange="XKRX").final


def test_a_night_published_for_a_closed_day_counts_as_published(tmp_path: Path) -> None:
    publish_day(tmp_path, "2025-05-05", DAILY["2024-03-06"])  # Children's Day, run by hand
    inputs = month_inputs(tmp_path, "2025-05", dt.date(2025, 5, 8), exchange="XKRX")
    assert inputs.published == ["2025-05-05"]
    # 1 May (Labour Day), 5 and 6 May (Children's Day, Buddha's Birthday observed) are closed.
    assert inputs.missing == ["2025-05-02", "2025-05-07", "2025-05-08"]


def test_a_month_without_published_days_or_a_bad_month_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"No night of 2024-04 is published .*published.*nothing to roll up"):
        month_inputs(tmp_path, "2024-04", dt.date(2024, 4, 30), exchange="XKRX")
    with pytest.raises(ReportError, match=r"month='2024-13' is not a month: expected YYYY-MM"):
        MonthFolder.for_month(tmp_path, "2024-13")


def test_figures_equal_to_the_dailies_are_published(month) -> None:
    data_root, folder, inputs = month
    days = [(day, *sector) for day, sectors in DAILY.items() for sector in sectors]
    write_sinks(
        data_root, days, [("semiconductor", "300.75", "60.150000", 7, 5), ("biotech", "10.00", "5.000000", 2, 1)]
    )
    summary = reconcile_month(data_root, folder, inputs)
    assert [s["sector"] for s in summary["sectors"]] == ["semiconductor", "biotech"]
    assert summary["days"][0] == {
        "date": "2024-03-04",
        "sector": "semiconductor",
        "total_value": "100.50",
        "avg_price": "50.250000",
        "total_volume": 3,
        "transaction_count": 2,
    }
    assert json.loads(folder.summary_json.read_text()) == summary


def test_a_cent_of_difference_fails_naming_both_numbers_and_publishes_nothing(month) -> None:
    data_root, folder, inputs = month
    days = [(day, *sector) for day, sectors in DAILY.items() for sector in sectors]
    days[0] = ("2024-03-04", "semiconductor", "100.51", "50.250000", 3, 2)
    write_sinks(
        data_root, days, [("semiconductor", "300.76", "60.150000", 7, 5), ("biotech", "10.00", "5.000000", 2, 1)]
    )
    with pytest.raises(ValidationFailed) as failure:
        reconcile_month(data_root, folder, inputs)
    message = str(failure.value)
    assert "2024-03-04 semiconductor: month job (Decimal('100.51')" in message
    assert "daily report (Decimal('100.50')" in message
    assert (
        "2024-03 semiconductor: month job (Decimal('300.76'), 7, 5), sum of the daily reports (Decimal('300.75'), 7, 5)"
        in message
    )
    assert not folder.summary_json.exists()


def test_the_month_names_its_revised_days_with_the_revision_rolled_up(month) -> None:
    data_root, folder, _ = month
    data = DataFolder(data_root)
    second = published_night(data_root, "2024-03-06", [sector(*s) for s in DAILY["2024-03-06"]])
    assert second.number == 2
    inputs = month_inputs(data_root, "2024-03", dt.date(2024, 3, 7), exchange="XKRX")
    assert inputs.revisions == [1, 2]
    [published_at] = [line["published_at"] for line in Revisions.of(second).published() if line["revision"] == 2]
    assert revised_days(inputs.nights(data)) == [{"date": "2024-03-06", "revision": 2, "published_at": published_at}]
    html = render_month(
        folder, {**_empty_summary(inputs), "days_revised": revised_days(inputs.nights(data))}, locale="en"
    )
    assert "Revised days: " in html.read_text()
    assert re.search(r"2024-03-06 \(Revision 2, Published at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", html.read_text())


def _empty_summary(inputs: MonthInputs) -> dict:
    return {"month": inputs.month, "final": False, "days_published": inputs.published, "days_missing": [],
            "sectors": [], "days": []}  # fmt: skip
