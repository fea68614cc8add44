"""Publishing a night is all or nothing, at every point, and can always be done again."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.month import month_inputs
from include.sector_report.published_nights import commit, is_published, published_nights
from include.sector_report.reporting.publish import publish_night, publish_restatement, publishing, withdraw_night
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import Revisions
from include.sector_report.summary import NightSummary
from tests.support.nights import FACTS, audit, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1234567.50", volume=1234, count=6), sector("internet", "1000.00", count=3)]


def rendered_night(data_root: Path, day: str) -> RunFolder:
    """A night validated and rendered, not yet published: what ``publish`` starts from."""
    run = validated_night(data_root, day, SECTORS)
    render_report(run, locale="en", run_facts=FACTS)
    return run


def publish(run: RunFolder) -> list[Path]:
    return publish_night(run, locale="en", exchange="XKRX", audit=audit)


def listed(data: DataFolder) -> list[str]:
    """The nights the index links to."""
    index = data.index_html.read_text()
    return [run.date for run in data.run_folders() if f"runs/{run.date}/report.html" in index]


def assert_published_nowhere(run: RunFolder) -> None:
    """Not published, not in the index, latest, the next night's change and trend, nor the month."""
    data = run.data_folder
    assert not is_published(run)
    assert run.date not in [n.date for n in published_nights(data)]
    assert run.date not in listed(data)
    assert f"runs/{run.date}/" not in data.latest_html.read_text()
    later = rendered_night(data.root, "2024-03-11")
    assert run.date not in later.staged_report_html.read_text(), "its change and trend skip the failed night"
    for published in published_nights(data):
        for landed in (published.transactions_csv, published.stocks_csv):
            landed.write_text("")
    month = month_inputs(data.root, "2024-03", dt.date(2024, 3, 8), exchange="XKRX")
    assert run.date not in month.published
    assert run.date in month.missing


