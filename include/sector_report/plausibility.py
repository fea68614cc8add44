"""Is tonight plausible beside the sessions published before it? Findings for a night that passed every exactness check.

Validation proves that Flink's figures are the input's; it cannot tell that the input is the wrong one: half a
day's trades, a sector missing, the same trades twice (a file appended to itself) or yesterday's file under
today's name, prices in the wrong unit (every price x100 or /100). These checks compare the night with the latest
published revisions of the earlier sessions and say, for each, what they compared, the figures, and a verdict:

    passed               nothing implausible
    warned               worth a look; publishing goes on
    held                 implausible: the night should not be published until someone looks
    too_little_history   too few earlier sessions to judge; holds nothing

Every check but ``same_input`` needs ``Thresholds.min_sessions`` compared sessions; ``same_input`` compares with
whatever history there is, even one session: a file identical to an earlier session's is wrong however short the
history. Findings are data (figures as exact decimal strings), never prose: the report words them, in each locale.

Each check is a function of (today, the sessions it is compared with, thresholds), so comparing a correction with
the revision it replaces can reuse them with a history of one. No Airflow: it runs and is tested as plain Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Literal, TypeAlias, get_args

from .atomic_files import atomic_writer
from .errors import ReportError
from .layout import DataFolder, NightFolder, RunFolder
from .published_nights import published_before, published_revision
from .summary import NightSummary, StockSummary, exact_sum, read_stock_totals

Verdict = Literal["passed", "warned", "held", "too_little_history"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
# A finding's figures, as JSON holds them: money and ratios as exact decimal strings.
Json: TypeAlias = str | int | bool | None | list["Json"] | dict[str, "Json"]

ROW_COUNT, TOTAL_VALUE, MISSING_SECTORS = "row_count", "total_value", "missing_sectors"
SECTOR_SHARE, SAME_INPUT, PRICE_LEVEL = "sector_share", "same_input", "price_level"
# Every check, in the order check_night returns their findings.
CHECKS = (ROW_COUNT, TOTAL_VALUE, MISSING_SECTORS, SECTOR_SHARE, SAME_INPUT, PRICE_LEVEL)

SESSIONS_VARIABLE = "SECTOR_REPORT_PLAUSIBILITY_SESSIONS"
# What a run does with its findings (settings.PLAUSIBILITY): hold a night with a held finding for a person, only
# show the findings, or check nothing.
PLAUSIBILITY_MODES = ("hold", "warn", "off")
# The MAD of normally distributed figures times this is their standard deviation: a robust z is in sigmas.
MAD_TO_SIGMA = Decimal("1.4826")
_WIDE = Context(prec=60)


@dataclass(frozen=True)
class Thresholds:
    """What counts as implausible. Every default is here, each with why a trading desk would accept it."""

    # A month of sessions: a steady median, recent enough to follow the market (SECTOR_REPORT_PLAUSIBILITY_SESSIONS).
    sessions: int = 20
    # Below 5 sessions a median and MAD are one odd day from meaningless: the statistical checks hold nothing.
    min_sessions: int = 5
    # A total this many robust sigmas from the median holds: ordinary days (a few percent apart) are within 2-3.
    total_z_hold: Decimal = Decimal(5)
    # ... and only 40% or more from the median: half a day (-50%) and a doubled file (+100%) hold, a busy day does not.
    total_deviation_hold: Decimal = Decimal("0.4")
    # A total this many robust sigmas off warns: 3.5 is Iglewicz and Hoaglin's cut-off for an outlier.
    total_z_warn: Decimal = Decimal("3.5")
    # ... and only 15% or more off (about an hour of a 6.5-hour session missing): ties in the history warn of nothing.
    total_deviation_warn: Decimal = Decimal("0.15")
    # A sector's share of the day's value 10 percentage points off its median warns: themes move shares, rarely so far.
    share_warn_points: Decimal = Decimal(10)
    # Prices x100 or /100 hold; a day's median price change beyond 5x (or 1/5) is no market: KRX limits a day to +-30%.
    price_factor: Decimal = Decimal(5)
    # Fewer stocks than this priced in both sessions say too_little_history: one stock's split is not a unit error.
    price_min_stocks: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.min_sessions <= self.sessions:
            raise ValueError(f"Thresholds need 1 <= min_sessions <= sessions: {self}.")
        if self.price_factor <= 1 or self.price_min_stocks < 1:
            raise ValueError(f"Thresholds need price_factor > 1 and price_min_stocks >= 1: {self}.")


@dataclass(frozen=True)
class Figures:
    """A sector's or a stock's totals in one session."""

    value: Decimal
    volume: int
    count: int

    @property
    def price(self) -> Decimal | None:
        """The volume-weighted price; None with no volume."""
        return self.value / self.volume if self.volume else None


@dataclass(frozen=True)
class Session:
    """One session's figures as the checks see them: per sector, per stock (every stock, as validation keeps them;
    each sector's top stocks for a night kept before), and the SHA-256 of the files its input was made from (None
    when not recorded)."""

    date: str
    sectors: dict[str, Figures]
    stocks: dict[str, Figures] = field(default_factory=dict)
    input_sha256: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        summary: NightSummary,
        input_sha256: frozenset[str] | None = None,
        stocks: Sequence[StockSummary] | None = None,
    ) -> Session:
        """``stocks``: every stock's totals (``stock_totals.csv``); without them, each sector's top stocks."""
        sectors = {s.sector: Figures(s.total_value, s.total_volume, s.transaction_count) for s in summary.sectors}
        every = stocks if stocks is not None else [s for top in summary.top_stocks.values() for s in top]
        priced = {s.stock_code: Figures(s.total_value, s.total_volume, s.transaction_count) for s in every}
        return cls(summary.logical_date, sectors, priced, input_sha256)

    @classmethod
    def read(cls, night: NightFolder) -> Session:
        """A published revision's session, or today's run's once validation has written its summary."""
        from .revisions import input_files  # imports landing (numpy): not where the DAGs parse (settings, Params)

        try:
            digests = frozenset(f.sha256 for f in input_files(night)) or None
        except FileNotFoundError:  # no control.json: a night of a release before it
            digests = None
        session = cls.of(NightSummary.read(night), digests, read_stock_totals(night))
        return dataclasses.replace(session, date=night.date)

    @property
    def total_value(self) -> Decimal:
        return exact_sum(s.value for s in self.sectors.values())

    @property
    def transaction_count(self) -> int:
        return sum(s.count for s in self.sectors.values())


