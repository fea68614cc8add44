"""Publishing a revision is all or nothing, its audit trail says only what readers saw, and reruns never touch it."""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.inputs import prepare_input
from include.sector_report.layout import DataFolder, RevisionFolder, RunFolder
from include.sector_report.month import month_inputs
from include.sector_report.published_nights import is_published, published_nights, published_revision
from include.sector_report.reporting.publish import publish, withdraw
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import Revisions
from include.sector_report.summary import NightSummary
from tests.support.nights import FACTS, audit, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1234567.50", volume=1234, count=6), sector("internet", "1000.00", count=3)]
CORRECTED = [sector("semiconductor", "1234000.00", volume=1230, count=5), sector("internet", "1500.25", count=4)]


def rendered_night(data_root: Path, day: str, sectors: list[dict] = SECTORS, **kwargs) -> RunFolder:
    """A night validated and rendered in its work area, not yet published: what ``publish`` starts from."""
    run = validated_night(data_root, day, sectors, **kwargs)
    render_report(run, locale="en", run_facts=FACTS)
    return run


def restated_night(data_root: Path, day: str, sectors: list[dict] = CORRECTED) -> RunFolder:
    """A corrected night rendered in the date's restatement work area."""
    return rendered_night(data_root, day, sectors, restatement=True, input_sha256="c" * 64)


def publish_en(run: RunFolder) -> RevisionFolder:
    return publish(run, locale="en", exchange="XKRX", audit=audit)


def listed(data: DataFolder) -> list[str]:
    """The nights the index links to, oldest first."""
    return sorted(re.findall(r'href="revisions/(\d{4}-\d{2}-\d{2})/r\d+/report\.html"', data.index_html.read_text()))


def lines(data: DataFolder, day: str) -> list[tuple[str, int]]:
    return [(line.get("event", "published"), line["revision"]) for line in Revisions(data.revisions(day)).history()]


def what_readers_see(data: DataFolder) -> dict[str, bytes]:
    """Every file a reader can reach: the index pages, the pointers, and the published revisions' files."""
    seen = {p.name: p.read_bytes() for p in (data.index_html, data.latest_html) if p.is_file()}
    seen |= {f"pointer {p.name}": p.read_bytes() for p in sorted(data.published.glob("*.json"))}
    for night in published_nights(data):
        seen |= {str(f.relative_to(data.root)): f.read_bytes() for f in sorted(night.root.rglob("*")) if f.is_file()}
    return seen


def assert_no_temporaries(data: DataFolder) -> None:
    assert not [p.name for p in data.root.rglob(".*") if p.name not in (".index.lock",)]


def assert_published_nowhere(data: DataFolder, day: str) -> None:
    """Not published, not in the index, latest, the next night's change and trend, nor the month."""
    assert not is_published(data, day)
    assert day not in listed(data)
    assert f"revisions/{day}/" not in data.latest_html.read_text()
    later = rendered_night(data.root, "2024-03-11")
    assert day not in later.staged_report_html.read_text(), "its change and trend skip the night"
    month = month_inputs(data.root, "2024-03", dt.date(2024, 3, 8), exchange="XKRX")
    assert day not in month.published
    assert day in month.missing


