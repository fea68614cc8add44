"""The reports index and ``latest``, as publishing renders them."""

from __future__ import annotations

import re
from pathlib import Path

from include.sector_report.layout import DataFolder
from include.sector_report.reporting.index_pages import index_pages
from include.sector_report.reporting.render import render_report
from tests.support.nights import FACTS, published_night, sector, validated_night

SECTORS = [sector("semiconductor", "1234567.50", volume=1234, count=6), sector("internet", "1000.00", count=3)]


def test_index_lists_published_dates_newest_first(tmp_path: Path) -> None:
    for day in ("2024-03-07", "2024-03-08", "2024-03-05"):
        published_night(tmp_path, day, SECTORS)
    # Rendered but never published: not in the index.
    render_report(validated_night(tmp_path, "2024-03-11", SECTORS), locale="en", run_facts=FACTS)
    index = DataFolder(tmp_path).index_html.read_text()
    dates = re.findall(r'<tr><td class="day">([0-9-]+)</td><td class="num">', index)
    assert dates == ["2024-03-08", "2024-03-07", "2024-03-05"]
    assert 'href="revisions/2024-03-08/r1/report.html"' in index
    latest = DataFolder(tmp_path).latest_html.read_text()
    assert "url=revisions/2024-03-08/r1/report.html" in latest
    # Each sector's total value over the published days, oldest first: one line, one dot per day.
    assert index.count('<polyline class="trend"') == 2
    assert index.count("<circle") == 6
    assert "semiconductor 2024-03-05: 1,234,567.50 KRW" in index


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


def test_without_nights_the_index_has_no_latest_page(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    pages = index_pages(data, [], locale="ko", exchange="XKRX")
    assert list(pages) == [data.index_html]
