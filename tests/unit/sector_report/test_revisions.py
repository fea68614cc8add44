"""A date's revisions: kept for good, recorded once, and the corrected files that reissue a night."""

from __future__ import annotations

import hashlib
import json
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import (
    Revisions,
    check_landed_as_taken_up,
    complete,
    corrections_waiting,
    night_recipients,
    pending_corrections,
    sector_changes,
    take_up,
)
from include.sector_report.summary import NightSummary
from tests.support.nights import FACTS, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1000.00", volume=10, count=2), sector("internet", "50.00", volume=5, count=1)]


def drop(data: DataFolder, name: str, text: str, age: float = 60) -> tuple[Path, str]:
    """A file in incoming/, ``age`` seconds old (settled); its SHA-256."""
    data.incoming.mkdir(parents=True, exist_ok=True)
    path = data.incoming / name
    path.write_text(text)
    modified = time.time() - age
    os.utime(path, (modified, modified))
    return path, hashlib.sha256(text.encode()).hexdigest()


def published_from(data: DataFolder, day: str, text: str) -> None:
    """The night of ``day`` published from the file ``text`` (as if landed from incoming/)."""
    published_night(data.root, day, SECTORS, input_sha256=hashlib.sha256(text.encode()).hexdigest())


def test_a_different_file_for_a_published_date_is_a_correction_and_the_same_file_is_not(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    drop(data, "transactions_2024-03-08.csv", "original\n", age=120)
    published_from(data, "2024-03-08", "original\n")
    assert pending_corrections(tmp_path) == []
    path, sha = drop(data, "transactions_20240308_corrected.csv", "corrected\n")
    [correction] = pending_corrections(tmp_path)
    assert (correction.date, correction.path, correction.file.sha256) == ("2024-03-08", path, sha)
    assert corrections_waiting(str(tmp_path)) == [{"key": f"2024-03-08:{sha}", **correction.to_json()}]
    # The original dropped again (newest again): the file the published revision was made from.
    drop(data, "transactions_2024-03-08.csv", "original\n", age=31)
    assert pending_corrections(tmp_path) == []


def test_a_file_for_a_date_never_published_or_still_being_written_is_no_correction(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    drop(data, "transactions_2024-03-11.csv", "the night's own input\n")
    assert pending_corrections(tmp_path) == []
    published_from(data, "2024-03-08", "original\n")
    drop(data, "transactions_2024-03-08.csv", "still being written", age=1)
    assert pending_corrections(tmp_path) == []
    drop(data, "transactions_2024-03-08.ctl.json", "{}", age=1)  # the sender's control file: complete
    assert [c.date for c in pending_corrections(tmp_path)] == ["2024-03-08"]


def test_a_correction_is_taken_up_once_and_again_only_by_the_run_that_took_it(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    published_from(data, "2024-03-07", "original 7\n")
    drop(data, "transactions_2024-03-08.csv", "corrected 8\n")
    drop(data, "transactions_2024-03-07.csv", "corrected 7\n")
    first = take_up(tmp_path, run_id="run-1")
    assert first is not None
    assert first.date == "2024-03-07", "the oldest date first"
    assert take_up(tmp_path, run_id="run-1") == first, "its tasks cleared, the run restates the same file"
    second = take_up(tmp_path, run_id="run-2")
    assert second is not None
    assert second.date == "2024-03-08"
    assert take_up(tmp_path, run_id="run-3") is None
    with pytest.raises(ReportError, match=r"No corrected file for 2024-03-08 waits in .*incoming.*claims\.jsonl"):
        take_up(tmp_path, run_id="run-4", date="2024-03-08")
    assert [c["run_id"] for c in map(json.loads, Revisions(data.revisions("2024-03-08")).claims_jsonl.open())] == [
        "run-2"
    ]


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


def test_a_restatement_refuses_a_file_written_over_after_it_was_taken_up(tmp_path: Path) -> None:
    published_night(tmp_path, "2024-03-08", SECTORS)
    run = DataFolder(tmp_path).run("2024-03-08")
    check_landed_as_taken_up(run, "0" * 64)
    with pytest.raises(ReportError, match="changed after it was taken up"):
        check_landed_as_taken_up(run, "1" * 64)
