"""Where one run's files live: everything for a logical date sits under ``<data_root>/runs/<ds>/``.

One folder per date keeps reruns idempotent (a rerun replaces, never appends) and
keeps two dates from ever touching each other's files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

# The business day of a run is its logical date in Seoul, where the market and the readers are.
SEOUL = ZoneInfo("Asia/Seoul")


def report_date_of(moment: dt.datetime | str) -> dt.date:
    """The business day of a run: its logical date (or, without one, its run-after time) in Seoul."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(SEOUL).date()


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# mkstemp creates files readable by their owner only; a published file gets the usual mode, so that
# other users (a Flink cluster's, a web server's) can read it, as with any file this process creates.
FILE_MODE = _file_mode()


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @classmethod
    def for_date(cls, data_root: Path | str, ds: str) -> RunFolder:
        # fromisoformat also refuses anything path-like, so ds cannot escape data_root.
        day = dt.date.fromisoformat(ds)
        return cls(Path(data_root).resolve() / "runs" / day.isoformat())

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
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def date(self) -> str:
        return self.root.name

    def read_manifest(self) -> dict:
        """What preparing the input recorded: rows, rejects, control totals (``control.json``)."""
        return json.loads(self.control_json.read_text(encoding="utf-8"))

    def earlier_published(self, count: int) -> list[RunFolder]:
        """The ``count`` latest earlier dates with a published (validated) summary, oldest first."""
        earlier = sorted(
            folder.name
            for folder in self.root.parent.iterdir()
            if folder.name < self.root.name and (folder / "summary.json").is_file()
        )
        return [RunFolder(self.root.parent / name) for name in earlier[-count:]] if count else []

    def reset(self) -> None:
        """Start the date afresh: nothing from an earlier run of it survives to be mistaken for this one's."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.transactions_csv.parent.mkdir(parents=True)


@contextmanager
def atomic_writer(path: Path, newline: str | None = None, *, binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        os.replace(tmp_name, path)
    except BaseException:
        os.unlink(tmp_name)
        raise
