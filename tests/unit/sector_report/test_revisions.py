"""A date's revisions: kept for good, recorded once, and the input each was made from."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder
from include.sector_report.revisions import (
    Revisions,
    adopt_unrecorded,
    night_recipients,
    published_input_sha256,
    sector_changes,
)
from include.sector_report.summary import NightSummary
from tests.support.nights import drop, published_from, published_night, sector

SECTORS = [sector("semiconductor", "1000.00", volume=10, count=2), sector("internet", "50.00", volume=5, count=1)]


def test_a_published_revision_is_recorded_once_and_never_rewritten(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    run = published_night(tmp_path, "2024-03-08", SECTORS)
    revisions = Revisions.of(run)
    [record] = revisions.history()
    assert record["revision"] == 1
    assert record["input_files"][0]["name"] == "transactions_2024-03-08.csv"
    assert revisions.report_html(1).read_bytes() == run.report_html.read_bytes()
    assert not revisions.record({**record, "published_at": "later"}), "a retry records nothing more"
    run.staged_report_html.write_text("another rendering")
    with pytest.raises(ReportError, match="Revision 1 of 2024-03-08 is already published"):
        revisions.keep(1, run.staged_report_html, run.summary_json)
    assert revisions.report_html(1).read_bytes() == run.report_html.read_bytes()
    assert data.revisions("2024-03-08") == revisions.root


def test_the_changes_of_a_revision_are_per_sector_absolute_and_in_percent(tmp_path: Path) -> None:
    before = published_night(tmp_path, "2024-03-08", SECTORS)
    old = NightSummary.read(before)
    corrected = [sector("semiconductor", "1250.50", volume=12, count=3), sector("bank", "10.00")]
    new = NightSummary.read(published_night(tmp_path, "2024-03-09", corrected))
    changes = {c.sector: c for c in sector_changes(old, new)}
    assert list(changes) == ["semiconductor", "bank", "internet"], "the new order, a sector gone last"
    semis = changes["semiconductor"]
    assert semis.difference("total_value") == Decimal("250.50")
    assert semis.percent("total_value") == Decimal("25.05")
    assert (semis.difference("total_volume"), semis.difference("transaction_count")) == (2, 1)
    assert changes["internet"].difference("total_value") == Decimal("-50.00")
    assert changes["internet"].percent("total_value") == Decimal(-100)
    assert changes["bank"].percent("total_value") is None, "nothing to compare a new sector with"
    assert all(c.changed for c in changes.values())


def test_a_correction_mail_goes_to_whoever_an_earlier_revision_went_to(tmp_path: Path) -> None:
    run = published_night(tmp_path, "2024-03-08", SECTORS)
    revisions = Revisions.of(run)
    first = revisions.latest()
    assert first is not None
    revisions.record({**first, "revision": 2, "recipients": ["desk@example.com", "late@example.com"]})
    assert night_recipients(run, before=2) == []
    revisions.record({**first, "revision": 3, "recipients": ["desk@example.com"]})
    assert night_recipients(run, before=4) == ["desk@example.com", "late@example.com"]


def test_a_published_dates_input_is_its_latest_revisions_and_an_unpublished_date_has_none(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    assert published_input_sha256(data, "2024-03-08") == {hashlib.sha256(b"original\n").hexdigest()}
    assert published_input_sha256(data, "2024-03-11") is None


def test_a_night_published_before_revisions_were_kept_was_made_from_its_files_dropped_before_and_becomes_revision_1(
    tmp_path: Path,
) -> None:
    data = DataFolder(tmp_path)
    _, own = drop(data, "transactions_2024-03-08.csv", "original\n", age=600)
    run = published_night(tmp_path, "2024-03-08", SECTORS)
    shutil.rmtree(data.revisions("2024-03-08"))  # as a night published by an earlier release, 5 minutes ago
    published_at = time.time() - 300
    os.utime(run.report_html, (published_at, published_at))
    as_published = run.report_html.read_bytes()
    drop(data, "transactions_20240308_corrected.csv", "corrected\n", age=31)
    assert published_input_sha256(data, "2024-03-08") == {own}, "its own file, dropped before it was published"
    adopt_unrecorded(run)
    revisions = Revisions.of(run)
    [adopted] = revisions.history()
    assert (adopted["revision"], adopted["total_value"]) == (1, "1050.00")
    assert revisions.report_html(1).read_bytes() == as_published
    assert revisions.next_number() == 2