def history_before(data: DataFolder, date: str, sessions: int) -> list[Session]:
    """The ``sessions`` latest published sessions before ``date``, most recent first: ``check_night``'s history."""
    return [Session.read(night) for night in reversed(published_before(data, date, sessions))]


@dataclass(frozen=True)
class Compared:
    """What a check compared today with: how many published sessions, the oldest and the most recent one's date."""

    sessions: int
    first: str | None
    last: str | None

    @classmethod
    def of(cls, history: Sequence[Session]) -> Compared:
        dates = sorted(s.date for s in history)
        return cls(len(dates), dates[0] if dates else None, dates[-1] if dates else None)


@dataclass(frozen=True)
class Finding:
    """One check's outcome: its stable id, what it compared, the figures, and the verdict."""

    check: str
    verdict: Verdict
    compared: Compared
    figures: dict[str, Json]

    def to_json(self) -> dict[str, Json]:
        compared: dict[str, Json] = {"sessions": self.compared.sessions, "first": self.compared.first}
        compared["last"] = self.compared.last
        return {"check": self.check, "verdict": self.verdict, "compared": compared, "figures": self.figures}

    @classmethod
    def from_json(cls, data: Mapping[str, Json]) -> Finding:
        check, verdict, compared, figures = data["check"], data["verdict"], data["compared"], data["figures"]
        if check not in CHECKS or verdict not in VERDICTS or not isinstance(compared, dict):
            raise ValueError(f"Not a plausibility finding: {data!r}.")
        sessions, first, last = compared["sessions"], compared["first"], compared["last"]
        if not (isinstance(sessions, int) and isinstance(figures, dict)):
            raise ValueError(f"Not a plausibility finding: {data!r}.")
        return cls(str(check), verdict, Compared(sessions, _text(first), _text(last)), figures)


