"""
### Withdrawing a published night

A night that must not be read (a file from the wrong day, figures under investigation) is taken
away from readers on purpose, never as a side effect of a rerun. Trigger this DAG with the `date`
and a `reason`:

1. **withdraw**: the date's pointer (`published/<date>.json`) says "withdrawn" in one rename; the
   reports index and `latest` no longer list it, and the date's history records who withdrew which
   revision, when and why. Every revision stays kept in `revisions/<date>/`;
2. the `sector_report_daily` Asset event re-rolls the month without the night.

Publishing the date again is a nightly run of it (or a correction): its next revision.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, task

from include.sector_report import settings
from include.sector_report.dag_support import (
    DAILY_REPORT,
    DATA,
    alert_failed_withdrawal,
    alert_to_param,
    dag_args,
    fail_without_retry,
    locale_param,
    take_over_earlier_release,
)


@task(outlets=[DAILY_REPORT])
def withdraw(**context: Any) -> str:
    """Withdraw the night of ``date``, recording who asked and why."""
    from include.sector_report.reporting.publish import withdraw as withdraw_night

    params, dag_run = context["params"], context["dag_run"]
    by = f"{dag_run.triggering_user_name or 'unknown user'} ({dag_run.dag_id} {dag_run.run_id})"
    take_over_earlier_release()
    with fail_without_retry():
        revision = withdraw_night(
            DATA, params["date"], reason=params["reason"], by=by, locale=params["locale"], exchange=settings.EXCHANGE
        )
    context["outlet_events"][DAILY_REPORT].extra = {"report_date": revision.date, "withdrawn": revision.number}
    print(f"Withdrew revision {revision.number} of {revision.date} ({params['reason']}); kept at {revision.root}")
    return str(revision.root)


with DAG(
    dag_id="sector_report_withdrawal",
    description="Take a published night away from readers, with a reason recorded in its history",
    doc_md=__doc__,
    schedule=None,
    **dag_args(on_failure_callback=alert_failed_withdrawal, runs_flink=False),
    params={
        # No defaults: a withdrawal names its night and says why, or is not triggered.
        "date": Param(type="string", format="date", description="YYYY-MM-DD: the night to withdraw."),
        "reason": Param(type="string", minLength=1, description="Why: recorded in the date's history."),
        "locale": locale_param(of="the reports index"),
        "alert_to": alert_to_param(),
    },
):
    withdraw()
