"""Render a validated night: the HTML report and the console summary table."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..atomic_files import atomic_writer
from ..layout import MonthFolder, NightFolder, RunFolder, relative_link
from ..month import DaySectorSummary
from ..plausibility import PRICE_LEVEL, REPLACED, Compared, Finding, Json, NightChecks
from ..published_nights import published_before
from ..revisions import Revisions, StatedRevision, sector_changes
from ..summary import NightSummary, SectorSummary
from ..universe import load_universe
from .i18n import messages
from .trend import compact_money, sparkline, trend_chart

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
REPORT_TEMPLATE = "report.html.j2"
MONTH_TEMPLATE = "month_report.html.j2"
# The sector table's small trend: each sector's total value on the last published days, this one included.
TREND_DAYS = 7


def format_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def format_int(value: int) -> str:
    return f"{value:,}"


def format_change(percent: Decimal | None) -> str:
    return "–" if percent is None else f"{percent:+.1f}%"


def format_moment(iso: str) -> str:
    """A recorded time (ISO 8601, UTC) as readers read it: to the minute, saying its zone."""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_signed_money(value: Decimal) -> str:
    """A difference in money: signed, to the cent."""
    return f"{value:+,.2f}"


def format_signed_int(value: Decimal | int) -> str:
    """A difference in a count or a volume: signed, whole."""
    return f"{int(value):+,}"


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    env.filters["money"] = format_money
    env.filters["int"] = format_int
    env.filters["change"] = format_change
    env.filters["moment"] = format_moment
    env.filters["signed_money"] = format_signed_money
    env.filters["signed_int"] = format_signed_int
    return env


def report_view(run: NightFolder, *, locale: str) -> dict[str, Any]:
    """What a report on a validated night shows (the template's variables), in ``locale``: its figures, and
    the change since the latest night published before it."""
    summary = NightSummary.read(run)
    sectors = summary.sectors
    total_value = summary.total_value
    max_value = max((s.total_value for s in sectors), default=Decimal(0))
    earlier = published_before(run.data_folder, run.date, TREND_DAYS - 1)
    previous_run = earlier[-1] if earlier else None
    history = [NightSummary.read(r).values_by_sector() for r in earlier]
    previous = history[-1] if history else {}
    names = {stock.stock_code: getattr(stock, f"name_{locale}") for stock in load_universe()}
    rows = [
        {
            "summary": s,
            "share": (s.total_value / total_value * 100) if total_value else Decimal(0),
            "bar_fraction": float(s.total_value / max_value) if max_value else 0.0,
            "value_label": f"{compact_money(s.total_value, locale)} {messages(locale)['currency']}",
            "change": _change(s.total_value, previous.get(s.sector)),
            "trend": sparkline([*(day[s.sector] for day in history if s.sector in day), s.total_value]),
            "top_stocks": [
                {"stock": stock, "name": names.get(stock.stock_code, stock.stock_code)}
                for stock in summary.top_stocks.get(s.sector, [])
            ],
        }
        for s in sectors
    ]
    return {
        "t": messages(locale),
        "locale": locale,
        "logical_date": summary.logical_date,
        "rows": rows,
        "total_value": total_value,
        "total_change": _change(total_value, sum(previous.values(), Decimal(0)) if previous_run else None),
        "previous_date": previous_run.date if previous_run else None,
        "total_volume": summary.total_volume,
        "transaction_count": summary.transaction_count,
        "data_rows": summary.data_rows,
        "rejected_rows": summary.rejected_rows,
        "rejected_file": run.rejected_csv.name,
        "checks": checks_view(NightChecks.read(run), locale=locale),
    }


def render_report(run: RunFolder, *, locale: str, run_facts: dict[str, Any], held_preview: bool = False) -> Path:
    """Write the report of a validated night, staged: publishing it is a step of its own. The report is the date's
    next revision (its first, unless one was published before): ``revision.json`` says which.

    ``held_preview``: instead, the same report with a "held for approval" banner, for the person asked to approve
    a night its checks hold (``report.held.html``); the staged report, which readers get if it is approved, has none.
    """
    revision = StatedRevision.read(run) if held_preview else None
    number = revision.number if revision else Revisions.of(run).next_number()
    rendered_at = revision.rendered_at if revision else dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    view = report_view(run, locale=locale)
    html = (
        template_env()
        .get_template(REPORT_TEMPLATE)
        .render(
            **view,
            run_facts=run_facts,
            revision=revision_view(run, number, rendered_at),
            held_preview=held_preview,
        )
    )
    if held_preview:
        target = run.held_preview_html
    else:
        StatedRevision(number, rendered_at).write(run)
        target = run.staged_report_html
    with atomic_writer(target) as out:
        out.write(html)
    return target


def revision_view(run: NightFolder, number: int, rendered_at: str) -> dict[str, Any]:
    """What a report says of its revision: which one, from which input, what changed since the previous one
    published, and links to every earlier one published (relative to the revision's own page)."""
    revisions = Revisions.of(run)
    page = revisions.revision(number).report_html
    published = [record for record in revisions.published() if record["revision"] < number]
    earlier = [
        {
            "number": record["revision"],
            "published_at": record["published_at"],
            "href": relative_link(page, revisions.revision(record["revision"]).report_html),
        }
        for record in published
    ]
    previous = revisions.revision(published[-1]["revision"]) if published else None
    changes = sector_changes(NightSummary.read(previous), NightSummary.read(run)) if previous else []
    manifest = run.read_manifest()
    return {
        "number": number,
        "at": rendered_at,
        "input_files": manifest.get("input_files", []),
        "control": manifest["control"],
        "earlier": earlier,
        "previous": previous.number if previous else None,
        "changes": changes,
        "changed": any(change.changed for change in changes),
    }


def checks_view(checks: NightChecks | None, *, locale: str) -> dict[str, Any] | None:
    """What the report's checks section shows, each finding worded in ``locale``; None without findings."""
    if checks is None:
        return None
    t = messages(locale)
    holding = checks.holding()
    findings = [
        {
            "check": f.check,
            "name": t[f"check_{f.check}"],
            "verdict": f.verdict,
            "verdict_label": t[f"verdict_{f.verdict}"],
            "compared": t["compared_replaced"] if checks.against == REPLACED else _compared(f, t),
            "figures": _figures(f, t, locale),
            "accepted": checks.accepted.reason if checks.accepted and f.check in checks.accepted.checks else None,
            "holding": f in holding,
        }
        for f in checks.findings
    ]
    holding_names = [t[f"check_{f.check}"] for f in holding]
    intro = t["checks_intro_replaced"] if checks.against == REPLACED else t["checks_intro"]
    return {"intro": intro, "findings": findings, "holding": holding_names}


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person asked to approve a held night reads in Airflow's "Required actions" (the body is Markdown)."""

    subject: str
    body: str


def approval_request(night: NightFolder, *, staged_url: str | None, locale: str) -> ApprovalRequest:
    """The request for a night its checks hold: the findings that hold it, worded as the report words them, and
    a link to the staged report (``staged_url``, through the report viewer)."""
    t = messages(locale)
    view = checks_view(NightChecks.read(night), locale=locale)
    holding = [f for f in view["findings"] if f["holding"]] if view else []
    lines = [t["approval_intro"].format(date=night.date), ""]
    lines += [f"- **{f['name']}** ({f['verdict_label']}): {f['figures']} — {f['compared']}" for f in holding]
    if staged_url:
        lines += ["", f"[{t['approval_open']}]({staged_url})"]
    lines += ["", t["approval_choices"]]
    return ApprovalRequest(t["approval_subject"].format(date=night.date), "\n".join(lines))


def _compared(finding: Finding, t: dict[str, str]) -> str:
    """The sessions a finding compared the night with; for the price level, those its stocks were last seen in."""
    compared: Compared = finding.compared
    if not compared.sessions or compared.first is None or compared.last is None:
        return t["compared_no_stock"] if finding.check == PRICE_LEVEL else t["compared_no_session"]
    if compared.sessions == 1 and compared.first == compared.last:
        sessions = t["compared_one_session"].format(date=compared.last)
    else:
        sessions = t["compared_sessions"].format(count=compared.sessions, first=compared.first, last=compared.last)
    return t["compared_last_seen"].format(sessions=sessions) if finding.check == PRICE_LEVEL else sessions


def _figures(finding: Finding, t: dict[str, str], locale: str) -> str:
    """A finding's key figures, briefly."""
    figures, check = finding.figures, finding.check
    if "required_sessions" in figures:  # any check, with fewer earlier sessions than it needs
        return t["figures_too_little"].format(required=figures["required_sessions"])
    if check == PRICE_LEVEL:
        if figures.get("median_ratio") is None:
            return t["figures_price_few"].format(stocks=figures["stocks_compared"], required=figures["required_stocks"])
        return t["figures_price"].format(
            ratio=_decimal(figures["median_ratio"], 2),
            stocks=format_int(int(str(figures["stocks_compared"]))),
            moved=format_int(int(str(figures["stocks_moved"]))),
            low=_decimal(figures["low"], 1),
            high=_decimal(figures["high"], 1),
        )
    if check in ("row_count", "total_value"):

        def amount(value: Json) -> str:
            number = Decimal(str(value))
            if check == "row_count":
                return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.1f}"
            return f"{compact_money(number, locale)} {t['currency']}"

        deviation = Decimal(str(figures["deviation"]))
        return t["figures_total"].format(
            today=amount(figures["today"]),
            median=amount(figures["median"]),
            z=_decimal(figures["robust_z"], 1, exactly=True),
            deviation=format_change(deviation * 100) if deviation.is_finite() else "∞",
        )
    if check == "missing_sectors":
        missing = ", ".join(str(sector) for sector in _items(figures["missing"]))
        key = "figures_missing" if missing else "figures_none_missing"
        return t[key].format(sectors=missing, expected=figures["expected"])
    if check == "sector_share":
        moved = [
            t["figures_share_moved"].format(
                sector=item["sector"],
                today=_decimal(item["today"], 1, exactly=True),
                median=_decimal(item["median"], 1, exactly=True),
                points=f"{Decimal(str(item['points'])):+.1f}",
            )
            for item in _items(figures["moved"])
            if isinstance(item, dict)
        ]
        return "; ".join(moved) or t["figures_share_steady"].format(points=_decimal(figures["threshold_points"], 0))
    if check == "same_input":
        matched_by = figures.get("matched_by")
        key = {"sha256": "figures_same_files", "figures": "figures_same_figures"}.get(str(matched_by), "")
        return t[key or "figures_new_input"].format(date=figures.get("date"))
    return ""


def _items(value: Json) -> list[Json]:
    return value if isinstance(value, list) else []


def _decimal(value: Json, places: int, *, exactly: bool = False) -> str:
    """A decimal figure to ``places`` places (at least, unless ``exactly``); infinity as ∞."""
    number = Decimal(str(value))
    if not number.is_finite():
        return "∞"
    exponent = number.normalize().as_tuple().exponent
    shown = places if exactly or not isinstance(exponent, int) else max(places, -exponent)
    return f"{number:,.{shown}f}"


def _change(value: Decimal, previous: Decimal | None) -> Decimal | None:
    """Percent change against the previous report; None where there is nothing to compare with."""
    if not previous:
        return None
    return (value - previous) / previous * 100


def render_month(folder: MonthFolder, summary: dict[str, Any], *, locale: str) -> Path:
    """Write the month's self-contained report: sector table, daily trend per sector, table of days.

    The trend spaces the month's trading sessions so far evenly: a session without a published night
    is a visible gap, a weekend is none.
    """
    sectors = [SectorSummary.from_json(s) for s in summary["sectors"]]
    days = [DaySectorSummary.from_json(d) for d in summary["days"]]
    values = {(d.date, d.sector): d.total_value for d in days}
    axis = sorted({*summary["days_published"], *summary["days_missing"]})
    html = (
        template_env()
        .get_template(MONTH_TEMPLATE)
        .render(
            t=messages(locale),
            locale=locale,
            month=summary["month"],
            final=summary["final"],
            days_published=summary["days_published"],
            days_missing=summary["days_missing"],
            days_revised=summary.get("days_revised", []),
            sectors=sectors,
            days=days,
            chart=trend_chart(axis, [s.sector for s in sectors], values, locale=locale),
        )
    )
    with atomic_writer(folder.report_html) as out:
        out.write(html)
    return folder.report_html


def format_summary_table(sectors: Sequence[SectorSummary], locale: str) -> str:
    """The seed's console summary, with columns aligned even for Korean (double-width) text."""
    t = messages(locale)
    header = [t["sector"], t["total_value"], t["avg_price"], t["total_volume"], t["transaction_count"]]
    body = [
        [
            s.sector,
            format_money(s.total_value),
            format_money(s.avg_price),
            format_int(s.total_volume),
            format_int(s.transaction_count),
        ]
        for s in sectors
    ]
    widths = [max(_display_width(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = _pad(cells[0], widths[0], left=True)
        rest = (_pad(cell, width, left=False) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "-" * _display_width(line(header))
    return "\n".join([f"=== {t['title']} ===", line(header), rule, *map(line, body)])


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    fill = " " * (width - _display_width(text))
    return text + fill if left else fill + text
