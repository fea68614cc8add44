"""What a published night is: the one answer every reader of the data folder asks for.

A night is published when its ``report.html`` exists. The report is rendered to a staged file
first; publishing puts a copy of it in place in one atomic step (``os.replace``), and every task
that rewrites a night's files withdraws it before anything else. So the reports index, ``latest``,
the trend lines, the "change" column, the month rollup, the report viewer and the daily Asset
event never see a night whose validation, render or publish failed, nor a half-replaced one.

The staged report stays after the commit: a publication that fails after it (and is withdrawn),
one killed halfway, or a person clearing only ``publish`` can always commit it again.
"""

from __future__ import annotations

import os
import shutil

from .atomic_files import staged_writer
from .layout import DataFolder, RunFolder


def is_published(run: RunFolder) -> bool:
    return run.report_html.is_file()


def published_nights(data: DataFolder) -> list[RunFolder]:
    """Every published night, oldest first."""
    return [run for run in data.run_folders() if is_published(run)]


def published_before(run: RunFolder, count: int) -> list[RunFolder]:
    """The ``count`` latest nights published before ``run``'s date, oldest first."""
    earlier = [other for other in published_nights(run.data_folder) if other.date < run.date]
    return earlier[-count:] if count else []


def commit(run: RunFolder) -> None:
    """The moment of publication: the staged report becomes the night's report. A copy, not a move: the
    staged report is still there for the next commit (a retry, a person clearing ``publish``)."""
    with run.staged_report_html.open("rb") as staged, staged_writer(run.report_html, binary=True) as (out, copy):
        shutil.copyfileobj(staged, out)
    os.replace(copy, run.report_html)


def withdraw(run: RunFolder) -> bool:
    """Unpublish the night (a rerun of its date starts here); True if it was published."""
    try:
        run.report_html.unlink()
    except FileNotFoundError:
        return False
    return True
