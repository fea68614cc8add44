"""
### Nightly sector report: the deadline

For every trading session, `SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES` (default 480) after the nightly
report's 23:00 (Asia/Seoul) run time, so by 07:00 the next morning, this DAG checks whether the
session's night has been published, and if not mails a "late" alert to `alert_to`
(`SECTOR_REPORT_ALERT_TO`) saying what its scheduled run is doing: still running (for example
waiting for its file), failed (which task, and its error), or never started.

It is a DAG of its own, on the same trading-session timetable: a night that is still running, one
that failed, and one the scheduler never started are all late alike, and the nightly runs stay
plain runs that can be cleared and rerun.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task
from airflow_report_kit.timetables.exchange_sessions import ExchangeSessionTimetable

from include.sector_report import settings
from include.sector_report.dag_support import (
    APPROVAL_TASK,
    DATA,
    alert_late_night,
    alert_to_param,
    dag_args,
    locale_param,
    take_over_earlier_release,
)
from include.sector_report.report_dates import report_date_of

NIGHTLY_DAG_ID = "nightly_sector_report"
# What the late night's run may be doing, as the alert names it.
NIGHT_STATES = ("queued", "running", "failed", "success")


@task
def check_published(**context: Any) -> bool:
    """True if the session's night is published; otherwise alert ``alert_to`` that it is late."""
    from include.sector_report.failure_record import last_failure
    from include.sector_report.published_nights import published_revision

    day = report_date_of(context["logical_date"]).isoformat()
    take_over_earlier_release()
    if published := published_revision(DATA, day):
        print(f"The night of {day} was published in time: {published.report_html}")
        return True
    deadline = context["dag_run"].run_after
    ti, session = context["ti"], [context["logical_date"]]
    # The session's scheduled night has the same logical date as this run: the same timetable's session.
    state = next(
        (s for s in NIGHT_STATES if ti.get_dr_count(dag_id=NIGHTLY_DAG_ID, logical_dates=session, states=[s])), "none"
    )
    held_run = None
    if state == "running":  # held for approval (see NightApproval): a running night that waits for a person
        tasks = ti.get_task_states(dag_id=NIGHTLY_DAG_ID, logical_dates=session, task_ids=[APPROVAL_TASK])
        held_run = next((run for run, of in tasks.items() if of.get(APPROVAL_TASK) == "awaiting_input"), None)
        state = "held" if held_run else state
    failure = last_failure(DATA.run(day)) if state == "failed" else None
    why = f"; {failure.task_id} failed" if failure else ""
    print(f"The night of {day} was not published by {deadline} (its run: {state}{why}): alerting alert_to")
    alert_late_night(
        context,
        night_dag_id=NIGHTLY_DAG_ID,
        report_date=day,
        deadline=deadline,
        night_state=state,
        failure=failure,
        held_run=held_run,
    )
    return False


with DAG(
    dag_id="nightly_sector_report_deadline",
    description="Alerts when a trading session's nightly sector report is not published in time",
    doc_md=__doc__,
    schedule=ExchangeSessionTimetable(
        settings.EXCHANGE, at=settings.NIGHTLY_AT, timezone=settings.TIMEZONE, delay=settings.PUBLISH_DEADLINE
    ),
    **dag_args(runs_flink=False),
    params={
        "alert_to": alert_to_param("Addresses told when a night is late."),
        "locale": locale_param(of="the alert"),
    },
):
    check_published()
