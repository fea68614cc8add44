"""Publishing a revision of a night, and withdrawing a night: what readers see changes here, and only here.

Publishing is three steps, in one lock with every other writer of the index:

1. **write**: the work area's rendered night becomes revision N's folder (:meth:`..revisions.Revisions.keep`),
   which no reader looks at yet; the index and ``latest`` as they will read are written beside their places;
2. **publish**: the date's pointer moves to revision N (:func:`..published_nights.pointing`), the one moment
   readers see it, and the index pages are put in place;
3. **audit**: the pointer's event is appended to the date's history.

A failure in 2 or 3 puts the pointer and the index back as they were: no line, and the next try publishes
revision N again. A try killed after the pointer moved is completed by the next one (its line first), so the
history has a line for every revision readers saw and for no other. Nothing is withdrawn to be rewritten:
runs write only their work areas.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..atomic_files import staged_writer
from ..errors import ReportError
from ..layout import DataFolder, RevisionFolder, RunFolder
from ..published_nights import pointer_event, pointing, published_nights, published_revision
from ..revisions import WITHDRAWN, Revisions, StatedRevision, complete, event_of
from .index_pages import index_pages

# Revision N's line in the date's history, but for its published_at, given the work area it is published from
# (see revisions.audit_record).
Audit = Callable[[RunFolder, int], dict[str, Any]]

log = logging.getLogger(__name__)


def publish(work: RunFolder, *, locale: str, exchange: str, audit: Audit) -> RevisionFolder:
    """Publish the night rendered in ``work`` as the revision of its date that its render chose; returns that
    revision. Publishing it again (a retry, ``publish`` cleared alone) finds it published and completes what an
    earlier try left undone; a revision older than the published one is refused."""
    number = _rendered_revision(work)
    data, revisions = work.data_folder, Revisions.of(work)
    with index_lock(data):
        complete(data, work.date)
        current = published_revision(data, work.date)
        if current is not None and current.number == number:
            if current.report_html.read_bytes() != work.staged_report_html.read_bytes():
                raise ReportError(
                    f"Revision {number} of {work.date} is already published ({current.report_html}) with another "
                    "report: clear render_report (and publish with it) to publish the night as the next revision."
                )
            _write_index(data, published_nights(data), locale=locale, exchange=exchange)
            return current
        if _withdrawn_since_rendered(data, work):
            raise ReportError(
                f"The night of {work.date} was withdrawn ({data.pointer(work.date)}) after this revision was rendered: "
                "nothing was published, so that the withdrawal stands. To publish the night again, clear render_report "
                "(and publish with it), or run the night anew."
            )
        if number < revisions.next_number():
            raise ReportError(
                f"The rendered report of {work.date} is revision {number}, but revision {revisions.next_number() - 1} "
                f"was published since ({data.pointer(work.date)}): nothing was published. Clear render_report (and "
                "publish with it) to publish this night as the next revision, if it is still what readers should see."
            )
        revision = revisions.keep(number, work)
        event = {**audit(work, number), "published_at": _now()}
        others = [night for night in published_nights(data) if night.date != work.date]
        _move_pointer(data, work.date, event, [*others, revision], locale=locale, exchange=exchange)
    return revision


def withdraw(data: DataFolder, date: str, *, reason: str, by: str, locale: str, exchange: str) -> RevisionFolder:
    """Take the date's night away from readers, on an operator's word: its line in the history says who and why.
    Returns the revision withdrawn (kept, as every revision). A night not published is an error that says so."""
    if not reason.strip():
        raise ReportError(f"Withdrawing the night of {date} needs a reason: it is recorded in its history.")
    with index_lock(data):
        complete(data, date)
        current = published_revision(data, date)
        if current is None:
            raise ReportError(f"The night of {date} is not published ({data.pointer(date)}): nothing to withdraw.")
        event = {"event": WITHDRAWN, "date": date, "revision": current.number, "reason": reason, "by": by}
        others = [night for night in published_nights(data) if night.date != date]
        withdrawn_at = dt.datetime.now(dt.UTC).isoformat()  # to the microsecond: see _withdrawn_since_rendered
        _move_pointer(data, date, {**event, "withdrawn_at": withdrawn_at}, others, locale=locale, exchange=exchange)
    return current


def _move_pointer(
    data: DataFolder,
    date: str,
    event: dict[str, Any],
    nights: list[RevisionFolder],
    *,
    locale: str,
    exchange: str,
) -> None:
    """Point ``date`` at ``event`` with the index of ``nights``, and record the event; all or nothing (the lock
    held)."""
    staged = _stage_index(data, nights, locale=locale, exchange=exchange)
    try:
        with pointing(data, date, event):
            _put_in_place(staged)
            Revisions(data.revisions(date)).record(event)
    except BaseException:
        _discard(staged)
        _restore_index(data, locale=locale, exchange=exchange)
        raise


def _withdrawn_since_rendered(data: DataFolder, work: RunFolder) -> bool:
    """The date's last event is a withdrawal made after ``work``'s report was rendered: publishing it would undo a
    person's decision with a revision made before it (a restatement already running when the night was withdrawn)."""
    event = pointer_event(data, work.date)
    if event is None or event_of(event) != WITHDRAWN:
        return False
    # The report file's time, not revision.json's (to the second): a render and a withdrawal can share a second.
    rendered = dt.datetime.fromtimestamp(work.staged_report_html.stat().st_mtime, dt.UTC)
    return dt.datetime.fromisoformat(event["withdrawn_at"]) >= rendered


