from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.layout import DataFolder, RunFolder
from include.sector_report.plausibility import CHECKS, Figures, NightChecks, Session, check_night
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


def render(run: RunFolder, locale: str = "ko", *, held_preview: bool = False) -> str:
    return render_report(run, locale=locale, run_facts=FACTS, held_preview=held_preview).read_text(encoding="utf-8")


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


def finding(check: str, verdict: str, figures: dict, sessions: int = 20, first="2026-11-02", last="2026-11-30") -> dict:
    return {
        "check": check,
        "verdict": verdict,
        "compared": {"sessions": sessions, "first": first, "last": last},
        "figures": figures,
    }


FINDINGS = [
    finding(
        "row_count", "held", {"today": "512", "median": "1003", "mad": "20", "robust_z": "9.10", "deviation": "-0.4896"}
    ),
    finding(
        "total_value",
        "warned",
        {"today": "820000000", "median": "1000000000", "mad": "1", "robust_z": "4.20", "deviation": "-0.1800"},
    ),
    finding("missing_sectors", "held", {"missing": ["finance", "internet"], "expected": 12}),
    finding(
        "sector_share",
        "warned",
        {
            "moved": [{"sector": "semiconductor", "today": "45.2100", "median": "30.1000", "points": "15.1100"}],
            "threshold_points": "10",
        },
    ),
    finding("same_input", "held", {"date": "2026-11-30", "matched_by": "sha256"}),
    finding(
        "price_level",
        "held",
        {"stocks_compared": 48, "low": "0.2000", "high": "5", "median_ratio": "100.0000", "stocks_moved": 48},
        sessions=3,
        first="2026-11-26",
    ),
]


def with_checks(run: RunFolder, findings: list[dict], accepted: dict | None = None) -> RunFolder:
    checks = {"against": "history", "findings": findings, "accepted": accepted}
    run.checks_json.write_text(json.dumps(checks), encoding="utf-8")
    return run


def finding_row(html: str, check: str) -> str:
    row = re.search(rf'<tr[^>]*data-check="{check}"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None, f"no row of {check}"
    return " ".join(row.group(0).split())


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "en",
            {
                "section": '<h2 id="checks">Plausibility checks</h2>',
                "banner": "Held for approval: this night is not published until someone approves it.",
                "row_count": [
                    "<td>Row count vs. history</td>",
                    "20 sessions, 2026-11-02 – 2026-11-30",
                    "today 512, median 1,003, robust z 9.1, -49.0%",
                    '<span class="verdict verdict-held">held</span>',
                ],
                "total_value": [
                    "today 820M KRW, median 1B KRW, robust z 4.2, -18.0%",
                    '<span class="verdict verdict-warned">warned</span>',
                ],
                "missing_sectors": ["missing: finance, internet (of the 12 sectors every session traded)"],
                "sector_share": ["semiconductor 45.2% (median 30.1%, +15.1 points)"],
                "same_input": [
                    "same files as 2026-11-30 (SHA-256)",
                    '<span class="verdict verdict-held">held</span> <span class="accepted">accepted: resent',
                ],
                "price_level": [
                    "the stocks&#39; last sessions: 3 sessions, 2026-11-26 – 2026-11-30",
                    "median price ratio 100.00 over 48 stocks (48 outside 0.2 – 5.0)",
                ],
            },
        ),
        (
            "ko",
            {
                "section": '<h2 id="checks">타당성 검사</h2>',
                "banner": "승인 대기: 누군가 승인하기 전까지 이 날짜의 보고서는 게시되지 않습니다.",
                "row_count": [
                    "<td>거래 건수 (과거 대비)</td>",
                    "거래일 20일, 2026-11-02 – 2026-11-30",
                    "당일 512, 중앙값 1,003, 로버스트 z 9.1, -49.0%",
                    '<span class="verdict verdict-held">보류</span>',
                ],
                "total_value": [
                    "당일 8.2억 원, 중앙값 10억 원, 로버스트 z 4.2, -18.0%",
                    '<span class="verdict verdict-warned">주의</span>',
                ],
                "missing_sectors": ["누락: finance, internet (비교한 모든 거래일에 거래된 섹터 12개 중)"],
                "sector_share": ["semiconductor 45.2% (중앙값 30.1%, +15.1%p)"],
                "same_input": [
                    "2026-11-30 입력과 같은 파일 (SHA-256)",
                    '<span class="verdict verdict-held">보류</span> <span class="accepted">예외 승인: resent',
                ],
                "price_level": [
                    "종목별 직전 거래일: 거래일 3일, 2026-11-26 – 2026-11-30",
                    "종목 48개의 가격 비율 중앙값 100.00 (범위 0.2 – 5.0 밖 종목 48개)",
                ],
            },
        ),
    ],
)
def test_the_checks_section_words_each_finding_and_a_held_night_says_it_waits_for_approval(
    tmp_path: Path, locale: str, words: dict
) -> None:
    accepted = {"checks": ["same_input"], "reason": "resent by the exchange"}
    run = with_checks(night(tmp_path, SECTORS), FINDINGS, accepted)
    staged = render(run, locale)
    assert 'id="held"' not in staged, "the report readers get if it is approved: by then it waits for no one"
    html = render(run, locale, held_preview=True)
    assert run.held_preview_html.is_file()
    assert words["section"] in html
    banner = re.search(r'<section id="held" class="held-banner">(.*?)</section>', html, re.S)
    assert banner is not None
    assert words["banner"] in banner.group(1)
    assert html.index('id="held"') < html.index('id="kpi-total-value"'), "the banner is at the top"
    assert re.findall(r'data-check="(\w+)" data-verdict="(\w+)"', html) == [
        ("row_count", "held"),
        ("total_value", "warned"),
        ("missing_sectors", "held"),
        ("sector_share", "warned"),
        ("same_input", "held"),
        ("price_level", "held"),
    ]
    for check in ("row_count", "total_value", "missing_sectors", "sector_share", "same_input", "price_level"):
        row = finding_row(html, check)
        for text in words[check]:
            assert text in row, f"{check}: {text!r} not in {row!r}"
    assert finding_row(html, "row_count").startswith('<tr class="holding"')
    assert not finding_row(html, "same_input").startswith('<tr class="holding"'), "accepted: it holds nothing"
    assert "accepted" not in finding_row(html, "row_count")
    assert "http" not in html
    assert "<script" not in html


