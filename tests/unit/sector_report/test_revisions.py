"""A date's revisions: kept for good, recorded once, and the input each was made from."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from include.sector_report.layout import DataFolder
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import (
    Revisions,
    complete,
    night_recipients,
    published_input_sha256,
    sector_changes,
)
from include.sector_report.summary import NightSummary
from tests.support.nights import FACTS, drop, published_from, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1000.00", volume=10, count=2), sector("internet", "50.00", volume=5, count=1)]


def test_a_revision_keeps_its_report_summary_and_input_and_its_audit_line(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    revision = published_night(tmp_path, "2024-03-08", SECTORS)
    work = data.run("2024-03-08")
    revisions = Revisions.of(revision)
    [record] = revisions.history()
    assert (record["event"], record["revision"]) == ("published", 1)
    assert record["input_files"][0]["name"] == "transactions_2024-03-08.csv"
    assert revision.report_html.read_bytes() == work.staged_report_html.read_bytes()
    assert revision.summary_json.read_bytes() == work.summary_json.read_bytes()
    assert revision.transactions_csv.stat().st_ino == work.transactions_csv.stat().st_ino, "linked, not copied"
    assert revisions.seen() == {1}
    assert revisions.next_number() == 2
    assert data.revisions("2024-03-08") == revisions.root


def test_a_revision_no_reader_saw_is_written_again_and_its_number_used(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    work = validated_night(tmp_path, "2024-03-08", SECTORS)
    render_report(work, locale="en", run_facts=FACTS)
    revisions = Revisions.of(work)
    revisions.keep(1, work)  # a try that failed after writing it
    (revisions.root / ".r1.x.staging").mkdir()  # and one killed while writing it
    work.staged_report_html.write_text("rendered again")
    assert revisions.keep(1, work).report_html.read_text() == "rendered again"
    assert sorted(p.name for p in revisions.root.iterdir()) == ["r1"]
    assert revisions.next_number() == 1, "no reader saw revision 1"
    assert data.revision("2024-03-08", 1).summary_json.is_file()


def test_a_pointer_moved_by_a_try_killed_before_its_line_is_recorded_by_the_next_writer(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    revision = published_night(tmp_path, "2024-03-08", SECTORS)
    revisions = Revisions.of(revision)
    line = revisions.history()[0]
    revisions.history_jsonl.write_text("")  # as if the try was killed after the pointer moved
    assert revisions.seen() == {1}, "pointed at: readers may have seen it"
    complete(data, "2024-03-08")
    assert revisions.history() == [line]
    complete(data, "2024-03-08")
    assert revisions.history() == [line], "recorded once"


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
    first = revisions.history()[0]
    revisions.record({**first, "revision": 2, "recipients": ["desk@example.com", "late@example.com"]})
    assert night_recipients(run, before=2) == []
    revisions.record({**first, "revision": 3, "recipients": None})  # a release that did not record them
    revisions.record({**first, "event": "withdrawn", "revision": 3, "recipients": ["never@example.com"]})
    revisions.record({**first, "revision": 4, "recipients": ["desk@example.com"]})
    assert night_recipients(run, before=5) == ["desk@example.com", "late@example.com"]


def test_a_published_dates_input_is_its_published_revisions_and_an_unpublished_date_has_none(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    assert published_input_sha256(data, "2024-03-08") == {hashlib.sha256(b"original\n").hexdigest()}
    assert published_input_sha256(data, "2024-03-11") is None


def test_a_night_whose_release_recorded_no_input_digest_was_made_from_its_files_dropped_before(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    _, own = drop(data, "transactions_2024-03-08.csv", "original\n", age=600)
    revision = published_night(tmp_path, "2024-03-08", SECTORS)
    manifest = json.loads(revision.control_json.read_text())
    revision.control_json.write_text(json.dumps({**manifest, "input_files": []}))  # as an older release left it
    drop(data, "transactions_20240308_corrected.csv", "corrected\n", age=-60)  # dropped after it was published
    assert published_input_sha256(data, "2024-03-08") == {own}, "its own file, dropped before it was published"
