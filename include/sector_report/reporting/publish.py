"""Publishing a night, and withdrawing it: its report and the reports index change together.

The index (every published night, newest first, and the months) and ``latest`` are views of
what :mod:`..published_nights` says is published. Publishing renders them (:mod:`.index_pages`) as they
will read with the night first, then commits the night (a copy of its staged report goes into place), then puts the
pages in place. It publishes all or nothing: if anything fails, before the commit or after it,
the night is withdrawn again, and the next try publishes it from the staged report.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..atomic_files import exchange_folders, staged_writer
from ..errors import ReportError
from ..layout import DataFolder, RunFolder
from ..published_nights import commit, is_published, published_nights, withdraw
from ..revisions import Revisions, StatedRevision
from .index_pages import index_pages

# Revision N's line in the date's history, given the night folder it is published from (see revisions.audit_record).
Audit = Callable[[RunFolder, int], dict[str, Any]]

log = logging.getLogger(__name__)


def publish_night(run: RunFolder, *, locale: str, exchange: str, audit: Audit) -> list[Path]:
    """Publish ``run``'s staged report as the date's revision its render chose, kept and recorded in the date's
    history; returns the pages now published (report, index, latest, the kept revision).

    Publishing an already published night again (a retry, ``publish`` cleared alone) publishes it anew."""
    number = _staged_revision(run)
    data, revisions = run.data_folder, Revisions.of(run)

    def commit_and_record() -> None:
        revisions.keep(number, run.staged_report_html, run.summary_json)
        commit(run)
        revisions.record(audit(run, number))

    with index_lock(data):
        others = [night for night in published_nights(data) if night.date != run.date]
        try:
            _write_index(data, [*others, run], locale=locale, exchange=exchange, before=commit_and_record)
        except BaseException:
            _unpublish(run, others, locale=locale, exchange=exchange)
            raise
    return [run.report_html, data.index_html, data.latest_html, revisions.report_html(number)]


def publish_restatement(work: RunFolder, *, locale: str, exchange: str, audit: Audit) -> list[Path]:
    """Publish a restatement prepared in ``work`` as the date's next revision, in one step: the night's folder and
    ``work`` are exchanged (:func:`..atomic_files.exchange_folders`), so readers see the earlier revision or this one,
    never neither; the earlier one stays kept. Returns the pages now published, as :func:`publish_night`.

    Until that step nothing a reader sees has changed; if anything fails after it, before the revision is recorded,
    the folders are exchanged back. A retry after a try killed between the step and the record completes the
    publication instead of repeating it."""
    number = _staged_revision(work)
    data, revisions = work.data_folder, Revisions.of(work)
    night = data.run(work.date)
    pages = [night.report_html, data.index_html, data.latest_html, revisions.report_html(number)]
    with index_lock(data):
        others = [other for other in published_nights(data) if other.date != work.date]
        if _already_exchanged(night, revisions, number):
            revisions.record(audit(night, number))
            _write_index(data, [*others, night], locale=locale, exchange=exchange)
            return pages
        if not is_published(night):
            raise ReportError(
                f"The night of {work.date} is not published (withdrawn meanwhile: a rerun of its date?): its "
                "restatement publishes nothing. Once the night is published again, clear this run's tasks to "
                "restate it."
            )

        exchanged = False

        def take_its_place() -> None:
            nonlocal exchanged
            exchange_folders(work.root, night.root)
            exchanged = True

        revisions.keep(number, work.staged_report_html, work.summary_json)
        try:
            commit(work)
            _write_index(data, [*others, work], locale=locale, exchange=exchange, before=take_its_place)
            revisions.record(audit(night, number))
        except BaseException:
            if exchanged:  # the earlier revision back in place, and the index as it was
                exchange_folders(work.root, night.root)
                _restore_index(data, locale=locale, exchange=exchange)
            withdraw(work)
            raise
    # What is in ``work`` now is the earlier revision's night, kept in ``revisions/`` as it was published.
    shutil.rmtree(work.root, ignore_errors=True)
    return pages


def _staged_revision(run: RunFolder) -> int:
    stated = StatedRevision.read(run)
    if not run.staged_report_html.is_file() or stated is None:
        raise ReportError(
            f"The night of {run.date} has no rendered report to publish ({run.staged_report_html}): "
            "clear render_report (and publish with it) to render it again."
        )
    return stated.number


def _already_exchanged(night: RunFolder, revisions: Revisions, number: int) -> bool:
    """The night's folder already holds revision ``number`` as kept: an earlier try got as far as the exchange."""
    kept = revisions.report_html(number)
    stated = StatedRevision.read(night)
    return (
        stated is not None
        and stated.number == number
        and night.report_html.is_file()
        and kept.is_file()
        and night.report_html.read_bytes() == kept.read_bytes()
    )


