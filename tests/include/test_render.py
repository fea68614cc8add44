from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from include.sector_report.render import format_summary_table, render_report
from include.sector_report.run_folder import RunFolder
from include.sector_report.validate import SectorSummary

FACTS = {"run_id": "manual__2024-03-08", "flink_job_id": "abc123", "flink_duration_s": 4.2}


def published_run(tmp_path: Path, sectors: list[dict]) -> RunFolder:
    run = RunFolder.for_date(tmp_path, "2024-03-08")
    run.reset()
    summary = {"logical_date": "2024-03-08", "sectors": sectors, "data_rows": 10, "rejected_rows": 1, "totals": {}}
    run.summary_json.write_text(json.dumps(summary))
    return run


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


@pytest.mark.parametrize(
    ("locale", "headings"),
    [
        ("ko", ["섹터", "총 거래액", "평균 가격", "총 거래량", "거래 건수"]),
        ("en", ["Sector", "Total value", "Average price", "Total volume", "Transactions"]),
    ],
)
def test_report_in_both_locales(tmp_path: Path, locale: str, headings: list[str]) -> None:
    html = render_report(published_run(tmp_path, SECTORS), locale=locale, run_facts=FACTS).read_text()
    assert f'<html lang="{locale}">' in html
    for heading in headings:
        assert f"<th>{heading}</th>" in html or f'<th class="num">{heading}' in html
    assert "1,234,567.50" in html  # thousands separators, two decimals
    assert "820,133.59" in html
    assert "1,234" in html
    assert "99.9%" in html  # share of value
    assert "abc123" in html and "manual__2024-03-08" in html


def test_sector_names_are_escaped(tmp_path: Path) -> None:
    evil = [{**SECTORS[0], "sector": "<script>alert(1)</script>"}]
    html = render_report(published_run(tmp_path, evil), locale="en", run_facts=FACTS).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_is_self_contained(tmp_path: Path) -> None:
    html = render_report(published_run(tmp_path, SECTORS), locale="ko", run_facts=FACTS).read_text()
    assert "http://" not in html and "https://" not in html
    assert "<svg" in html


def test_console_table_columns_line_up_with_korean_headings() -> None:
    sectors = [SectorSummary.from_json(s) for s in SECTORS]
    lines = format_summary_table(sectors, "ko").splitlines()
    assert lines[0] == "=== 섹터별 금융 데이터 요약 ==="

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    table = [lines[1], *lines[3:]]
    assert len({width(line) for line in table}) == 1  # right-aligned numbers end in the same column
    assert lines[3].split() == ["semiconductor", "1,234,567.50", "820,133.59", "1,234", "6"]
