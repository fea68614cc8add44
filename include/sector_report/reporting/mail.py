"""Mail about a nightly run: the report for its readers, alerts for the people who run it.

Mail clients drop style sheets and scripts and do not show inline SVG, so the messages are
tables with inline styles only; the self-contained report travels as an attachment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ReportError
from ..failure_record import Failure
from ..layout import RevisionFolder
from ..revisions import StatedRevision
from .i18n import messages
from .render import format_money, report_view, revision_view, template_env

REPORT_MAIL_TEMPLATE = "report_mail.html.j2"
CORRECTION_MAIL_TEMPLATE = "correction_mail.html.j2"
ALERT_MAIL_TEMPLATE = "alert_mail.html.j2"
# An alert quotes at most this much of an error's first paragraph.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Mail:
    subject: str
    html: str


def report_mail(run: RevisionFolder, *, locale: str) -> Mail:
    """The day's key figures and sector table, for a run whose report has been published."""
    view = report_view(run, locale=locale)
    t = view["t"]
    subject = (
        f"{t['title']} {view['logical_date']}: {t['total_value']} {format_money(view['total_value'])} {t['currency']}"
    )
    return Mail(subject, template_env().get_template(REPORT_MAIL_TEMPLATE).render(**view))


def correction_mail(run: RevisionFolder, *, locale: str) -> Mail:
    """The night's figures were restated: which date, which revision, and what changed by sector, for the
    readers who were sent an earlier revision."""
    t = messages(locale)
    stated = StatedRevision.read(run)
    if stated is None:
        raise ReportError(f"The night of {run.date} has no rendered revision ({run.revision_json}) to tell readers of.")
    revision = revision_view(run, stated.number, stated.rendered_at)
    subject = f"[{t['correction']}] {t['title']} {run.date}: {t['revision']} {revision['number']}"
    html = (
        template_env()
        .get_template(CORRECTION_MAIL_TEMPLATE)
        .render(t=t, locale=locale, subject=subject, date=run.date, revision=revision)
    )
    return Mail(subject, html)


def failure_alert(*, dag_id: str, report_date: str, task_id: str, error: str, log_url: str, locale: str) -> Mail:
    """A task failed for good: which one, why (the error's first paragraph) and where its log is."""
    t = messages(locale)
    subject = f"[{t['alert_failed']}] {dag_id} {report_date}: {task_id}"
    facts = [(t["task"], task_id), (t["error"], first_paragraph(error))]
    return _alert(subject, t["alert_failed_intro"], dag_id, report_date, facts, t["log"], log_url, locale)


def late_alert(
    *,
    dag_id: str,
    report_date: str,
    deadline: str,
    night_state: str,
    failure: Failure | None,
    run_url: str,
    locale: str,
) -> Mail:
    """A night has not been published by its deadline; ``night_state`` is its run's state, or ``none``; a failed
    night's ``failure`` says which task failed and why."""
    t = messages(locale)
    subject = f"[{t['alert_late']}] {dag_id} {report_date}"
    facts = [(t["deadline"], deadline), (t["night_state"], t[f"night_{night_state}"])]
    if failure:
        facts += [(t["task"], failure.task_id), (t["error"], first_paragraph(failure.error))]
    return _alert(subject, t["alert_late_intro"], dag_id, report_date, facts, t["run"], run_url, locale)


def first_paragraph(text: str) -> str:
    """The text up to its first blank line: this project's errors say what went wrong in one paragraph."""
    paragraph = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0].strip()
    return paragraph if len(paragraph) <= MAX_ERROR_CHARS else paragraph[: MAX_ERROR_CHARS - 1] + "…"


def _alert(
    subject: str,
    intro: str,
    dag_id: str,
    report_date: str,
    facts: list[tuple[str, str]],
    link_label: str,
    url: str,
    locale: str,
) -> Mail:
    html = (
        template_env()
        .get_template(ALERT_MAIL_TEMPLATE)
        .render(
            t=messages(locale),
            locale=locale,
            subject=subject,
            intro=intro,
            dag_id=dag_id,
            report_date=report_date,
            facts=facts,
            link_label=link_label,
            url=url,
        )
    )
    return Mail(subject, html)
