from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from include.sector_report.publish import publish_index
from include.sector_report.render import format_summary_table, render_report
from include.sector_report.run_folder import RunFolder
from include.sector_report.validate import SectorSummary

FACTS = {"run_id": "manual__2024-03-08", "flink_job_id": "abc123", "flink_duration_s": 4.2}
SECTORS = [
    {
        "sector": "semiconductor",
        "total_value": "1234567.5",
        "avg_price": "820133.593333",
        "total_volume": 1234,
        "transaction_count": 6,
    },
    {"sector": "internet", "total_value": "1000.00", "avg_price": "10.00", "total_volume": 100, "transaction_count": 3},
]
TOP_STOCKS = {
    "semiconductor": [
        {
            "sector": "semiconductor",
            "stock_code": "005930",
            "total_value": "1000000.00",
            "total_volume": 1000,
            "transaction_count": 4,
        },
        {
            "sector": "semiconductor",
            "stock_code": "999999",
            "total_value": "234567.50",
            "total_volume": 234,
            "transaction_count": 2,
        },
    ],
    "internet": [],
}


def published_run(data_root: Path, sectors: list[dict], day: str = "2024-03-08", top_stocks=None) -> RunFolder:
    run = RunFolder.for_date(data_root, day)
    run.reset()
    summary = {
        "logical_date": day,
        "sectors": sectors,
        "top_stocks": TOP_STOCKS if top_stocks is None else top_stocks,
        "data_rows": 10,
        "rejected_rows": 1,
        "totals": {},
    }
    run.summary_json.write_text(json.dumps(summary))
    return run


def render(run: RunFolder, locale: str = "ko") -> str:
    return render_report(run, locale=locale, run_facts=FACTS).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("locale", "headings", "stock_name"),
    [
        ("ko", ["섹터", "총 거래액", "평균 가격", "총 거래량", "거래 건수"], "삼성전자"),
        ("en", ["Sector", "Total value", "Average price", "Total volume", "Transactions"], "Samsung Electronics"),
    ],
)
def test_report_in_both_locales(tmp_path: Path, locale: str, headings: list[str], stock_name: str) -> None:
    html = render(published_run(tmp_path, SECTORS), locale)
    assert f'<html lang="{locale}">' in html
    for heading in headings:
        assert f"<th>{heading}</th>" in html or f'<th class="num">{heading}' in html
    assert "1,234,567.50" in html  # thousands separators, two decimals
    assert "820,133.59" in html
    assert "1,234" in html
    assert "99.9%" in html  # share of value
    assert "abc123" in html and "manual__2024-03-08" in html
    assert stock_name in html and "005930" in html
    assert "999999" in html  # a stock missing from the universe shows by its code


def test_without_a_previous_report_there_is_no_change(tmp_path: Path) -> None:
    html = render(published_run(tmp_path, SECTORS), "en")
    assert 'id="no-previous"' in html and "kpi-total-change" not in html


def test_change_against_the_latest_earlier_report(tmp_path: Path) -> None:
    older = [{**SECTORS[0], "total_value": "617283.75"}, {**SECTORS[1], "total_value": "2000.00"}]
    published_run(tmp_path, older, day="2024-03-06")
    published_run(tmp_path, older, day="2024-03-01")
    html = render(published_run(tmp_path, SECTORS), "en")
    assert '<time datetime="2024-03-06" id="previous-date">' in html
    assert "+100.0%" in html  # semiconductor doubled
    assert "-50.0%" in html  # internet halved
    assert "Change +99.5%" in html  # 1,235,567.50 against 619,283.75


def test_each_sector_shows_its_trend_over_the_last_published_days(tmp_path: Path) -> None:
    for number, day in enumerate(["2024-02-28", "2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06"]):
        growing = [{**SECTORS[0], "total_value": str(1000 * (number + 1))}, SECTORS[1]]
        published_run(tmp_path, growing, day=day)
    html = render(published_run(tmp_path, SECTORS), "en")
    lines = re.findall(r'<svg class="sparkline"[^>]*><polyline [^>]*points="([^"]+)"', html)
    assert len(lines) == 2
    heights = [float(point.split(",")[1]) for point in lines[0].split()]
    assert len(heights) == 6 and heights == sorted(heights, reverse=True)  # six days, rising (y grows down)


def test_sector_names_are_escaped_in_the_report_and_the_index(tmp_path: Path) -> None:
    evil = [{**SECTORS[0], "sector": "<script>alert(1)</script>"}]
    html = render(published_run(tmp_path, evil, top_stocks={}), "en")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    index = publish_index(tmp_path, locale="en").read_text()
    assert "<script>" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index


def test_report_is_self_contained(tmp_path: Path) -> None:
    html = render(published_run(tmp_path, SECTORS))
    assert "http://" not in html and "https://" not in html
    assert "<svg" in html and "<link" not in html and "<script" not in html


def test_index_lists_published_dates_newest_first(tmp_path: Path) -> None:
    for day in ("2024-03-07", "2024-03-08", "2024-03-05"):
        render(published_run(tmp_path, SECTORS, day=day))
    RunFolder.for_date(tmp_path, "2024-03-09").reset()  # a failed run: no summary, no report
    index = publish_index(tmp_path, locale="en").read_text()
    dates = [line.split("<td>")[1].split("</td>")[0] for line in index.splitlines() if "<tr><td>" in line]
    assert dates == ["2024-03-08", "2024-03-07", "2024-03-05"]
    assert 'href="../runs/2024-03-08/report.html"' in index
    latest = (tmp_path / "reports" / "latest.html").read_text()
    assert "url=../runs/2024-03-08/report.html" in latest
    # Each sector's total value over the published days, oldest first: one line, one dot per day.
    assert index.count('<polyline class="trend"') == 2
    assert index.count("<circle") == 6 and "semiconductor 2024-03-05: 1,234,567.50 KRW" in index


def test_console_table_columns_line_up_with_korean_headings() -> None:
    sectors = [SectorSummary.from_json(s) for s in SECTORS]
    lines = format_summary_table(sectors, "ko").splitlines()
    assert lines[0] == "=== 섹터별 금융 데이터 요약 ==="

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    table = [lines[1], *lines[3:]]
    assert len({width(line) for line in table}) == 1  # right-aligned numbers end in the same column
    assert lines[3].split() == ["semiconductor", "1,234,567.50", "820,133.59", "1,234", "6"]
