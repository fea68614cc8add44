from __future__ import annotations

import re
from pathlib import Path

import pytest

from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.reporting.publish import publish
from include.sector_report.reporting.render import format_summary_table, render_report
from include.sector_report.summary import SectorSummary
from tests.support.nights import FACTS, audit, published_night, validated_night

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


def night(data_root: Path, sectors: list[dict], day: str = "2024-03-08", top_stocks=None) -> RunFolder:
    return validated_night(data_root, day, sectors, TOP_STOCKS if top_stocks is None else top_stocks)


def earlier(data_root: Path, sectors: list[dict], day: str) -> RunFolder:
    return published_night(data_root, day, sectors, top_stocks=TOP_STOCKS)


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
    html = render(night(tmp_path, SECTORS), locale)
    assert f'<html lang="{locale}">' in html
    for heading in headings:
        assert f"<th>{heading}</th>" in html or f'<th class="num">{heading}' in html
    assert "1,234,567.50" in html  # thousands separators, two decimals
    assert "820,133.59" in html
    assert "1,234" in html
    assert "99.9%" in html  # share of value
    assert "abc123" in html
    assert FACTS["run_id"] in html
    assert stock_name in html
    assert "005930" in html
    assert "999999" in html  # a stock missing from the universe shows by its code


def test_without_a_previous_report_there_is_no_change(tmp_path: Path) -> None:
    html = render(night(tmp_path, SECTORS), "en")
    assert 'id="no-previous"' in html
    assert "kpi-total-change" not in html


def test_change_against_the_latest_earlier_report(tmp_path: Path) -> None:
    older = [{**SECTORS[0], "total_value": "617283.75"}, {**SECTORS[1], "total_value": "2000.00"}]
    earlier(tmp_path, older, day="2024-03-06")
    earlier(tmp_path, older, day="2024-03-01")
    html = render(night(tmp_path, SECTORS), "en")
    assert '<time datetime="2024-03-06" id="previous-date">' in html
    assert "+100.0%" in html  # semiconductor doubled
    assert "-50.0%" in html  # internet halved
    assert "Change +99.5%" in html  # 1,235,567.50 against 619,283.75


def test_each_sector_shows_its_trend_over_the_last_published_days(tmp_path: Path) -> None:
    for number, day in enumerate(["2024-02-28", "2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06"]):
        growing = [{**SECTORS[0], "total_value": str(1000 * (number + 1))}, SECTORS[1]]
        earlier(tmp_path, growing, day=day)
    html = render(night(tmp_path, SECTORS), "en")
    lines = re.findall(r'<svg class="sparkline"[^>]*><polyline [^>]*points="([^"]+)"', html)
    assert len(lines) == 2
    heights = [float(point.split(",")[1]) for point in lines[0].split()]
    assert len(heights) == 6
    assert heights == sorted(heights, reverse=True)


def test_sector_names_are_escaped_in_the_report_and_the_index(tmp_path: Path) -> None:
    evil = [{**SECTORS[0], "sector": "<script>alert(1)</script>"}]
    run = night(tmp_path, evil, top_stocks={})
    html = render(run, "en")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    publish(run, locale="en", exchange="XKRX", audit=audit)
    index = DataFolder(tmp_path).index_html.read_text()
    assert "<script>" not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index


def test_report_is_self_contained(tmp_path: Path) -> None:
    html = render(night(tmp_path, SECTORS))
    assert "http://" not in html
    assert "https://" not in html
    assert 'id="value-chart"' in html
    assert "<link" not in html
    assert "<script" not in html


def test_console_table_columns_line_up_with_korean_headings() -> None:
    sectors = [SectorSummary.from_json(s) for s in SECTORS]
    # Korean letters take two columns: the numbers still end in the same column.
    assert format_summary_table(sectors, "ko").splitlines() == [
        "=== 섹터별 금융 데이터 요약 ===",
        "섹터" + " " * 14 + "총 거래액" + " " * 3 + "평균 가격" + " " * 2 + "총 거래량" + " " * 2 + "거래 건수",
        "-" * 61,
        "semiconductor  1,234,567.50  820,133.59      1,234          6",
        "internet           1,000.00       10.00        100          3",
    ]


def test_a_first_revision_says_its_input_and_a_later_one_what_changed_since_the_one_before(tmp_path: Path) -> None:
    first = published_night(tmp_path, "2024-03-08", SECTORS, locale="ko")
    html = first.report_html.read_text()
    assert 'id="revision"' not in html
    assert re.search(r'id="revision-number">1<', html)
    assert f"transactions_2024-03-08.csv · 크기 100 바이트 · SHA-256 <code>{'0' * 64}</code>" in html
    corrected = [{**SECTORS[0], "total_value": "1234000.00", "total_volume": 1230}, SECTORS[1]]
    work = validated_night(tmp_path, "2024-03-08", corrected, restatement=True, input_sha256="c" * 64)
    render_report(work, locale="en", run_facts=FACTS)
    staged = work.staged_report_html.read_text()
    assert "This report is revision 2: restated at " in staged
    assert "from the file transactions_2024-03-08.csv." in staged
    assert "Changes from the previous revision (revision 1)" in staged
    semis = re.search(r'<tr class="changed" data-sector="semiconductor">(.*?)</tr>', staged, re.S)
    assert semis is not None
    assert re.findall(r'data-figure="\w+">([^<]+)<', semis.group(1)) == ["-567.50", "-4", "+0"]
    assert "-0.0%" in semis.group(1)
    assert re.search(r'<tr data-sector="internet">', staged), "an unchanged sector is listed, not marked"
    assert re.search(r'href="\.\./r1/report\.html">Revision 1</a> \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)', staged)