def held(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that hold the night."""
    return [f for f in findings if f.verdict == "held"]


def check_night(today: Session, history: Sequence[Session], thresholds: Thresholds | None = None) -> list[Finding]:
    """Every check's finding for ``today`` against ``history``, the earlier published sessions most recent first.

    With fewer than ``thresholds.min_sessions`` sessions every check but ``same_input`` says too_little_history."""
    thresholds = thresholds or Thresholds()
    _check_order(today, history)
    checks: dict[str, Callable[[], Finding]] = {
        ROW_COUNT: lambda: total(ROW_COUNT, _row_count, today, history, thresholds),
        TOTAL_VALUE: lambda: total(TOTAL_VALUE, _total_value, today, history, thresholds),
        MISSING_SECTORS: lambda: missing_sectors(today, history),
        SECTOR_SHARE: lambda: sector_share(today, history, thresholds),
        SAME_INPUT: lambda: same_input(today, history),
        PRICE_LEVEL: lambda: price_level(today, history, thresholds),
    }
    enough = len(history) >= thresholds.min_sessions
    return [
        run() if enough or check == SAME_INPUT else _too_little(check, history, thresholds.min_sessions)
        for check, run in checks.items()
    ]


def total(
    check: str,
    figure: Callable[[Session], Decimal],
    today: Session,
    history: Sequence[Session],
    thresholds: Thresholds,
) -> Finding:
    """A day's total (``figure``) against the history's median, in robust sigmas (MAD x 1.4826) and relatively:
    a verdict needs both beyond their threshold, so a history of ties (MAD 0) holds no night one row apart."""
    value, past = figure(today), [figure(s) for s in history]
    median = statistics.median(past)
    mad = statistics.median(abs(x - median) for x in past)
    deviation = abs(value - median)
    z = _ratio(deviation, MAD_TO_SIGMA * mad)
    relative = _ratio(deviation, median)
    if z > thresholds.total_z_hold and relative >= thresholds.total_deviation_hold:
        verdict: Verdict = "held"
    elif z > thresholds.total_z_warn and relative >= thresholds.total_deviation_warn:
        verdict = "warned"
    else:
        verdict = "passed"
    figures: dict[str, Json] = {"today": str(value), "median": str(median), "mad": str(mad)}
    figures.update(robust_z=_rounded(z, "0.01"), deviation=_rounded((value - median) / median if median else relative))
    return Finding(check, verdict, Compared.of(history), figures)


def missing_sectors(today: Session, history: Sequence[Session]) -> Finding:
    """The sectors every compared session traded and today did not: a feed that lost one holds."""
    always = set.intersection(*(set(s.sectors) for s in history)) if history else set()
    missing: list[Json] = [sector for sector in sorted(always - set(today.sectors))]
    figures: dict[str, Json] = {"missing": missing, "expected": len(always)}
    return Finding(MISSING_SECTORS, "held" if missing else "passed", Compared.of(history), figures)


def sector_share(today: Session, history: Sequence[Session], thresholds: Thresholds) -> Finding:
    """Each sector's share of the day's value (in percent) against its median share: beyond the threshold warns."""
    shares = [_shares(s) for s in history]
    now = _shares(today)
    moved: list[Json] = []
    for sector in sorted(set(now).union(*shares)):
        median = statistics.median(s.get(sector, Decimal(0)) for s in shares)
        points = now.get(sector, Decimal(0)) - median
        if abs(points) > thresholds.share_warn_points:
            share = _rounded(now.get(sector, Decimal(0)))
            moved.append({"sector": sector, "today": share, "median": _rounded(median), "points": _rounded(points)})
    figures: dict[str, Json] = {"moved": moved, "threshold_points": str(thresholds.share_warn_points)}
    return Finding(SECTOR_SHARE, "warned" if moved else "passed", Compared.of(history), figures)


def same_input(today: Session, history: Sequence[Session]) -> Finding:
    """Today's input is an earlier session's: the same files (SHA-256), or, whichever digests are known, the same
    figures in every sector (a day's trades do not repeat to the won). Holds, naming the most recent such date."""
    if not history:
        return Finding(SAME_INPUT, "too_little_history", Compared.of(history), {"required_sessions": 1})
    for earlier in history:
        if matched_by := _same_input(today, earlier):
            figures: dict[str, Json] = {"date": earlier.date, "matched_by": matched_by}
            return Finding(SAME_INPUT, "held", Compared.of(history), figures)
    return Finding(SAME_INPUT, "passed", Compared.of(history), {"date": None, "matched_by": None})


def price_level(today: Session, history: Sequence[Session], thresholds: Thresholds) -> Finding:
    """Each stock's volume-weighted price against its last compared session that recorded it: when the median ratio
    across the stocks is beyond the factor either way, the prices are in another unit and the night holds."""
    ratios: list[Decimal] = []
    dates: list[str] = []
    for code, figures in sorted(today.stocks.items()):
        then = next(((s.date, s.stocks[code].price) for s in history if s.stocks.get(code, _NONE).price), None)
        if figures.price and then is not None and then[1] is not None:
            ratios.append(figures.price / then[1])
            dates.append(then[0])
    low, high = 1 / thresholds.price_factor, thresholds.price_factor
    compared = Compared(len(set(dates)), min(dates, default=None), max(dates, default=None))
    result: dict[str, Json] = {"stocks_compared": len(ratios), "low": _rounded(low), "high": str(high)}
    if len(ratios) < thresholds.price_min_stocks:
        result.update(median_ratio=None, stocks_moved=0, required_stocks=thresholds.price_min_stocks)
        return Finding(PRICE_LEVEL, "too_little_history", compared, result)
    median = statistics.median(ratios)
    result.update(median_ratio=_rounded(median), stocks_moved=sum(1 for r in ratios if not low <= r <= high))
    return Finding(PRICE_LEVEL, "passed" if low <= median <= high else "held", compared, result)


def sessions_from_env(environ: Mapping[str, str] | None = None, thresholds: Thresholds | None = None) -> int:
    """How many earlier published sessions a night is compared with (``SECTOR_REPORT_PLAUSIBILITY_SESSIONS``): the
    default when unset or empty; a whole number of at least ``min_sessions``, else refused in one paragraph."""
    defaults = thresholds or Thresholds()
    value = (os.environ if environ is None else environ).get(SESSIONS_VARIABLE, "").strip()
    if not value:
        return defaults.sessions
    least = defaults.min_sessions
    if not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError(
            f"{SESSIONS_VARIABLE}={value!r} is not a whole number of sessions: set {least} or more, or leave it "
            f"empty for its default ({defaults.sessions})."
        )
    if int(value) < least:
        raise ValueError(
            f"{SESSIONS_VARIABLE}={value} is refused: with fewer than {least} earlier sessions to compare with, the "
            "checks of a night's totals, sectors and prices never have history enough and would pass every night "
            f'unchecked. 0 does not mean "no checks" here: set {least} or more, or leave {SESSIONS_VARIABLE} empty '
            f"for its default ({defaults.sessions})."
        )
    return int(value)


def check_correction(today: Session, replaced: Session, thresholds: Thresholds | None = None) -> list[Finding]:
    """A restatement's findings against the revision it replaces: the same thresholds, with that one session as
    the history (so a total moves only relatively: 40% holds, 15% warns). ``same_input`` is left out: a correction
    is the same day's file by design."""
    thresholds = thresholds or Thresholds()
    history = [replaced]
    return [
        total(ROW_COUNT, _row_count, today, history, thresholds),
        total(TOTAL_VALUE, _total_value, today, history, thresholds),
        missing_sectors(today, history),
        sector_share(today, history, thresholds),
        price_level(today, history, thresholds),
    ]


@dataclass(frozen=True)
class Acceptance:
    """Findings a person said are real for this night (a rerun's conf: a half-day session, a sector delisted), with
    why: they still show, but hold nothing."""

    checks: tuple[str, ...]
    reason: str

    @classmethod
    def of(cls, checks: Sequence[str], reason: str | None) -> Acceptance | None:
        """The acceptance a run's conf asks for (none when it names no check); refused in one paragraph when it
        names an unknown check or gives no reason."""
        if not checks:
            return None
        unknown = sorted(set(checks) - set(CHECKS))
        if unknown:
            raise ReportError(
                f"accept_findings names {', '.join(unknown)}, which no plausibility check is: name any of "
                f"{', '.join(CHECKS)} (the held findings' checks, as the report's checks section shows them)."
            )
        if not (reason or "").strip():
            raise ReportError(
                f"accept_findings accepts {', '.join(checks)} without accept_reason: say why the day is real "
                "(a half-day session, a sector delisted); the history records it with the revision."
            )
        return cls(tuple(sorted(set(checks))), (reason or "").strip())


@dataclass(frozen=True)
class NightChecks:
    """A night's findings (``checks.json``): what they were compared with (``against``: the earlier published
    sessions, or the revision a correction replaces), what a person accepted, and whether a held finding holds the
    night (``holds``: not when the run's checks only warn), and when they ran (``checked_at``, ISO UTC: an approval
    given before counts for nothing)."""

    against: str
    findings: list[Finding]
    accepted: Acceptance | None = None
    holds: bool = True
    checked_at: str | None = None

    def holding(self) -> list[Finding]:
        """The held findings nobody accepted, when they hold: while there is one, the night waits for a person."""
        accepted = self.accepted.checks if self.accepted else ()
        return [f for f in held(self.findings) if f.check not in accepted] if self.holds else []

    def audit_entry(self) -> dict[str, Json]:
        """What the history records of the checks with the revision: what held it, and what a person accepted."""
        return {
            "against": self.against,
            "held": [f.check for f in held(self.findings)],
            "warned": [f.check for f in self.findings if f.verdict == "warned"],
            "accepted": self.to_json()["accepted"],
            "holds": self.holds,
        }

    def to_json(self) -> dict[str, Json]:
        accepted: Json = None
        if self.accepted:
            accepted = {"checks": list(self.accepted.checks), "reason": self.accepted.reason}
        findings: Json = [f.to_json() for f in self.findings]
        return {
            "against": self.against,
            "findings": findings,
            "accepted": accepted,
            "holds": self.holds,
            "checked_at": self.checked_at,
        }

    def write(self, night: RunFolder) -> None:
        with atomic_writer(night.checks_json) as out:
            json.dump(self.to_json(), out, indent=2, ensure_ascii=False)

    @classmethod
    def read(cls, night: NightFolder) -> NightChecks | None:
        """A night's findings; None for a night checked by no release (or with the checks off)."""
        if not night.checks_json.is_file():
            return None
        data = json.loads(night.checks_json.read_text(encoding="utf-8"))
        accepted = data.get("accepted")
        return cls(
            str(data["against"]),
            [Finding.from_json(f) for f in data["findings"]],
            Acceptance(tuple(accepted["checks"]), str(accepted["reason"])) if accepted else None,
            bool(data.get("holds", True)),
            data.get("checked_at"),
        )


# Which history a night was checked against (NightChecks.against).
HISTORY, REPLACED = "history", "replaced"


def check_run(
    night: RunFolder, *, sessions: int, accepted: Acceptance | None = None, holds: bool = True
) -> NightChecks:
    """Check a validated night and write its ``checks.json``: against the revision it would replace when its date
    is published (a correction, or a rerun), else against the ``sessions`` latest published sessions before it.
    ``holds``: whether a held finding holds the night (the run's checks are set to hold, not to warn)."""
    today = Session.read(night)
    checked_at = dt.datetime.now(dt.UTC).isoformat()
    replaced = published_revision(night.data_folder, night.date)
    if replaced is not None:
        findings, against = check_correction(today, Session.read(replaced)), REPLACED
    else:
        findings, against = check_night(today, history_before(night.data_folder, night.date, sessions)), HISTORY
    checks = NightChecks(against, findings, accepted, holds, checked_at)
    checks.write(night)
    return checks


_NONE = Figures(Decimal(0), 0, 0)


def _row_count(session: Session) -> Decimal:
    """The figure the row count check compares: the session's transactions."""
    return Decimal(session.transaction_count)


def _total_value(session: Session) -> Decimal:
    """The figure the total value check compares."""
    return session.total_value


def _check_order(today: Session, history: Sequence[Session]) -> None:
    dates = [s.date for s in history]
    if not all(later > earlier for later, earlier in zip([today.date, *dates], dates, strict=False)):
        raise ValueError(f"The history of {today.date} must be earlier sessions, most recent first: {dates}.")


def _too_little(check: str, history: Sequence[Session], required: int) -> Finding:
    return Finding(check, "too_little_history", Compared.of(history), {"required_sessions": required})


def _same_input(today: Session, earlier: Session) -> str | None:
    if today.input_sha256 is not None and today.input_sha256 == earlier.input_sha256:
        return "sha256"
    if today.sectors and today.sectors == earlier.sectors:
        return "figures"
    return None


def _shares(session: Session) -> dict[str, Decimal]:
    """Each sector's share of the session's value, in percent (none for a session without value)."""
    whole = session.total_value
    return {sector: s.value * 100 / whole for sector, s in session.sectors.items()} if whole else {}


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    """``part / whole``; infinite for a whole of 0 but for a part of 0 (then 0)."""
    if whole:
        return part / whole
    return Decimal("Infinity") if part else Decimal(0)


def _rounded(number: Decimal, places: str = "0.0001") -> str:
    return str(number.quantize(Decimal(places), context=_WIDE) if number.is_finite() else number)


def _text(value: Json) -> str | None:
    return None if value is None else str(value)