@contextmanager
def publishing(run: RunFolder, *, locale: str, exchange: str, audit: Audit) -> Iterator[list[Path]]:
    """Publish ``run`` for the block, which does the rest of the publication (registering the pages, the
    event): if the block fails, the night is withdrawn again, so a failed publish publishes nothing."""
    pages = publish_night(run, locale=locale, exchange=exchange, audit=audit)
    try:
        yield pages
    except BaseException:
        withdraw_night(run, locale=locale, exchange=exchange)
        raise


def withdraw_night(run: RunFolder, *, locale: str, exchange: str) -> bool:
    """Unpublish ``run`` (every task that rewrites its files starts here) and rewrite the index without it;
    True if it was published."""
    with index_lock(run.data_folder):
        if not withdraw(run):
            return False
        _write_index(run.data_folder, published_nights(run.data_folder), locale=locale, exchange=exchange)
    return True


def _unpublish(run: RunFolder, others: list[RunFolder], *, locale: str, exchange: str) -> None:
    """Undo a publication that failed (the lock held): the night is withdrawn; the index is put back as it was
    if it can be (what failed may be the index itself: then the error being raised says why)."""
    if not withdraw(run):
        return
    try:
        _write_index(run.data_folder, others, locale=locale, exchange=exchange)
    except Exception:  # noqa: BLE001 - the publication's own error is the one to raise
        log.exception("The index could not be rewritten without the withdrawn night %s", run.date)


def _restore_index(data: DataFolder, *, locale: str, exchange: str) -> None:
    """The index of what is published, after a publication was undone (the lock held); its own failure is logged,
    the publication's error is the one to raise."""
    try:
        _write_index(data, published_nights(data), locale=locale, exchange=exchange)
    except Exception:  # noqa: BLE001 - the publication's own error is the one to raise
        log.exception("The index could not be rewritten after an undone publication in %s", data.root)


def rewrite_index(data: DataFolder, *, locale: str, exchange: str) -> list[Path]:
    """Rewrite the index (a month's report was written); returns its pages."""
    with index_lock(data):
        _write_index(data, published_nights(data), locale=locale, exchange=exchange)
    return [data.index_html, data.latest_html]


def _write_index(
    data: DataFolder, nights: list[RunFolder], *, locale: str, exchange: str, before: Callable[[], None] = lambda: None
) -> None:
    """Render the index pages of ``nights``, call ``before`` (the commit), then put the pages in place."""
    pages = index_pages(data, sorted(nights, key=lambda run: run.date), locale=locale, exchange=exchange)
    staged: list[tuple[Path, Path]] = []
    try:
        for path, html in pages.items():
            with staged_writer(path) as (out, temporary):
                out.write(html)
            staged.append((temporary, path))
        before()
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, path in staged:
        os.replace(temporary, path)
    if not nights:
        data.latest_html.unlink(missing_ok=True)


@contextmanager
def index_lock(data: DataFolder) -> Iterator[None]:
    """One writer of the index at a time: two nights (a backfill, a rerun) or a month may publish together."""
    data.root.mkdir(parents=True, exist_ok=True)
    with open(data.root / ".index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