def test_a_publish_failing_before_the_commit_publishes_the_night_nowhere(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    index_before = data.index_html.read_text()
    run = rendered_night(tmp_path, "2024-03-08")
    # The index cannot be rendered: what it lists from the earlier night has gone bad meanwhile.
    good = data.run("2024-03-07").summary_json.read_text()
    data.run("2024-03-07").summary_json.write_text("{")
    with pytest.raises(json.JSONDecodeError):
        publish(run)
    assert not run.report_html.exists()
    assert run.staged_report_html.exists()
    assert data.index_html.read_text() == index_before
    assert not list(tmp_path.glob(".*.tmp"))
    data.run("2024-03-07").summary_json.write_text(good)
    assert_published_nowhere(run)


def test_a_publish_failing_after_the_commit_is_withdrawn_and_the_next_try_publishes_it(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")
    # The disk refuses the index: a folder stands where index.html goes. The report is already in place then.
    data.index_html.unlink()
    data.index_html.mkdir()
    for _try in range(2):  # every try fails the same way, and leaves the same state
        with pytest.raises(IsADirectoryError):
            publish(run)
        assert not run.report_html.exists()
        assert run.staged_report_html.exists()
    assert "runs/2024-03-08/" not in data.latest_html.read_text()

    data.index_html.rmdir()  # the cause removed: the retry publishes the night from its rendered report
    assert publish(run) == [run.report_html, data.index_html, data.latest_html, Revisions.of(run).report_html(1)]
    assert is_published(run)
    assert listed(data) == ["2024-03-07", "2024-03-08"]
    assert run.report_html.read_bytes() == run.staged_report_html.read_bytes()


def test_a_failure_after_the_pages_are_in_place_withdraws_the_night(tmp_path: Path) -> None:
    """What the publish task does after the pages (registering them, the Asset event) belongs to the publication."""
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")

    def publish_then_fail_to_register() -> None:
        with publishing(run, locale="en", exchange="XKRX", audit=audit) as pages:
            assert is_published(run)
            assert pages[0] == run.report_html
            raise ConnectionError("the API server did not take the XCom")

    with pytest.raises(ConnectionError):
        publish_then_fail_to_register()
    assert not is_published(run)
    assert listed(data) == ["2024-03-07"]
    with publishing(run, locale="en", exchange="XKRX", audit=audit):
        pass
    assert listed(data) == ["2024-03-07", "2024-03-08"]


def test_a_publication_killed_after_the_commit_is_completed_by_the_next_try(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")
    commit(run)  # what a worker killed right after the commit leaves: the report in place, the index not yet
    assert listed(data) == ["2024-03-07"]
    publish(run)
    assert listed(data) == ["2024-03-07", "2024-03-08"]
    assert "runs/2024-03-08/" in data.latest_html.read_text()


def test_publishing_a_published_night_again_publishes_it_anew(tmp_path: Path) -> None:
    """A person clears ``publish`` alone, or ``render_report`` and ``publish``."""
    data = DataFolder(tmp_path)
    run = published_night(tmp_path, "2024-03-08", SECTORS)
    first = run.report_html.read_bytes()
    publish(run)
    assert run.report_html.read_bytes() == first
    assert listed(data) == ["2024-03-08"]
    withdraw_night(run, locale="en", exchange="XKRX")  # render_report cleared: its pre_execute withdraws first
    render_report(run, locale="ko", run_facts=FACTS)
    publish(run)
    assert "섹터" in run.report_html.read_text()
    assert listed(data) == ["2024-03-08"]


def test_a_night_without_a_rendered_report_says_what_to_clear(tmp_path: Path) -> None:
    run = validated_night(tmp_path, "2024-03-08", SECTORS)
    with pytest.raises(ReportError, match=r"The night of 2024-03-08 has no rendered report .* clear render_report"):
        publish(run)
    assert not is_published(run)


def test_a_rerun_withdraws_its_night_from_the_index_first(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    rerun = published_night(tmp_path, "2024-03-08", SECTORS)
    assert withdraw_night(rerun, locale="en", exchange="XKRX")
    assert not is_published(rerun)
    assert listed(data) == ["2024-03-07"]
    assert "url=runs/2024-03-07/report.html" in data.latest_html.read_text()
    assert not withdraw_night(rerun, locale="en", exchange="XKRX"), "withdrawn already"
    withdraw_night(data.run("2024-03-07"), locale="en", exchange="XKRX")
    assert not data.latest_html.exists(), "no night left: no latest"


CORRECTED = [sector("semiconductor", "1234000.00", volume=1230, count=5), sector("internet", "1500.25", count=4)]


def restated_night(data_root: Path, day: str, sectors: list[dict] = CORRECTED) -> RunFolder:
    """A corrected night validated and rendered in the date's restatement folder: what its publish starts from."""
    work = validated_night(data_root, day, sectors, restatement=True, input_sha256="c" * 64)
    render_report(work, locale="en", run_facts=FACTS)
    return work


def restate(work: RunFolder) -> list[Path]:
    return publish_restatement(work, locale="en", exchange="XKRX", audit=audit)


def test_a_restatement_publishes_the_next_revision_and_keeps_the_earlier_byte_for_byte(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    night = published_night(tmp_path, "2024-03-08", SECTORS)
    first = night.report_html.read_bytes()
    work = restated_night(tmp_path, "2024-03-08")
    assert night.report_html.read_bytes() == first, "readers see revision 1 while revision 2 is prepared"
    revisions = Revisions.of(night)
    assert restate(work) == [night.report_html, data.index_html, data.latest_html, revisions.report_html(2)]
    assert revisions.report_html(1).read_bytes() == first
    assert night.report_html.read_bytes() == revisions.report_html(2).read_bytes()
    assert [r["revision"] for r in revisions.history()] == [1, 2]
    assert NightSummary.read(night).values_by_sector()["internet"] == Decimal("1500.25")
    assert not work.root.exists(), "the earlier revision's folder is gone; its report and summary are kept"
    report = night.report_html.read_text()
    assert 'data-revision="2"' in report
    assert re.search(r'href="\.\./\.\./revisions/2024-03-08/r1\.html"', report)
    assert 'data-revision="2">revised (Revision 2)' in data.index_html.read_text()


def test_a_restatement_failing_halfway_leaves_the_published_revision_as_it_was(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    night = published_night(tmp_path, "2024-03-08", SECTORS)
    before = {path: path.read_bytes() for path in (night.report_html, night.summary_json, data.index_html)}
    work = restated_night(tmp_path, "2024-03-08")
    data.latest_html.unlink()
    data.latest_html.mkdir()  # the index pages cannot be put in place: the publication fails after its step
    with pytest.raises(IsADirectoryError):
        restate(work)
    assert {path: path.read_bytes() for path in before} == before
    assert [r["revision"] for r in Revisions.of(night).history()] == [1]
    assert not work.report_html.exists()
    data.latest_html.rmdir()
    restate(work)
    assert [r["revision"] for r in Revisions.of(night).history()] == [1, 2]


def test_a_restatement_retried_after_its_step_completes_the_publication(tmp_path: Path) -> None:
    night = published_night(tmp_path, "2024-03-08", SECTORS)
    work = restated_night(tmp_path, "2024-03-08")
    calls = []

    def audit_failing_once(run: RunFolder, number: int) -> dict:
        calls.append(number)
        if len(calls) == 1:
            raise OSError("disk full")
        return audit(run, number)

    with pytest.raises(OSError, match="disk full"):
        publish_restatement(work, locale="en", exchange="XKRX", audit=audit_failing_once)
    assert NightSummary.read(night).values_by_sector()["internet"] == Decimal("1000.00"), "exchanged back"
    publish_restatement(work, locale="en", exchange="XKRX", audit=audit_failing_once)
    assert [r["revision"] for r in Revisions.of(night).history()] == [1, 2]
    assert NightSummary.read(night).values_by_sector()["internet"] == Decimal("1500.25")


def test_a_restatement_of_a_night_withdrawn_meanwhile_publishes_nothing(tmp_path: Path) -> None:
    night = published_night(tmp_path, "2024-03-08", SECTORS)
    work = restated_night(tmp_path, "2024-03-08")
    withdraw_night(night, locale="en", exchange="XKRX")
    with pytest.raises(ReportError, match="2024-03-08 is not published"):
        restate(work)
    assert not is_published(night)
    assert [r["revision"] for r in Revisions.of(night).history()] == [1]


def test_the_next_nights_change_and_the_index_compare_with_the_latest_revision(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    restate(restated_night(tmp_path, "2024-03-07", [sector("semiconductor", "617283.75"), sector("internet", "4.00")]))
    later = rendered_night(tmp_path, "2024-03-08")
    html = later.staged_report_html.read_text()
    assert "+100.0%" in html, "semiconductor: 1,234,567.50 against revision 2's 617,283.75, not revision 1's"
    assert "+24900.0%" in html, "internet: 1,000.00 against revision 2's 4.00"
    assert '<td class="day">2024-03-07</td><td class="num">617,287.75</td>' in data.index_html.read_text()