def _rendered_revision(work: RunFolder) -> int:
    stated = StatedRevision.read(work)
    if not work.staged_report_html.is_file() or stated is None:
        raise ReportError(
            f"The night of {work.date} has no rendered report to publish ({work.staged_report_html}): "
            "clear render_report (and publish with it) to render it again."
        )
    return stated.number


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def rewrite_index(data: DataFolder, *, locale: str, exchange: str) -> list[Path]:
    """Rewrite the index (a month's report was written); returns its pages."""
    with index_lock(data):
        _write_index(data, published_nights(data), locale=locale, exchange=exchange)
    return [data.index_html, data.latest_html]


def _restore_index(data: DataFolder, *, locale: str, exchange: str) -> None:
    """The index of what is published, after a publication was undone (the lock held); its own failure is logged,
    the publication's error is the one to raise (what failed may be the index itself)."""
    try:
        _write_index(data, published_nights(data), locale=locale, exchange=exchange)
    except Exception:  # noqa: BLE001 - the publication's own error is the one to raise
        log.exception("The index could not be rewritten after an undone publication in %s", data.root)


def _write_index(data: DataFolder, nights: list[RevisionFolder], *, locale: str, exchange: str) -> None:
    staged = _stage_index(data, nights, locale=locale, exchange=exchange)
    try:
        _put_in_place(staged)
    finally:
        _discard(staged)


# An index page written beside its place, and its place; None for a page to take away (latest, with no night).
StagedPage = tuple[Path | None, Path]


def _stage_index(data: DataFolder, nights: list[RevisionFolder], *, locale: str, exchange: str) -> list[StagedPage]:
    """The index pages of ``nights`` written beside their places, not yet in place."""
    pages = index_pages(data, sorted(nights, key=lambda night: night.date), locale=locale, exchange=exchange)
    staged: list[StagedPage] = []
    try:
        for path, html in pages.items():
            with staged_writer(path) as (out, temporary):
                out.write(html)
            staged.append((temporary, path))
    except BaseException:
        _discard(staged)
        raise
    if data.latest_html not in pages:
        staged.append((None, data.latest_html))
    return staged


def _put_in_place(staged: list[StagedPage]) -> None:
    for temporary, path in staged:
        if temporary is None:
            path.unlink(missing_ok=True)
        else:
            os.replace(temporary, path)


def _discard(staged: list[StagedPage]) -> None:
    """Remove the pages still beside their places (none once put in place)."""
    for temporary, _ in staged:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


@contextmanager
def index_lock(data: DataFolder) -> Iterator[None]:
    """One writer of the index and the pointers at a time: two nights (a backfill, a rerun, a restatement) or a month
    may publish together. Whoever holds it first removes what a writer killed while holding it left beside the
    pages and pointers (written beside their places, never read): no one else can be writing them."""
    data.root.mkdir(parents=True, exist_ok=True)
    with open(data.root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for page in (data.index_html, data.latest_html):
            for leftover in data.root.glob(f".{page.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
        for leftover in data.published.glob(".*") if data.published.is_dir() else ():
            leftover.unlink(missing_ok=True)
        yield