def test_a_night_held_only_by_accepted_findings_waits_for_no_one(tmp_path: Path) -> None:
    held = [f for f in FINDINGS if f["verdict"] == "held"]
    accepted = {"checks": [f["check"] for f in held], "reason": "split day, confirmed with the desk"}
    html = render(with_checks(night(tmp_path, SECTORS), held, accepted), "en", held_preview=True)
    assert 'id="held"' not in html
    assert "Held for approval" not in html
    assert html.count("accepted: split day, confirmed with the desk") == len(held)
    assert 'class="holding"' not in html


def test_passed_findings_and_too_little_history_hold_nothing(tmp_path: Path) -> None:
    findings = [
        finding("row_count", "too_little_history", {"required_sessions": 5}, sessions=3, first="2026-11-26"),
        finding("missing_sectors", "passed", {"missing": [], "expected": 12}),
        finding("sector_share", "passed", {"moved": [], "threshold_points": "10"}),
        finding("same_input", "passed", {"date": None, "matched_by": None}, sessions=1, first="2026-11-30"),
        finding(
            "price_level",
            "too_little_history",
            {
                "stocks_compared": 1,
                "low": "0.2000",
                "high": "5",
                "median_ratio": None,
                "stocks_moved": 0,
                "required_stocks": 3,
            },
            sessions=0,
            first=None,
            last=None,
        ),
    ]
    html = render(with_checks(night(tmp_path, SECTORS), findings), "en", held_preview=True)
    assert 'id="held"' not in html
    assert "Plausibility checks" in html
    row = finding_row(html, "row_count")
    assert "3 sessions, 2026-11-26 – 2026-11-30" in row
    assert "needs 5 earlier sessions" in row
    assert '<span class="verdict verdict-too_little_history">too little history</span>' in row
    assert "none of the 12 sectors every session traded is missing" in finding_row(html, "missing_sectors")
    assert "no sector&#39;s share moved more than 10 points" in finding_row(html, "sector_share")
    same = finding_row(html, "same_input")
    assert "1 session, 2026-11-30" in same
    assert "no earlier session&#39;s input is the same" in same
    assert '<span class="verdict verdict-passed">passed</span>' in same
    price = finding_row(html, "price_level")
    assert "no stock seen before" in price
    assert "1 stocks to compare, 3 needed" in price
    ko = render(with_checks(night(tmp_path, SECTORS), findings), "ko")
    assert '<span class="verdict verdict-too_little_history">이력 부족</span>' in finding_row(ko, "row_count")
    assert "이전 거래일 5일 이상 필요" in finding_row(ko, "row_count")
    assert '<span class="verdict verdict-passed">통과</span>' in finding_row(ko, "same_input")