def test_publishing_writes_the_revision_moves_the_pointer_and_records_one_line(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    run = rendered_night(tmp_path, "2024-03-08")
    revision = publish_en(run)
    assert revision == data.revision("2024-03-08", 1) == published_revision(data, "2024-03-08")
    assert revision.report_html.read_bytes() == run.staged_report_html.read_bytes()
    assert NightSummary.read(revision).values_by_sector()["internet"] == Decimal("1000.00")
    assert lines(data, "2024-03-08") == [("published", 1)]
    assert json.loads(data.pointer("2024-03-08").read_text()) == Revisions.of(run).history()[-1]
    assert listed(data) == ["2024-03-08"]
    assert "url=revisions/2024-03-08/r1/report.html" in data.latest_html.read_text()
    assert_no_temporaries(data)


def test_a_publish_failing_before_the_pointer_moves_changes_nothing_readers_see(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    earlier = published_night(tmp_path, "2024-03-07", SECTORS)
    before = what_readers_see(data)
    run = rendered_night(tmp_path, "2024-03-08")
    # The index cannot be rendered: the report template is gone from a broken deployment.
    good = earlier.summary_json.read_bytes()
    earlier.summary_json.chmod(0o644)
    earlier.summary_json.write_text("{")
    with pytest.raises(json.JSONDecodeError):
        publish_en(run)
    earlier.summary_json.write_bytes(good)
    assert what_readers_see(data) == before
    assert lines(data, "2024-03-08") == []
    assert_no_temporaries(data)
    assert_published_nowhere(data, "2024-03-08")


def test_an_index_that_cannot_be_written_on_any_try_publishes_nothing_and_records_nothing(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")
    # The disk refuses the index: a folder stands where index.html goes.
    data.index_html.unlink()
    data.index_html.mkdir()
    before = what_readers_see(data)
    for _try in range(2):  # every try fails the same way, and leaves the same state
        with pytest.raises(IsADirectoryError):
            publish_en(run)
        assert what_readers_see(data) == before
        assert not is_published(data, "2024-03-08")
        assert lines(data, "2024-03-08") == [], "no line for a revision no reader saw"
        assert_no_temporaries(data)

    data.index_html.rmdir()  # the cause removed: the retry publishes revision 1, with one line
    assert publish_en(run).number == 1
    assert lines(data, "2024-03-08") == [("published", 1)]
    assert listed(data) == ["2024-03-07", "2024-03-08"]


def test_a_history_that_cannot_be_written_puts_the_pointer_and_index_back(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")
    before = what_readers_see(data)
    Revisions.of(run).history_jsonl.mkdir(parents=True)  # the audit trail cannot be appended to
    with pytest.raises(IsADirectoryError):
        publish_en(run)
    assert what_readers_see(data) == before
    Revisions.of(run).history_jsonl.rmdir()
    publish_en(run)
    assert lines(data, "2024-03-08") == [("published", 1)]


def test_publishing_a_published_revision_again_changes_nothing(tmp_path: Path) -> None:
    """A retry, or a person clearing ``publish`` alone."""
    data = DataFolder(tmp_path)
    run = rendered_night(tmp_path, "2024-03-08")
    publish_en(run)
    before = what_readers_see(data)
    assert publish_en(run).number == 1
    assert what_readers_see(data) == before
    assert lines(data, "2024-03-08") == [("published", 1)]


def test_a_rerun_of_a_published_night_is_its_next_revision_and_leaves_it_untouched_until_published(
    tmp_path: Path,
) -> None:
    """Clearing prepare_input, aggregate or render_report rewrites the work area only."""
    data = DataFolder(tmp_path)
    first = published_night(tmp_path, "2024-03-08", SECTORS)
    assert first.transactions_csv.is_file(), "the revision keeps its input"
    before = what_readers_see(data)
    # The rerun lands its input again (the work area reset; the kept revision's linked input must not follow) ...
    source = tmp_path / "transactions_2024-03-08.csv"
    source.write_text("stock_code,sector,price,volume,transaction_date\n005930,반도체,70000.00,3,2024-03-08\n")
    run = data.run("2024-03-08")
    prepare_input(run, source="file", logical_date=dt.date(2024, 3, 8), rows=0, seed=0, input_path=str(source),
                  data_root=tmp_path)  # fmt: skip
    assert run.transactions_csv.read_bytes() != first.transactions_csv.read_bytes()
    # ... and renders again: readers still see revision 1, byte for byte, until the rerun's publish.
    rerun = rendered_night(tmp_path, "2024-03-08", CORRECTED)
    assert what_readers_see(data) == before
    second = publish_en(rerun)
    assert (first.number, second.number) == (1, 2)
    assert lines(data, "2024-03-08") == [("published", 1), ("published", 2)]
    kept = {str(f.relative_to(data.root)): f.read_bytes() for f in sorted(first.root.rglob("*")) if f.is_file()}
    assert kept == {k: v for k, v in before.items() if "/r1/" in k}, "revision 1 kept as it was"


def test_a_revision_older_than_the_published_one_is_refused(tmp_path: Path) -> None:
    """A failed restatement cleared after a later one published: it must not put an older file back."""
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-08", SECTORS)
    stale = restated_night(tmp_path, "2024-03-08")  # rendered as revision 2 ...
    newer = rendered_night(tmp_path, "2024-03-08", CORRECTED[:1])  # ... and so was this one, published first
    publish_en(newer)
    before = what_readers_see(data)
    with pytest.raises(ReportError, match=r"Revision 2 of 2024-03-08 is already published .* clear render_report"):
        publish_en(stale)
    publish_en(rendered_night(tmp_path, "2024-03-08", CORRECTED[1:]))  # and a third one
    before = what_readers_see(data)
    with pytest.raises(ReportError, match=r"is revision 2, but revision 3 was published since .* Clear render_report"):
        publish_en(stale)
    assert what_readers_see(data) == before
    assert lines(data, "2024-03-08") == [("published", 1), ("published", 2), ("published", 3)]


def test_a_revision_readers_saw_is_never_rewritten(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    run = rendered_night(tmp_path, "2024-03-08")
    published = publish_en(run)
    kept = published.report_html.read_bytes()
    run.staged_report_html.write_text("another rendering that says it is revision 1")
    with pytest.raises(ReportError, match="Revision 1 of 2024-03-08 is already published"):
        publish_en(run)
    assert published.report_html.read_bytes() == kept
    with pytest.raises(ReportError, match="already published"):
        Revisions.of(run).keep(1, run)
    assert data.revision("2024-03-08", 1).report_html.read_bytes() == kept


def test_a_night_without_a_rendered_report_says_what_to_clear(tmp_path: Path) -> None:
    run = validated_night(tmp_path, "2024-03-08", SECTORS)
    with pytest.raises(ReportError, match=r"The night of 2024-03-08 has no rendered report .* clear render_report"):
        publish_en(run)
    assert not is_published(DataFolder(tmp_path), "2024-03-08")


def test_withdrawing_a_night_is_recorded_with_its_reason_and_keeps_the_revision(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    night = published_night(tmp_path, "2024-03-08", SECTORS)
    kept = night.report_html.read_bytes()
    with pytest.raises(ReportError, match="needs a reason"):
        withdraw(data, "2024-03-08", reason=" ", by="ops", locale="en", exchange="XKRX")
    withdrawn = withdraw(data, "2024-03-08", reason="yesterday's file", by="ops", locale="en", exchange="XKRX")
    assert withdrawn == night
    assert night.report_html.read_bytes() == kept
    assert lines(data, "2024-03-08") == [("published", 1), ("withdrawn", 1)]
    record = Revisions.of(night).history()[-1]
    assert (record["reason"], record["by"]) == ("yesterday's file", "ops")
    assert listed(data) == ["2024-03-07"]
    assert "url=revisions/2024-03-07/r1/report.html" in data.latest_html.read_text()
    assert_published_nowhere(data, "2024-03-08")
    with pytest.raises(ReportError, match="2024-03-08 is not published"):
        withdraw(data, "2024-03-08", reason="again", by="ops", locale="en", exchange="XKRX")
    # Published again: its next revision.
    assert publish_en(rendered_night(tmp_path, "2024-03-08")).number == 2
    withdraw(data, "2024-03-07", reason="test", by="ops", locale="en", exchange="XKRX")
    withdraw(data, "2024-03-08", reason="test", by="ops", locale="en", exchange="XKRX")
    assert not data.latest_html.exists(), "no night left: no latest"


def test_a_restatement_publishes_the_next_revision_and_keeps_the_earlier_byte_for_byte(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    first = published_night(tmp_path, "2024-03-08", SECTORS)
    kept = first.report_html.read_bytes()
    work = restated_night(tmp_path, "2024-03-08")
    assert first.report_html.read_bytes() == kept, "readers see revision 1 while revision 2 is prepared"
    second = publish_en(work)
    assert second.number == 2
    assert first.report_html.read_bytes() == kept
    assert published_revision(data, "2024-03-08") == second
    assert NightSummary.read(second).values_by_sector()["internet"] == Decimal("1500.25")
    report = second.report_html.read_text()
    assert 'data-revision="2"' in report
    assert re.search(r'href="\.\./r1/report\.html"', report)
    assert 'data-revision="2">revised (Revision 2)' in data.index_html.read_text()


def test_the_next_nights_change_and_the_index_compare_with_the_published_revision(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    publish_en(
        restated_night(tmp_path, "2024-03-07", [sector("semiconductor", "617283.75"), sector("internet", "4.00")])
    )
    later = rendered_night(tmp_path, "2024-03-08")
    html = later.staged_report_html.read_text()
    assert "+100.0%" in html, "semiconductor: 1,234,567.50 against revision 2's 617,283.75, not revision 1's"
    assert "+24900.0%" in html, "internet: 1,000.00 against revision 2's 4.00"
    assert '<td class="day">2024-03-07</td><td class="num">617,287.75</td>' in data.index_html.read_text()


def test_publication_needs_no_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NFS and CIFS have no renameat2(RENAME_EXCHANGE): publication and restatement use rename(2) only. No NFS mount
    can be had here, so every C call through ctypes (the only way Python reaches renameat2) fails instead."""

    def no_foreign_calls(*args: object, **kwargs: object) -> None:
        raise OSError("ctypes is not available on this file system")

    monkeypatch.setattr(ctypes, "CDLL", no_foreign_calls)
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-08", SECTORS)
    assert publish_en(restated_night(tmp_path, "2024-03-08")).number == 2
    withdraw(data, "2024-03-08", reason="test", by="ops", locale="en", exchange="XKRX")
    assert lines(data, "2024-03-08") == [("published", 1), ("published", 2), ("withdrawn", 2)]


def test_a_revision_rendered_before_its_night_was_withdrawn_does_not_undo_the_withdrawal(tmp_path: Path) -> None:
    """A restatement already running when a person withdrew the night."""
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-08", SECTORS)
    running = restated_night(tmp_path, "2024-03-08")
    withdraw(data, "2024-03-08", reason="under investigation", by="ops", locale="en", exchange="XKRX")
    with pytest.raises(
        ReportError, match=r"was withdrawn .* after this revision was rendered: .* the withdrawal stands"
    ):
        publish_en(running)
    assert not is_published(data, "2024-03-08")
    assert lines(data, "2024-03-08") == [("published", 1), ("withdrawn", 1)]
    # Rendered again, after the withdrawal: a person's new decision to publish.
    assert publish_en(rendered_night(tmp_path, "2024-03-08", CORRECTED)).number == 2


def test_what_a_writer_killed_in_the_lock_left_beside_the_pages_is_removed_by_the_next(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    leftovers = [data.root / ".index.html.abc.tmp", data.root / ".latest.html.def.tmp", data.published / ".x.before"]
    for leftover in leftovers:
        leftover.write_text("a try killed here")
    publish_en(rendered_night(tmp_path, "2024-03-08"))
    assert not [leftover for leftover in leftovers if leftover.exists()]
    assert_no_temporaries(data)
