"""Publishing a night is all or nothing, at every point, and can always be done again."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.month import month_inputs
from include.sector_report.publication import commit, is_published, published_nights
from include.sector_report.reporting.publish import publish_night, publishing, withdraw_night
from include.sector_report.reporting.render import render_report
from tests.support.nights import FACTS, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1234567.50", volume=1234, count=6), sector("internet", "1000.00", count=3)]


def rendered_night(data_root: Path, day: str) -> RunFolder:
    """A night validated and rendered, not yet published: what ``publish`` starts from."""
    run = validated_night(data_root, day, SECTORS)
    render_report(run, locale="en", run_facts=FACTS)
    return run


def publish(run: RunFolder) -> list[Path]:
    return publish_night(run, locale="en", exchange="XKRX")


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
    assert publish(run) == [run.report_html, data.index_html, data.latest_html]
    assert is_published(run)
    assert listed(data) == ["2024-03-07", "2024-03-08"]
    assert run.report_html.read_bytes() == run.staged_report_html.read_bytes()


def test_a_failure_after_the_pages_are_in_place_withdraws_the_night(tmp_path: Path) -> None:
    """What the publish task does after the pages (registering them, the Asset event) belongs to the publication."""
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    run = rendered_night(tmp_path, "2024-03-08")

    def publish_then_fail_to_register() -> None:
        with publishing(run, locale="en", exchange="XKRX") as pages:
            assert is_published(run)
            assert pages[0] == run.report_html
            raise ConnectionError("the API server did not take the XCom")

    with pytest.raises(ConnectionError):
        publish_then_fail_to_register()
    assert not is_published(run)
    assert listed(data) == ["2024-03-07"]
    with publishing(run, locale="en", exchange="XKRX"):
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


def test_a_published_empty_day_is_drawn_at_zero_in_the_index_chart_not_as_a_missing_report(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_night(tmp_path, "2024-03-07", SECTORS)
    published_night(tmp_path, "2024-03-08", [])  # allow_empty: a day without transactions, published
    published_night(tmp_path, "2024-03-12", SECTORS)  # 2024-03-11, a session, has no report
    index = data.index_html.read_text()
    gaps = re.findall(r'<rect class="gap"[^>]*>\s*<title>([0-9-]+)', index)
    assert gaps == ["2024-03-11"], gaps
    assert "semiconductor 2024-03-08: 0.00 KRW" in index
    assert "internet 2024-03-08: 0.00 KRW" in index
