from __future__ import annotations

import re
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder, relative_link


def test_a_date_or_a_month_cannot_name_anything_but_its_folder(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    assert data.run("2024-03-08").root == tmp_path.resolve() / "runs" / "2024-03-08"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        data.run("../2024-03-08")
    with pytest.raises(ReportError, match="expected YYYY-MM"):
        data.month("2024-03/..")


def test_the_month_jobs_patterns_pick_the_revisions_files_and_their_dates(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    rolled_up = [data.revision("2024-03-07", 1), data.revision("2024-03-08", 2)]
    pattern = re.compile(data.input_pattern(rolled_up, lambda night: night.transactions_csv))
    assert pattern.fullmatch(data.revision("2024-03-08", 2).transactions_csv.as_posix())
    assert not pattern.fullmatch(data.revision("2024-03-08", 1).transactions_csv.as_posix()), "not the one rolled up"
    assert not pattern.fullmatch(data.revision("2024-03-06", 1).transactions_csv.as_posix())
    assert not pattern.fullmatch(data.revision("2024-03-08", 2).stocks_csv.as_posix())
    assert not pattern.fullmatch(data.run("2024-03-08").transactions_csv.as_posix()), "never a work area"
    date = re.search(
        DataFolder.report_date_pattern(lambda night: night.transactions_csv),
        str(data.revision("2024-03-08", 12).transactions_csv),
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
    assert relative_link(data.index_html, data.revision("2024-03-08", 2).report_html) == (
        "revisions/2024-03-08/r2/report.html"
    )
