from __future__ import annotations

import re
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder, RunFolder, relative_link


def test_a_date_or_a_month_cannot_name_anything_but_its_folder(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    assert data.run("2024-03-08").root == tmp_path.resolve() / "runs" / "2024-03-08"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        data.run("../2024-03-08")
    with pytest.raises(ReportError, match="expected YYYY-MM"):
        data.month("2024-03/..")


def test_the_month_jobs_patterns_pick_the_days_files_and_their_dates(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    pattern = re.compile(data.input_pattern(["2024-03-07", "2024-03-08"], lambda run: run.transactions_csv))
    assert pattern.fullmatch(data.run("2024-03-08").transactions_csv.as_posix())
    assert not pattern.fullmatch(data.run("2024-03-06").transactions_csv.as_posix())
    assert not pattern.fullmatch(data.run("2024-03-08").stocks_csv.as_posix())
    date = re.search(
        DataFolder.report_date_pattern(lambda run: run.transactions_csv), str(data.run("2024-03-08").transactions_csv)
    )
    assert date is not None
    assert date.group(1) == "2024-03-08"


def test_only_date_folders_are_nights(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    for name in ("2024-03-08", "2024-03-07", "notes"):
        (data.runs / name).mkdir(parents=True)
    assert [run.date for run in data.run_folders()] == ["2024-03-07", "2024-03-08"]


def test_links_between_pages_are_relative(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    assert relative_link(data.index_html, RunFolder.for_date(tmp_path, "2024-03-08").report_html) == (
        "runs/2024-03-08/report.html"
    )
