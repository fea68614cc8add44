"""Where everything lives under the data folder: the one definition of its layout.

    <data>/incoming/                   the senders' day files
    <data>/runs/<YYYY-MM-DD>/            a night's work area: input, Flink's sinks, summary, report (RunFolder)
    <data>/restatements/<YYYY-MM-DD>/    a restatement's work area, the same files (RunFolder)
    <data>/revisions/<YYYY-MM-DD>/r<N>/  revision N of the date as published, never changed (RevisionFolder)
    <data>/revisions/<YYYY-MM-DD>/       and the date's audit trail (see .revisions)
    <data>/published/<YYYY-MM-DD>.json   which revision of the date readers see (see .published_nights)
    <data>/corrections/<YYYY-MM-DD>/     the corrected files taken up for the date, out of incoming/ (see .corrections)
    <data>/months/<YYYY-MM>/           the month to date (MonthFolder); months/_rollup/ the month job's sinks
    <data>/index.html, latest.html     the reports index (nights and months) and the latest night's link

Runs write only their work area; readers read only published revisions. So a rerun of any task
can rewrite its work area freely: what readers see changes only when a publish succeeds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report_dates import parse_month


@dataclass(frozen=True)
class NightFolder(ABC):
    """A night's files, where a run makes them (:class:`RunFolder`) or as a revision keeps them
    (:class:`RevisionFolder`): the same names in both."""

    root: Path

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
    def stock_totals_csv(self) -> Path:
        """Every stock's totals of the night (Flink's stock sink, with a header): the price-level check's figures."""
        return self.root / "stock_totals.csv"

    @property
    def checks_json(self) -> Path:
        """The plausibility checks' findings against the published history (see :mod:`.plausibility`)."""
        return self.root / "checks.json"

    @property
    def revision_json(self) -> Path:
        """Which revision of the date the report is (see :mod:`.revisions`)."""
        return self.root / "revision.json"

    @property
    @abstractmethod
    def date(self) -> str: ...

    @property
    @abstractmethod
    def data_folder(self) -> DataFolder: ...

    def read_manifest(self) -> dict[str, Any]:
        """What preparing the input recorded: rows, rejects, control totals (``control.json``)."""
        manifest: dict[str, Any] = json.loads(self.control_json.read_text(encoding="utf-8"))
        return manifest


@dataclass(frozen=True)
class RunFolder(NightFolder):
    """A run's work area for one date (``runs/<date>/`` or ``restatements/<date>/``): no reader looks here, so
    any task of any run may rewrite it. Its rendered report is published by copying it into a revision."""

    @classmethod
    def for_date(cls, data_root: Path | str, ds: str) -> RunFolder:
        return DataFolder(Path(data_root)).run(ds)

    @property
    def failure_json(self) -> Path:
        """The night's last failure (see :mod:`.failure_record`)."""
        return self.root / "failure.json"

    @property
    def staged_report_html(self) -> Path:
        """The rendered report, until a publish copies it into a revision."""
        return self.root / "report.staged.html"

    @property
    def held_preview_html(self) -> Path:
        """The staged report with a "held for approval" banner, for the person asked to approve it: served only while
        the night waits (the report readers get says nothing of a wait that is over by then)."""
        return self.root / "report.held.html"

    @property
    def date(self) -> str:
        return self.root.name

    @property
    def data_folder(self) -> DataFolder:
        return DataFolder(self.root.parent.parent)

    def reset(self) -> None:
        """Start the date afresh: nothing from an earlier run of it survives to be mistaken for this one's."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.transactions_csv.parent.mkdir(parents=True)


@dataclass(frozen=True)
class RevisionFolder(NightFolder):
    """Revision N of a date as it was published (``revisions/<date>/r<N>/``): its report, summary, and the input
    it was computed from. Written once, before it is published, and never again once readers may have seen it."""

    @property
    def number(self) -> int:
        return int(self.root.name.removeprefix("r"))

    @property
    def date(self) -> str:
        return self.root.parent.name

    @property
    def data_folder(self) -> DataFolder:
        return DataFolder(self.root.parent.parent.parent)

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"


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
    def published(self) -> Path:
        """One pointer per date, naming the revision readers see (see :mod:`.published_nights`)."""
        return self.root / "published"

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
        """The date's revisions and audit trail (see :mod:`.revisions`)."""
        return self.root / "revisions" / dt.date.fromisoformat(ds).isoformat()

    def revision(self, ds: str, number: int) -> RevisionFolder:
        return RevisionFolder(self.revisions(ds) / f"r{number}")

    def pointer(self, ds: str) -> Path:
        """Which revision of the date readers see: a file replaced in one rename(2) (see :mod:`.published_nights`)."""
        return self.published / f"{dt.date.fromisoformat(ds).isoformat()}.json"

    @property
    def corrections_taken_up(self) -> Path:
        return self.root / "corrections"

    def corrections(self, ds: str) -> Path:
        """The corrected files taken up for the date, moved out of ``incoming/`` (see :mod:`.corrections`)."""
        return self.corrections_taken_up / dt.date.fromisoformat(ds).isoformat()

    def restatement(self, ds: str) -> RunFolder:
        """Where a restatement of the date prepares its night: a work area beside the nightly one, so that a
        rerun of the night and a correction of it never write each other's files."""
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

    @property
    def revisions_root(self) -> Path:
        return self.root / "revisions"

    def input_pattern(self, revisions: Iterable[RevisionFolder], file_of: Callable[[NightFolder], Path]) -> str:
        """A regular expression for one of a night's files (``file_of(night)``) in the folders of ``revisions``:
        how the month job's filesystem source picks its files among every date's revisions."""
        folders = "|".join(f"{r.date}/r{r.number}" for r in revisions)
        return f"{re.escape(self.revisions_root.as_posix())}/({folders})/{re.escape(_in_night_folder(file_of))}"

    @staticmethod
    def report_date_pattern(file_of: Callable[[NightFolder], Path]) -> str:
        """A regular expression whose group 1 is the report date in the path of a revision's file."""
        return f"/([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})/r[0-9]+/{re.escape(_in_night_folder(file_of))}$"


def relative_link(page: Path, target: Path) -> str:
    """``target`` as a link from ``page`` (both in the data folder, which may move as a whole)."""
    return os.path.relpath(target, page.parent).replace(os.sep, "/")


def _in_night_folder(file_of: Callable[[NightFolder], Path]) -> str:
    """Where ``file_of(night)`` lies inside any night's folder."""
    night = RunFolder(Path("/"))
    return file_of(night).relative_to(night.root).as_posix()


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True
