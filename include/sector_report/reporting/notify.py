"""Send the mails of :mod:`.mail` through Airflow's SMTP notifier and the ``smtp_default`` connection.

The one module of this package that uses Airflow, and only inside its functions: importing it
needs no Airflow (nor the mail templates' dependencies), so the DAGs import it at parse time
to wire these as their callbacks.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from .mail import Mail

from .run_folder import report_date_of

DEFAULT_LOCALE = "ko"


def addresses_from_env(name: str) -> list[str]:
    """A comma-separated list of mail addresses in environment variable ``name`` (empty if unset)."""
    return [address.strip() for address in os.environ.get(name, "").split(",") if address.strip()]


# Who is told when a run's conf does not say (scheduled nights), read where the DAGs are parsed.
DEFAULT_EMAIL_TO = addresses_from_env("SECTOR_REPORT_EMAIL_TO")
DEFAULT_ALERT_TO = addresses_from_env("SECTOR_REPORT_ALERT_TO")
# Mail addresses as a DAG param's JSON schema.
EMAIL_LIST = {"type": "array", "items": {"type": "string", "pattern": r"^[^@\s,;]+@[^@\s,;]+$"}}


def notifier(to: list[str], mail: Mail, files: list[str] | None = None):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to=to, subject=mail.subject, html_content=mail.html, files=files)


def send(context: Mapping[str, Any], to: list[str], mail: Mail, files: list[str] | None = None) -> None:
    notifier(to, mail, files).notify(context)


def alert_failed_task(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``: a task failed for good (retries spent, or a failure no retry fixes)."""
    from .mail import failure_alert

    params, ti = context["params"], context["ti"]
    if not params.get("alert_to"):
        return
    error = str(context.get("exception") or "The task failed without an error message; see its log.")
    mail = failure_alert(
        dag_id=ti.dag_id,
        report_date=report_date_of(context.get("logical_date") or context["dag_run"].run_after).isoformat(),
        task_id=ti.task_id,
        error=error,
        log_url=ti.log_url,
        locale=params["locale"],
    )
    send(context, params["alert_to"], mail)


async def alert_late_run(context: Mapping[str, Any], *, alert_to: list[str], locale: str) -> None:
    """A ``DeadlineAlert`` callback (it runs in the triggerer): the run has not published by its deadline.

    The triggerer passes the run as the API returns it, without its params: the recipients and the
    locale are the run's conf's, else the DAG's defaults given as ``alert_to`` and ``locale``.
    """
    from airflow.configuration import conf as airflow_conf

    from .mail import late_alert

    run = context["dag_run"]
    settings = {"alert_to": alert_to, "locale": locale, **(run.get("conf") or {})}
    if not settings["alert_to"]:
        return
    base_url = airflow_conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    deadline = context["deadline"]["deadline_time"]
    mail = late_alert(
        dag_id=run["dag_id"],
        report_date=report_date_of(run.get("logical_date") or run["run_after"]).isoformat(),
        deadline=deadline.isoformat() if isinstance(deadline, dt.datetime) else str(deadline),
        run_url=f"{base_url}/dags/{run['dag_id']}/runs/{quote(run['dag_run_id'], safe='')}",
        locale=settings["locale"],
    )
    await notifier(settings["alert_to"], mail).async_notify({})
