"""A night against the sessions published before it: the implausible feeds hold, ordinary days pass.

The sessions are crafted like generated data: five sectors of three stocks, each stock's price and volume a few
percent apart from one day to the next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder
from include.sector_report.plausibility import (
    CHECKS,
    SESSIONS_VARIABLE,
    Acceptance,
    Figures,
    Finding,
    NightChecks,
    Session,
    Thresholds,
    check_correction,
    check_night,
    check_run,
    held,
    history_before,
    sessions_from_env,
)
from include.sector_report.published_nights import pointing
from include.sector_report.revisions import Revisions
from include.sector_report.summary import StockSummary, write_stock_totals
from tests.support.nights import sector, validated_night

# Each sector's stocks: their usual price (KRW) and volume.
SECTORS = {
    "semiconductor": {"005930": ("71000", 12_000_000), "000660": ("180000", 3_000_000), "042700": ("90000", 500_000)},
    "internet": {"035420": ("190000", 800_000), "035720": ("48000", 2_000_000), "323410": ("25000", 1_000_000)},
    "battery": {"373220": ("390000", 300_000), "006400": ("400000", 250_000), "247540": ("250000", 400_000)},
    "bank": {"105560": ("60000", 1_500_000), "055550": ("42000", 1_800_000), "086790": ("50000", 1_000_000)},
    "biotech": {"207940": ("780000", 60_000), "068270": ("180000", 700_000), "196170": ("120000", 300_000)},
}


def day(
    date: str,
    seed: int,
    *,
    scale: float = 1.0,
    price_scale: Decimal = Decimal(1),
    without: str | None = None,
    sha256: str | None = "",
) -> Session:
    """One session: every stock's volume within 5% of its usual, its price within 2%; then ``scale`` times the
    trades (half a day: 0.5) and prices in another unit (``price_scale``)."""
    rng = random.Random(seed)
    sectors: dict[str, Figures] = {}
    stocks: dict[str, Figures] = {}
    for name, members in SECTORS.items():
        for code, (price, volume) in members.items():
            drawn = int(volume * rng.uniform(0.95, 1.05) * scale)
            traded = (Decimal(price) * Decimal(rng.uniform(0.98, 1.02)) * price_scale).quantize(Decimal("0.01"))
            stocks[code] = Figures((traded * drawn).quantize(Decimal("0.01")), drawn, max(1, drawn // 40))
        if name != without:
            members_figures = [stocks[code] for code in members]
            sectors[name] = Figures(
                sum((f.value for f in members_figures), Decimal(0)),
                sum(f.volume for f in members_figures),
                sum(f.count for f in members_figures),
            )
    if without:
        stocks = {code: f for code, f in stocks.items() if code not in SECTORS[without]}
    digest = frozenset({f"{seed:064x}"}) if sha256 == "" else None if sha256 is None else frozenset({sha256})
    return Session(date, sectors, stocks, digest)


def sessions(count: int, before: str = "2024-05-02") -> list[str]:
    """The ``count`` weekdays before ``before``, most recent first."""
    dates, date = [], dt.date.fromisoformat(before)
    while len(dates) < count:
        date -= dt.timedelta(days=1)
        if date.weekday() < 5:
            dates.append(date.isoformat())
    return dates


TODAY = "2024-05-02"
HISTORY = [day(date, seed) for seed, date in enumerate(sessions(20))]


def published(data_root: Path, date: str, rows: list[dict], top: dict[str, list[dict]], sha256: str) -> None:
    """A night published as its revision and pointer, but not rendered: publishing builds the exchange's calendar
    for the reports index, seconds this module need not spend."""
    run = validated_night(data_root, date, rows, top, input_sha256=sha256)
    Revisions.of(run).write(1, {name: run.root / name for name in ("summary.json", "control.json")})
    with pointing(DataFolder(data_root), date, {"event": "published", "revision": 1}):
        pass


def verdicts(findings: list[Finding]) -> dict[str, str]:
    return {f.check: f.verdict for f in findings}


def finding(findings: list[Finding], check: str) -> Finding:
    [found] = [f for f in findings if f.check == check]
    return found


def test_an_ordinary_night_passes_every_check() -> None:
    findings = check_night(day(TODAY, 99), HISTORY)
    assert [f.check for f in findings] == list(CHECKS)
    assert verdicts(findings) == dict.fromkeys(CHECKS, "passed")
    rows = finding(findings, "row_count")
    assert (rows.compared.sessions, rows.compared.first, rows.compared.last) == (20, "2024-04-04", "2024-05-01")


@pytest.mark.parametrize("scale", [0.5, 2.0], ids=["half_a_day", "the_file_twice"])
def test_half_a_days_trades_and_a_doubled_file_hold_on_their_row_count_and_value(scale: float) -> None:
    findings = check_night(day(TODAY, 99, scale=scale), HISTORY)
    assert {f.check for f in held(findings)} == {"row_count", "total_value"}
    rows = finding(findings, "row_count").figures
    assert Decimal(str(rows["deviation"])) == pytest.approx(Decimal(scale - 1), abs=Decimal("0.06"))
    assert Decimal(str(rows["robust_z"])) > 10


def test_a_quarter_of_the_day_missing_warns_without_holding() -> None:
    findings = check_night(day(TODAY, 99, scale=0.75), HISTORY)
    assert verdicts(findings)["row_count"] == "warned"
    assert not held(findings)


def test_a_history_of_ties_holds_no_night_one_row_apart() -> None:
    same = day("2024-01-01", 7)
    history = [dataclasses.replace(same, date=date, input_sha256=frozenset({date})) for date in sessions(20)]
    semis = same.sectors["semiconductor"]
    one_more = Figures(semis.value + Decimal("71000.00"), semis.volume + 1, semis.count + 1)
    today = dataclasses.replace(same, date=TODAY, sectors={**same.sectors, "semiconductor": one_more})
    findings = check_night(today, history)
    assert verdicts(findings) == dict.fromkeys(CHECKS, "passed")
    assert finding(findings, "row_count").figures["robust_z"] == "Infinity", "MAD 0: any difference is infinite sigmas"


def test_a_sector_every_session_traded_and_today_did_not_holds_by_name() -> None:
    found = finding(check_night(day(TODAY, 99, without="bank"), HISTORY), "missing_sectors")
    assert found.verdict == "held"
    assert found.figures == {"missing": ["bank"], "expected": 5}


def test_a_sector_missing_from_some_earlier_session_is_not_expected() -> None:
    history = [HISTORY[0], day(HISTORY[1].date, 1, without="bank"), *HISTORY[2:]]
    found = finding(check_night(day(TODAY, 99, without="bank"), history), "missing_sectors")
    assert (found.verdict, found.figures["expected"]) == ("passed", 4)


def test_a_sectors_share_far_from_its_median_warns_and_holds_nothing() -> None:
    today = day(TODAY, 99)
    bank = today.sectors["bank"]
    today = dataclasses.replace(
        today, sectors={**today.sectors, "bank": Figures(bank.value * 3, bank.volume, bank.count)}
    )
    findings = check_night(today, HISTORY)
    found = finding(findings, "sector_share")
    assert found.verdict == "warned"
    assert not held(findings)
    [moved] = json.loads(json.dumps(found.figures["moved"]))
    assert moved["sector"] == "bank"
    assert Decimal(moved["points"]) > 10


@pytest.mark.parametrize("unit", [Decimal(100), Decimal("0.01")], ids=["x100", "per_100"])
def test_prices_in_another_unit_hold_on_their_price_level(unit: Decimal) -> None:
    found = finding(check_night(day(TODAY, 99, price_scale=unit), HISTORY), "price_level")
    assert found.verdict == "held"
    assert found.figures["stocks_compared"] == found.figures["stocks_moved"] == 15
    assert Decimal(str(found.figures["median_ratio"])) == pytest.approx(unit, rel=Decimal("0.05"))
    assert (found.compared.sessions, found.compared.last) == (1, "2024-05-01"), "each stock's last session"


def test_a_market_down_by_a_limit_day_does_not_hold_on_prices() -> None:
    found = finding(check_night(day(TODAY, 99, price_scale=Decimal("0.7")), HISTORY), "price_level")
    assert (found.verdict, found.figures["stocks_moved"]) == ("passed", 0)


def test_a_stock_is_priced_against_the_last_session_that_recorded_it() -> None:
    history = [dataclasses.replace(HISTORY[0], stocks={}), *HISTORY[1:]]
    found = finding(check_night(day(TODAY, 99, price_scale=Decimal(100)), history), "price_level")
    assert (found.verdict, found.compared.last) == ("held", "2024-04-30")


def test_the_input_of_three_sessions_ago_holds_naming_its_date() -> None:
    today = dataclasses.replace(day(TODAY, 99), input_sha256=HISTORY[2].input_sha256)
    found = finding(check_night(today, HISTORY), "same_input")
    assert found.verdict == "held"
    assert found.figures == {"date": "2024-04-29", "matched_by": "sha256"}


def test_yesterdays_figures_under_todays_name_hold_without_digests() -> None:
    today = dataclasses.replace(HISTORY[0], date=TODAY, input_sha256=None)
    found = finding(check_night(today, HISTORY), "same_input")
    assert found.figures == {"date": "2024-05-01", "matched_by": "figures"}


def test_too_little_history_holds_nothing_even_a_doubled_file() -> None:
    findings = check_night(day(TODAY, 99, scale=2.0), HISTORY[:4])
    assert verdicts(findings) == {**dict.fromkeys(CHECKS, "too_little_history"), "same_input": "passed"}
    assert finding(findings, "row_count").figures == {"required_sessions": 5}


def test_the_same_input_holds_with_a_single_earlier_session() -> None:
    today = dataclasses.replace(day(TODAY, 99), input_sha256=HISTORY[0].input_sha256)
    assert verdicts(check_night(today, HISTORY[:1]))["same_input"] == "held"
    assert verdicts(check_night(today, []))["same_input"] == "too_little_history"


def test_a_history_not_most_recent_first_is_refused() -> None:
    with pytest.raises(ValueError, match="most recent first"):
        check_night(day(TODAY, 99), list(reversed(HISTORY)))
    with pytest.raises(ValueError, match="must be earlier sessions"):
        check_night(day(HISTORY[0].date, 99), HISTORY)


def test_findings_read_back_from_json_as_they_were_written() -> None:
    findings = check_night(day(TODAY, 99, scale=0.5, price_scale=Decimal(100), without="bank"), HISTORY)
    text = json.dumps([f.to_json() for f in findings], ensure_ascii=False)
    assert [Finding.from_json(f) for f in json.loads(text)] == findings
    with pytest.raises(ValueError, match="Not a plausibility finding"):
        Finding.from_json({**findings[0].to_json(), "verdict": "fine"})


def test_a_session_is_read_from_a_published_revision_and_from_tonights_run(tmp_path: Path) -> None:
    top = {"semiconductor": [{"sector": "semiconductor", "stock_code": "005930", "total_value": "710.00",
                              "total_volume": 10, "transaction_count": 2}]}  # fmt: skip
    rows = [sector("semiconductor", "1000.00", volume=10, count=2), sector("internet", "50.00", volume=5, count=1)]
    published(tmp_path, "2024-03-07", rows, top, "a" * 64)
    published(tmp_path, "2024-03-08", rows, top, "b" * 64)
    tonight = Session.read(validated_night(tmp_path, "2024-03-11", rows, top, input_sha256="b" * 64))
    history = history_before(DataFolder(tmp_path), "2024-03-11", 20)
    assert [s.date for s in history] == ["2024-03-08", "2024-03-07"]
    assert history[0].sectors["semiconductor"] == Figures(Decimal("1000.00"), 10, 2)
    assert tonight.stocks["005930"].price == Decimal(71)
    assert tonight.input_sha256 == frozenset({"b" * 64})
    assert finding(check_night(tonight, history), "same_input").figures["date"] == "2024-03-08"


@pytest.mark.parametrize(("value", "sessions"), [(None, 20), ("", 20), (" 30 ", 30), ("5", 5)])
def test_the_number_of_sessions_compared_is_a_setting(value: str | None, sessions: int) -> None:
    environ = {} if value is None else {SESSIONS_VARIABLE: value}
    assert sessions_from_env(environ) == sessions


@pytest.mark.parametrize("value", ["0", "-3", "4"])
def test_fewer_than_five_sessions_are_refused_in_one_paragraph_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=rf"^SECTOR_REPORT_PLAUSIBILITY_SESSIONS={value} is refused: ") as error:
        sessions_from_env({SESSIONS_VARIABLE: value})
    assert "\n" not in str(error.value)
    assert str(error.value).endswith("or leave SECTOR_REPORT_PLAUSIBILITY_SESSIONS empty for its default (20).")


@pytest.mark.parametrize("value", ["twenty", "1.5", "2e1", "²"])
def test_sessions_that_are_no_whole_number_name_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=r"^SECTOR_REPORT_PLAUSIBILITY_SESSIONS='.*' is not a whole number"):
        sessions_from_env({SESSIONS_VARIABLE: value})


def test_every_threshold_has_a_default_and_nonsense_is_refused() -> None:
    assert Thresholds().sessions == 20
    assert Thresholds().min_sessions == 5
    with pytest.raises(ValueError, match="min_sessions"):
        Thresholds(min_sessions=0)
    with pytest.raises(ValueError, match="price_factor"):
        Thresholds(price_factor=Decimal(1))


def test_a_correction_is_checked_against_the_revision_it_replaces_and_only_a_large_change_holds() -> None:
    replaced = day(TODAY, 7)
    small = dataclasses.replace(day(TODAY, 7), sectors={**replaced.sectors, "bank": Figures(Decimal(1), 1, 1)})
    assert not held(check_correction(small, replaced))
    findings = check_correction(day(TODAY, 7, scale=0.5), replaced)
    assert {f.check for f in held(findings)} == {"row_count", "total_value"}
    assert "same_input" not in {f.check for f in findings}, "a correction is the same day's file by design"
    assert finding(findings, "total_value").compared.sessions == 1


def test_accepting_findings_needs_known_checks_and_a_reason() -> None:
    assert Acceptance.of([], None) is None
    assert Acceptance.of(["row_count", "total_value", "row_count"], " half-day session ") == Acceptance(
        ("row_count", "total_value"), "half-day session"
    )
    with pytest.raises(ReportError, match=r"accept_findings names rows, which no plausibility check is"):
        Acceptance.of(["rows"], "half-day session")
    with pytest.raises(ReportError, match=r"without accept_reason"):
        Acceptance.of(["row_count"], "  ")


def test_an_accepted_finding_still_shows_and_holds_nothing_and_the_checks_read_back(tmp_path: Path) -> None:
    run = validated_night(tmp_path, TODAY, [sector("bank", "1.00")])
    findings = check_night(day(TODAY, 99, scale=0.5), HISTORY)
    checks = NightChecks("history", findings, Acceptance(("row_count",), "half-day session"))
    assert [f.check for f in checks.holding()] == ["total_value"]
    checks.write(run)
    assert NightChecks.read(run) == checks
    assert checks.audit_entry() == {
        "against": "history",
        "held": ["row_count", "total_value"],
        "warned": [],
        "accepted": {"checks": ["row_count"], "reason": "half-day session"},
        "holds": True,
    }
    assert NightChecks.read(validated_night(tmp_path, "2024-05-03", [sector("bank", "1.00")])) is None


def stock(code: str, value: str, volume: int) -> StockSummary:
    return StockSummary("bank", code, Decimal(value), volume, 1)


def test_a_run_is_checked_against_the_history_or_against_the_revision_it_would_replace(tmp_path: Path) -> None:
    rows = [sector("bank", "1000.00", volume=10, count=10)]
    for number, date in enumerate(reversed(sessions(5, before=TODAY))):
        published(tmp_path, date, rows, {}, f"{number:064x}")
    tonight = validated_night(tmp_path, TODAY, [sector("bank", "500.00", volume=5, count=5)], input_sha256="f" * 64)
    # Every stock's price, as validation keeps them: the price level compares all of them, not the top few.
    write_stock_totals(tonight, [stock("105560", "300.00", 3), stock("055550", "200.00", 2)])
    checks = check_run(tonight, sessions=20)
    assert checks.against == "history"
    assert {f.check for f in checks.holding()} == {"row_count", "total_value"}
    assert NightChecks.read(tonight) == checks
    assert Session.read(tonight).stocks["055550"] == Figures(Decimal("200.00"), 2, 1)

    published(tmp_path, TODAY, rows, {}, "e" * 64)
    halved = [sector("bank", "500.00", volume=5, count=5)]
    correction = check_run(validated_night(tmp_path, TODAY, halved, restatement=True), sessions=20)
    assert correction.against == "replaced"
    assert finding(correction.findings, "row_count").figures["median"] == "10"
    assert {f.check for f in correction.holding()} == {"row_count", "total_value"}
