"""Where everything lives under the data folder: the one definition of its layout.

    <data>/incoming/                 the senders' day files
    <data>/runs/<YYYY-MM-DD>/          one night: input, Flink's sinks, summary, report (RunFolder); its latest revision
    <data>/revisions/<YYYY-MM-DD>/     every revision published for the date, and its audit trail (see .revisions)
    <data>/restatements/<YYYY-MM-DD>/  a corrected file's night being prepared beside the published one (RunFolder)
    <data>/corrections/<YYYY-MM-DD>/   the corrected files taken up for the date, out of incoming/ (see .corrections)
    <data>/months/<YYYY-MM>/         the month to date (MonthFolder); months/_rollup/ the month job's sinks
    <data>/index.html, latest.html   the reports index (nights and months) and the latest night's link

One folder per date keeps reruns idempotent (a rerun replaces, never appends) and keeps two
dates from ever touching each other's files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report_dates import parse_month


@dataclass(frozen=True)
class RunFolder:
    """One night's files. Its report is published when ``report.html`` appears (see :mod:`.published_nights`)."""

    root: Path

    @classmethod
    def for_date(cls, data_root: Path | str, ds: str) -> RunFolder:
        return DataFolder(Path(data_root)).run(ds)

    @property
    def transactions_csv(self) -> Path:
        return self.root / "input" / "transactions.csv"

    @property
    def stocks_csv(self) -> Path:
        return self.root / "input" / "stocks.csv"

    @property
    def control_json(self) -> Path:
        return self.root / "control.json"

    @property
    def rejected_csv(self) -> Path:
        return self.root / "rejected.csv"

    @property
    def sink_dir(self) -> Path:
        return self.root / "sink"

    @property
    def sector_sink_dir(self) -> Path:
        return self.sink_dir / "sectors"

    @property
    def stock_sink_dir(self) -> Path:
        return self.sink_dir / "stocks"

    @property
    def validation_json(self) -> Path:
        return self.root / "validation.json"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def failure_json(self) -> Path:
        """The night's last failure (see :mod:`.failure_record`)."""
        return self.root / "failure.json"

    @property
    def revision_json(self) -> Path:
        """Which revision of the date the rendered report is (see :mod:`.revisions`)."""
        return self.root / "revision.json"

    @property
    def staged_report_html(self) -> Path:
        """The rendered report before it is published: no reader looks here."""
        return self.root / "report.staged.html"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def date(self) -> str:
        return self.root.name

    @property
    def data_folder(self) -> DataFolder:
        return DataFolder(self.root.parent.parent)

    def read_manifest(self) -> dict[str, Any]:
        """What preparing the input recorded: rows, rejects, control totals (``control.json``)."""
        manifest: dict[str, Any] = json.loads(self.control_json.read_text(encoding="utf-8"))
        return manifest

    def reset(self) -> None:
        """Start the date afresh: nothing from an earlier run of it survives to be mistaken for this one's."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.transactions_csv.parent.mkdir(parents=True)


@dataclass(frozen=True)
class MonthFolder:
    root: Path

    @classmethod
    def for_month(cls, data_root: Path | str, month: str) -> MonthFolder:
        return DataFolder(Path(data_root)).month(month)

    @property
    def month(self) -> str:
        return self.root.name

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"


@dataclass(frozen=True)
class DataFolder:
    """The data folder (``SECTOR_REPORT_DATA_DIR``) and the places in it."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    @property
    def incoming(self) -> Path:
        """Where senders drop the day's file when no input_path is given."""
        return self.root / "incoming"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def months(self) -> Path:
        return self.root / "months"

    @property
    def index_html(self) -> Path:
        return self.root / "index.html"

    @property
    def latest_html(self) -> Path:
        return self.root / "latest.html"

    @property
    def rollup(self) -> Path:
        """Where the month job writes: one job for every month a run rolls up (runs never overlap)."""
        return self.months / "_rollup"

    def run(self, ds: str) -> RunFolder:
        # fromisoformat also refuses anything path-like, so ds cannot escape the data folder.
        return RunFolder(self.runs / dt.date.fromisoformat(ds).isoformat())

    def revisions(self, ds: str) -> Path:
        """The date's published revisions (see :mod:`.revisions`)."""
        return self.root / "revisions" / dt.date.fromisoformat(ds).isoformat()

    @property
    def corrections_taken_up(self) -> Path:
        return self.root / "corrections"

    def corrections(self, ds: str) -> Path:
        """The corrected files taken up for the date, moved out of ``incoming/`` (see :mod:`.corrections`)."""
        return self.corrections_taken_up / dt.date.fromisoformat(ds).isoformat()

    def restatement(self, ds: str) -> RunFolder:
        """Where a restatement of the date prepares its night: a run folder beside ``runs/``, whose contents
        take the published night's place in one step (:func:`.atomic_files.exchange_folders`)."""
        return RunFolder(self.root / "restatements" / dt.date.fromisoformat(ds).isoformat())

    def month(self, month: str) -> MonthFolder:
        return MonthFolder(self.months / parse_month(month).strftime("%Y-%m"))

    def run_folders(self) -> list[RunFolder]:
        """Every date's folder, oldest first."""
        if not self.runs.is_dir():
            return []
        return [self.run(folder.name) for folder in sorted(self.runs.iterdir()) if _is_date(folder.name)]

    def month_folders(self) -> list[MonthFolder]:
        if not self.months.is_dir():
            return []
        return [self.month(f.name) for f in sorted(self.months.iterdir()) if re.fullmatch(r"\d{4}-\d{2}", f.name)]

    def input_pattern(self, days: Iterable[str], file_of: Callable[[RunFolder], Path]) -> str:
        """A regular expression for one of the run folders' files (``file_of(run)``) in the folders of ``days``:
        how the month job's filesystem source picks its files among the run folders."""
        return f"{re.escape(self.runs.as_posix())}/({'|'.join(days)})/{re.escape(_in_run_folder(file_of))}"

    @staticmethod
    def report_date_pattern(file_of: Callable[[RunFolder], Path]) -> str:
        """A regular expression whose group 1 is the report date in the path of a run folder's file."""
        return f"/([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})/{re.escape(_in_run_folder(file_of))}$"


def relative_link(page: Path, target: Path) -> str:
    """``target`` as a link from ``page`` (both in the data folder, which may move as a whole)."""
    return os.path.relpath(target, page.parent).replace(os.sep, "/")


def _in_run_folder(file_of: Callable[[RunFolder], Path]) -> str:
    """Where ``file_of(run)`` lies inside any run folder."""
    run = RunFolder(Path("/"))
    return file_of(run).relative_to(run.root).as_posix()


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True