def test_a_night_without_checks_has_no_checks_section(tmp_path: Path) -> None:
    run = night(tmp_path, SECTORS)
    assert NightChecks.read(run) is None
    for locale, heading in [("en", "Plausibility checks"), ("ko", "타당성 검사")]:
        html = render(run, locale)
        assert heading not in html
        assert 'id="checks"' not in html
        assert 'id="held"' not in html


def test_the_findings_the_checks_make_are_worded_in_both_locales(tmp_path: Path) -> None:
    def session(date: str, value: str, count: int, price: int) -> Session:
        sectors = {"semiconductor": Figures(Decimal(value), 10, count), "internet": Figures(Decimal(value), 10, count)}
        stocks = {code: Figures(Decimal(price * 10), 10, 1) for code in ("000001", "000002", "000003")}
        return Session(date, sectors, stocks, frozenset({date}))

    history = [session(f"2024-03-0{day}", "1000", 100 + day, 50) for day in range(7, 0, -1)]
    today = session("2024-03-08", "400", 40, 5000)
    findings = check_night(today, history)
    assert {f.verdict for f in findings} == {"held", "passed"}
    run = with_checks(night(tmp_path, SECTORS), [f.to_json() for f in findings], None)
    assert NightChecks.read(run) == NightChecks("history", findings)
    for locale in ("en", "ko"):
        html = render(run, locale)
        assert [check for check, _ in re.findall(r'data-check="(\w+)" data-verdict="(\w+)"', html)] == list(CHECKS)
        assert re.findall(r'<td class="figures"></td>', html) == [], "every finding's figures are worded"
    assert "median price ratio 100.00 over 3 stocks (3 outside 0.2 – 5.0)" in render(run, "en")


def test_a_restatement_checked_against_the_revision_it_replaces_says_so(tmp_path: Path) -> None:
    findings = [finding("row_count", "held", FINDINGS[0]["figures"], sessions=1, first="2024-03-08", last="2024-03-08")]
    run = night(tmp_path, SECTORS)
    run.checks_json.write_text(json.dumps({"against": "replaced", "findings": findings, "accepted": None}), "utf-8")
    html = render(run, "en")
    assert "This restatement&#39;s figures beside the published revision it would replace." in html
    row = finding_row(html, "row_count")
    assert '<td class="compared">the published revision it replaces</td>' in row
    assert "today 512, median 1,003" in row
    assert "Held for approval" in render(run, "en", held_preview=True)


@pytest.mark.parametrize("earlier", [0, 1], ids=["first_night", "one_earlier_session"])
def test_a_night_with_too_little_history_renders_every_check_as_such(tmp_path: Path, earlier: int) -> None:
    """The findings check_night makes of a deployment's first nights (a night of `make run`) render in both locales."""
    figures = {"semiconductor": Figures(Decimal("1000"), 10, 3)}
    history = [Session("2024-03-07", {"semiconductor": Figures(Decimal("990"), 9, 3)}, {}, frozenset({"a"}))][:earlier]
    findings = check_night(Session("2024-03-08", figures, {}, frozenset({"b"})), history)
    run = with_checks(night(tmp_path, SECTORS), [f.to_json() for f in findings])
    for locale in ("en", "ko"):
        html = render(run, locale)
        verdicts = dict(re.findall(r'data-check="(\w+)" data-verdict="(\w+)"', html))
        assert set(verdicts.values()) <= {"too_little_history", "passed"}
        assert len(verdicts) == len(CHECKS)
    assert "needs 5 earlier sessions" in finding_row(render(run, "en"), "price_level")
