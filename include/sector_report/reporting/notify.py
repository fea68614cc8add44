"""Send the mails of :mod:`.mail` through Airflow's SMTP notifier and the ``smtp_default`` connection.

The one module of this package that uses Airflow, and only inside its functions: importing it
needs no Airflow (nor the mail templates' dependencies), so the DAGs import it at parse time
to wire these as their callbacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..failures import Failure
    from .mail import Mail

from ..layout import report_date_of

# Mail addresses as a DAG param's JSON schema.
EMAIL_LIST = {"type": "array", "items": {"type": "string", "pattern": r"^[^@\s,;]+@[^@\s,;]+$"}}


def notifier(to: list[str], mail: Mail, files: list[str] | None = None):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to=to, subject=mail.subject, html_content=mail.html, files=files)


def send(context: Mapping[str, Any], to: list[str], mail: Mail, files: list[str] | None = None) -> None:
    notifier(to, mail, files).notify(context)


def task_error(context: Mapping[str, Any]) -> str:
    """What a failed task's callback says went wrong."""
    return str(context.get("exception") or "The task failed without an error message; see its log.")


def alert_failed_task(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``: a task failed for good (retries spent, or a failure no retry fixes)."""
    from .mail import failure_alert

    params, ti = context["params"], context["ti"]
    if not params.get("alert_to"):
        return
    mail = failure_alert(
        dag_id=ti.dag_id,
        report_date=report_date_of(context.get("logical_date") or context["dag_run"].run_after).isoformat(),
        task_id=ti.task_id,
        error=task_error(context),
        log_url=ti.log_url,
        locale=params["locale"],
    )
    send(context, params["alert_to"], mail)


def alert_late_night(
    context: Mapping[str, Any],
    *,
    night_dag_id: str,
    report_date: str,
    deadline: dt.datetime,
    night_state: str,
    failure: Failure | None,
) -> None:
    """The night of ``report_date`` was not published by ``deadline``: tell ``alert_to`` (the running task's
    params) what its run is doing (``night_state``) and, if it failed, what failed, with a link to the nightly
    DAG's runs."""
    from airflow.configuration import conf as airflow_conf

    from .mail import late_alert

    params = context["params"]
    if not params.get("alert_to"):
        return
    base_url = airflow_conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    mail = late_alert(
        dag_id=night_dag_id,
        report_date=report_date,
        deadline=deadline.isoformat(),
        night_state=night_state,
        failure=failure,
        run_url=f"{base_url}/dags/{quote(night_dag_id, safe='')}/runs",
        locale=params["locale"],
    )
    send(context, params["alert_to"], mail)
