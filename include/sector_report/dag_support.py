"""What the DAGs share, and the package's one seam with Airflow: the data folder, the DAGs' defaults and the Params
they have in common, the chain of tasks that makes and publishes a night (:func:`report_chain`), the night a task
works on, failing without a retry, the callbacks that record why a night failed and alert on-call, and sending
the mails of :mod:`.reporting.mail` through Airflow's SMTP notifier (the ``smtp_default`` connection).

The only module of this package that imports Airflow (ruff's TID251 keeps it so): the domain modules stay plain
Python, tested without Airflow. The mail templates and the publication are imported inside the callbacks, so
parsing a DAG stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import quote, urlparse

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator
from airflow_report_kit.viewer.links import ReportLink, publish_pages, serve_pages

from . import settings
from .errors import ReportError
from .layout import DataFolder, RevisionFolder, RunFolder
from .plausibility import CHECKS, PLAUSIBILITY_MODES
from .report_dates import report_date_of
from .reporting.i18n import LOCALES

if TYPE_CHECKING:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier
    from airflow.sdk import Context as TaskContext

    from .failure_record import Failure
    from .plausibility import Finding, NightChecks
    from .reporting.mail import Mail
    from .reporting.publish import Audit

Context = Mapping[str, Any]

DATA = DataFolder(settings.DATA_ROOT)

# The night's aggregation, as the nightly and restatement DAGs run it (relative to their template_searchpath).
SECTOR_SUMMARY_SQL = "sql/nightly_sector_report/sector_summary.sql"
# The restatement DAG's first task: what it returns names the corrected file and its date.
CLAIM_TASK = "take_up_correction"
# The task a night whose checks hold it waits in for a person (see NightApproval).
APPROVAL_TASK = "wait_for_approval"

# Mail addresses as a DAG param's JSON schema.
EMAIL_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string", "pattern": r"^[^@\s,;]+@[^@\s,;]+$"}}


def email_list_param(addresses: list[str], description: str) -> Param:
    """A param of mail addresses (``alert_to``, ``email_to``), defaulting to the deployment's ``addresses``."""
    return Param(addresses, **EMAIL_LIST, description=description)


def alert_to_param(description: str = "Addresses told when a run fails.") -> Param:
    return email_list_param(settings.ALERT_TO, description)


def locale_param(of: str = "the report") -> Param:
    return Param(settings.LOCALE, enum=list(LOCALES), description=f"Language of {of}.")


def plausibility_params() -> dict[str, Param]:
    """The Params of a DAG that checks its night against the published history before publishing it."""
    return {
        "plausibility": Param(
            settings.PLAUSIBILITY,
            enum=list(PLAUSIBILITY_MODES),
            description="A night whose checks find it implausible: 'hold' it for a person to approve, only 'warn' "
            "in its report, or check 'off'; default: SECTOR_REPORT_PLAUSIBILITY.",
        ),
        "accept_findings": Param(
            [],
            type="array",
            items={"type": "string", "enum": list(CHECKS)},
            description="Checks whose held findings this run accepts as real (a half-day session, a sector "
            "delisted): they show in the report and the history, and hold nothing. Needs accept_reason.",
        ),
        "accept_reason": Param(
            None, type=["null", "string"], description="Why the accepted findings are real, for the history."
        ),
    }


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Bad input or failed validation fails the same way on every try: do not retry it."""
    try:
        yield
    except ReportError as exc:
        raise AirflowFailException(str(exc)) from exc


def report_date(context: Context | None = None) -> dt.date:
    """The business day a run reports on: its logical date, as a date in Seoul."""
    context = context if context is not None else get_current_context()
    return report_date_of(context.get("logical_date") or context["dag_run"].run_after)


def night_of(context: Context) -> RunFolder:
    """The run folder of the night a task of the nightly DAG works on."""
    return DATA.run(report_date(context).isoformat())


def sector_summary_params(prepared: Any) -> dict[str, Any]:
    """The night's Flink job's ``sql_params``, from what prepare_input returned (in the wiring, its XComArg)."""
    return {key: prepared[key] for key in ("transactions_path", "stocks_path", "sector_sink_path", "stock_sink_path")}


def flink_paths(run: RunFolder) -> dict[str, str]:
    """What a prepared night hands the later tasks: its folder, and the Flink job's inputs and sinks."""
    return {
        "run_dir": str(run.root),
        "transactions_path": str(run.transactions_csv),
        "stocks_path": str(run.stocks_csv),
        "sector_sink_path": str(run.sector_sink_dir),
        "stock_sink_path": str(run.stock_sink_dir),
    }


def run_facts(context: Context, flink_job: Mapping[str, Any]) -> dict[str, Any]:
    """What a report's run facts say of the run that made it."""
    return {
        "run_id": context["run_id"],
        "flink_job_id": flink_job["job_id"],
        "flink_duration_s": flink_job["duration_s"],
    }


def revision_audit(context: Context) -> Audit:
    """The audit line of the revision the running ``publish`` task publishes (see :mod:`.revisions`). Its
    recipients: the run's ``email_to`` (a night), or whoever earlier revisions went to (a restatement's mail)."""
    from .revisions import audit_record, night_recipients

    ti, params = context["ti"], context["params"]
    # Asked of the API server now, before the publication: inside it (the index lock held) a call to an API server
    # that does not answer would hold every other publication.
    job = ti.xcom_pull(task_ids="aggregate")

    approval = ti.xcom_pull(task_ids=APPROVAL_TASK)

    def audit(run: RunFolder, number: int) -> dict[str, Any]:
        from .plausibility import NightChecks

        recipients = params["email_to"] if "email_to" in params else night_recipients(run, before=number)
        record = audit_record(
            run, revision=number, flink_job_id=job["job_id"], dag_id=ti.dag_id, run_id=ti.run_id, recipients=recipients
        )
        if checks := NightChecks.read(run):
            record["checks"] = checks.audit_entry()
            if checks.holding() and approved_since_checked(checks, approval):  # held, and a person approved it
                record["approved"] = approval_entry(approval or {})
        return record

    return audit


def approval_entry(approval: Mapping[str, Any]) -> dict[str, Any]:
    """Who approved a held night, when, and what they said (the approval task's result, as its XCom holds it)."""
    user, at = approval.get("responded_by_user") or {}, approval.get("responded_at")
    return {
        "by": user.get("name") or user.get("id") or "(unknown)",
        "at": at.isoformat() if isinstance(at, dt.datetime) else str(at),
        "comment": (approval.get("params_input") or {}).get("comment") or "",
    }


def take_over_earlier_release() -> None:
    """Take over the nights an earlier release published in the data folder (:mod:`.upgrade`), each new page served
    to whoever read its old one. Cheap when there is nothing to take over: ``make airflow`` calls it at the start
    (``python -m include.sector_report take-over``), and every task that publishes or reads what is published calls it
    first, so a deployment started otherwise (docker-compose) takes over with its first such task."""
    from airflow_report_kit.viewer.links import serve_like

    from .upgrade import TakenOver, take_over

    def serve(moved: TakenOver) -> None:
        if not any(serve_like(moved.page, was) for was in moved.was):
            print(f"No reader of {' or '.join(map(str, moved.was))} is known: {moved.page} is served to nobody yet")

    for moved in take_over(DATA, locale=settings.LOCALE, exchange=settings.EXCHANGE, serve=serve):
        print(f"Took over {moved.was[0]} as {moved.page}")


def daily_report_event(night: RevisionFolder) -> dict[str, Any]:
    """The facts of the ``sector_report_daily`` Asset event a published revision sends: the monthly DAG rolls up
    the months of their report dates."""
    from .summary import NightSummary

    summary = NightSummary.read(night)
    return {
        "report_date": summary.logical_date,
        "rows": summary.totals.rows,
        "total_value": str(summary.totals.total_value),
        "revision": night.number,
    }


def task_error(context: Context) -> str:
    """What a failed task's callback says went wrong."""
    return str(context.get("exception") or "The task failed without an error message; see its log.")


def record_night_failure(context: Context) -> None:
    """``on_failure_callback`` of the nightly DAG's tasks: keep what failed, for the deadline's late alert."""
    from .failure_record import Failure, record_failure

    ti = context["ti"]
    now = dt.datetime.now(dt.UTC).isoformat()
    record_failure(night_of(context), Failure(task_id=ti.task_id, run_id=ti.run_id, error=task_error(context), at=now))


def notifier(to: list[str], mail: Mail, files: list[str] | None = None) -> SmtpNotifier:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to=to, subject=mail.subject, html_content=mail.html, files=files)


def send(context: Context, to: list[str], mail: Mail, files: list[str] | None = None) -> None:
    # Callers pass Airflow's task context (a callback's, or a task's **context), typed here as a plain Mapping.
    notifier(to, mail, files).notify(cast("TaskContext", context))


def send_with_report(context: Context, to: list[str], mail: Mail, night: RevisionFolder) -> None:
    """Send ``mail`` with the night's published report attached, named for its readers: it says which day it is."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        attachment = shutil.copy(night.report_html, Path(folder) / f"sector-report-{night.date}.html")
        send(context, to, mail, files=[str(attachment)])


def alert_failed_task(context: Context) -> None:
    """``on_failure_callback``: a task failed for good (retries spent, or a failure no retry fixes)."""
    _alert_failed(context, report_date(context).isoformat())


def restated_date(context: Context) -> str | None:
    """The date a restatement run reissues: its corrected file's once taken up, else the one it was asked for."""
    taken = context["ti"].xcom_pull(task_ids=CLAIM_TASK)
    return str(taken["date"]) if taken else context["params"].get("date")


def alert_failed_restatement(context: Context) -> None:
    """``on_failure_callback`` of the restatement DAG: as :func:`alert_failed_task`, naming the date restated."""
    _alert_failed(context, restated_date(context) or "(no corrected file taken up)")


def alert_failed_withdrawal(context: Context) -> None:
    """``on_failure_callback`` of the withdrawal DAG: as :func:`alert_failed_task`, naming the night asked for (a
    withdrawal's run is of the moment it was triggered, not of its night)."""
    _alert_failed(context, context["params"].get("date") or "(no date given)")


def _alert_failed(context: Context, report_date: str) -> None:
    from .reporting.mail import failure_alert

    params, ti = context["params"], context["ti"]
    if not params.get("alert_to"):
        return
    mail = failure_alert(
        dag_id=ti.dag_id,
        report_date=report_date,
        task_id=ti.task_id,
        error=task_error(context),
        log_url=ti.log_url,
        locale=params["locale"],
    )
    send(context, params["alert_to"], mail)


def alert_late_night(
    context: Context,
    *,
    night_dag_id: str,
    report_date: str,
    deadline: dt.datetime,
    night_state: str,
    failure: Failure | None,
    held_run: str | None = None,
) -> None:
    """The night of ``report_date`` was not published by ``deadline``: tell ``alert_to`` (the running task's
    params) what its run is doing (``night_state``) and, if it failed, what failed, with a link to the nightly
    DAG's runs, or, when it is held for approval (``held_run``), to the run's approval."""
    from .reporting.mail import late_alert

    params = context["params"]
    if not params.get("alert_to"):
        return
    base_url = airflow_conf_base_url()
    mail = late_alert(
        dag_id=night_dag_id,
        report_date=report_date,
        deadline=deadline.isoformat(),
        night_state=night_state,
        failure=failure,
        run_url=f"{base_url}/dags/{quote(night_dag_id, safe='')}/runs"
        + (f"/{quote(held_run, safe='')}/tasks/{APPROVAL_TASK}/required_actions" if held_run else ""),
        locale=params["locale"],
    )
    send(context, params["alert_to"], mail)


# Every task: an owner and two retries of transient failures (and, from dag_args, its DAG's failure callback).
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": settings.RETRY_DELAY,
}
# The nightly DAG's tasks also record why the night failed, for the deadline's late alert.
NIGHT_FAILURE_CALLBACKS: list[Callable[[Context], None]] = [record_night_failure, alert_failed_task]


def dag_args(
    *,
    on_failure_callback: Callable[[Context], None] | list[Callable[[Context], None]] = alert_failed_task,
    runs_flink: bool = True,
) -> dict[str, Any]:
    """What every DAG of the package is alike in, as ``DAG(**dag_args(...))`` takes it: ``on_failure_callback`` is
    its tasks' callback when one fails for good; ``runs_flink`` tags the DAGs that run Flink jobs."""
    return {
        "start_date": pendulum.datetime(2020, 1, 1, tz=settings.TIMEZONE),  # the earliest reportable date
        "catchup": False,  # a new deployment must not replay history
        "max_active_runs": 1,
        "template_searchpath": [str(settings.INCLUDE_DIR)],  # the Flink jobs' SQL, under include/sql/
        "default_args": {**DEFAULT_ARGS, "on_failure_callback": on_failure_callback},
        "tags": ["reporting", "flink"] if runs_flink else ["reporting"],
    }


# A Flink job of the package's (the PyFlinkSqlOperator's arguments): where it runs, and how long it may take.
FLINK_JOB: dict[str, Any] = {
    "target": settings.FLINK_TARGET,
    "slot_wait_timeout": settings.FLINK_SLOT_WAIT_SECONDS,
    "slot_wait_setting": "SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS",
    "execution_timeout": settings.FLINK_JOB_TIMEOUT,
}
DAILY_REPORT = Asset(settings.DAILY_REPORT_ASSET)


class NightApproval(HITLOperator):
    """Waits for a person when the night's plausibility checks hold it, and only then: a night with no held finding
    (or accepted ones, or the checks set to warn or off) passes at once. The person sees the findings and a link to
    the staged report in Airflow's "Required actions"; Approve publishes it (publish records who, when, and their
    comment), Reject fails the night without a retry, naming who rejected it, which alerts on-call.

    Airflow's HITLOperator does the waiting (the task waits in ``awaiting_input``, holding no worker slot). Not its
    ApprovalOperator: that skips publish on Reject, and a skipped publish leaves a green run and no report; here a
    rejection fails the night."""

    APPROVE, REJECT = "Approve", "Reject"

    def __init__(self, *, render_task: str, params: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # The form asks for a comment alone: ``params`` (the DAG's, which Airflow hands every operator) are the
        # run's, not the person's. Optional: the UI's form will not send an empty string that may not be null.
        comment = Param(None, type=["null", "string"], description="Why you approve or reject the night.")
        super().__init__(
            subject="Held for approval", options=[self.APPROVE, self.REJECT], params={"comment": comment}, **kwargs
        )
        self.render_task = render_task

    def execute(self, context: TaskContext) -> Any:
        from .reporting.render import approval_request, render_report

        night = RunFolder(Path(context["ti"].xcom_pull(task_ids=self.render_task)))
        holding = holding_findings(night)
        if not holding:
            print(f"Nothing holds the night of {night.date}: it is published without waiting.")
            return None
        # The person reads the staged report with a banner saying it waits, served while it waits and linked from no
        # run's "Report" tab: readers read only what is published.
        locale = context["params"]["locale"]
        facts = run_facts(context, context["ti"].xcom_pull(task_ids="aggregate"))
        preview = render_report(night, locale=locale, run_facts=facts, held_preview=True)
        [served] = serve_pages(context, preview)
        # A link from the UI's own page: its path alone, whichever host name the person reached the UI by.
        preview_url = f"{urlparse(airflow_conf_base_url()).path.rstrip('/')}{served}" if served else None
        request = approval_request(night, staged_url=preview_url, locale=locale)
        self.subject, self.body = request.subject, request.body
        print(f"The night of {night.date} is held for approval: {', '.join(f.check for f in holding)}")
        return super().execute(context)

    def execute_complete(self, context: TaskContext, event: dict[str, Any]) -> Any:
        night = RunFolder(Path(context["ti"].xcom_pull(task_ids=self.render_task)))
        night.held_preview_html.unlink(missing_ok=True)  # answered: no longer waits, no longer served
        result = super().execute_complete(context, event)
        if result["chosen_options"] == [self.APPROVE]:
            return result
        entry = approval_entry(result)
        holding = ", ".join(f.check for f in holding_findings(night))
        said = f" ({entry['comment']})" if entry["comment"] else ""
        raise AirflowFailException(
            f"{entry['by']} rejected the night of {night.date} at {entry['at']}{said}, held by its plausibility "
            f"checks ({holding}). Nothing was published or mailed. If the day is real after all, clear this task "
            "with its downstream tasks and approve it, saying why; otherwise drop a corrected file for the date."
        )


def holding_findings(night: RunFolder) -> list[Finding]:
    """The night's findings that hold it for a person (none without checks: a night of the checks switched off)."""
    from .plausibility import NightChecks

    checks = NightChecks.read(night)
    return checks.holding() if checks else []


def approved_since_checked(checks: NightChecks, approval: Mapping[str, Any] | None) -> bool:
    """Whether a held night was approved after its ``checks`` last ran: an approval of earlier checks
    (check_plausibility cleared alone since) approves nothing."""
    answered = approval.get("responded_at") if approval else None
    checked = dt.datetime.fromisoformat(checks.checked_at) if checks.checked_at else None
    return isinstance(answered, dt.datetime) and checked is not None and answered >= checked


def airflow_conf_base_url() -> str:
    """The UI's address, as links in mails and approval requests give it (``[api] base_url``)."""
    from airflow.configuration import conf as airflow_conf

    return str(airflow_conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")


class ReportChain(NamedTuple):
    """The XComArgs of a report chain that the DAG wires on: the prepared night's, and the published report's."""

    prepared: Any
    published: Any


def report_chain(
    prepare: Callable[..., RunFolder],
    *upstream: Any,
    prepare_trigger_rule: str = "all_success",
    **aggregate_args: Any,
) -> ReportChain:
    """The chain that makes and publishes a night, the same in the nightly and the restatement DAG: prepare_input,
    aggregate (the night's Flink job), validate, render_report, publish (the one moment readers see the night: its
    revision, the index and latest, the run's "Report" tab and the ``sector_report_daily`` Asset event).

    prepare_input calls ``prepare(context, *upstream)`` (the upstream XComArgs resolved), which lands or generates
    the night's input in the work area it returns. Every task before publish writes only that work area, so
    clearing any of them leaves what readers see as it was until a publish succeeds. ``aggregate_args``: the
    aggregate task's arguments beyond, or instead of, :data:`FLINK_JOB`."""

    @task(task_id="prepare_input", trigger_rule=prepare_trigger_rule)
    def prepare_input(*values: Any, **context: Any) -> dict[str, str]:
        with fail_without_retry():
            night = prepare(context, *values)
        return flink_paths(night)

    @task(task_id="validate")
    def validate(prepared: dict[str, str]) -> None:
        from .validate import validate_run

        night = RunFolder(Path(prepared["run_dir"]))
        with fail_without_retry():
            validate_run(night, logical_date=night.date)

    @task(task_id="check_plausibility")
    def check_plausibility(prepared: dict[str, str], **context: Any) -> list[str]:
        """The night against the published history (or the revision it replaces): ``checks.json``, which the report
        shows and the approval reads. Returns the checks that hold the night."""
        from .plausibility import Acceptance, check_run

        params = context["params"]
        night = RunFolder(Path(prepared["run_dir"]))
        night.checks_json.unlink(missing_ok=True)
        if params["plausibility"] == "off":
            print("Plausibility checks are off for this run (plausibility: off).")
            return []
        with fail_without_retry():
            accepted = Acceptance.of(params["accept_findings"], params["accept_reason"])
            holds = params["plausibility"] == "hold"
            checks = check_run(night, sessions=settings.PLAUSIBILITY_SESSIONS, accepted=accepted, holds=holds)
        for finding in checks.findings:
            print(f"{finding.check}: {finding.verdict} {finding.figures}")
        return [f.check for f in checks.holding()]

    @task(task_id="render_report")
    def render_report(prepared: dict[str, str], flink_job: dict[str, Any], **context: Any) -> str:
        from .reporting.render import format_summary_table
        from .reporting.render import render_report as render
        from .summary import NightSummary

        locale = context["params"]["locale"]
        night = RunFolder(Path(prepared["run_dir"]))
        staged = render(night, locale=locale, run_facts=run_facts(context, flink_job))
        print(format_summary_table(NightSummary.read(night).sectors, locale))
        print(f"Rendered {staged}; the publish task publishes it.")
        return str(night.root)

    @task(task_id="publish", outlets=[DAILY_REPORT])
    def publish(run_dir: str, **context: Any) -> str:
        """The night's revision becomes what readers see here, and only here: all or nothing, and completed by a
        retry or by clearing publish alone."""
        from .plausibility import NightChecks
        from .reporting.publish import publish as publish_revision

        audit = revision_audit(context)
        night = RunFolder(Path(run_dir))
        checks = NightChecks.read(night)
        held = checks.holding() if checks else []
        if checks and held and not approved_since_checked(checks, context["ti"].xcom_pull(task_ids=APPROVAL_TASK)):
            raise AirflowFailException(
                f"The night of {night.date} is held by its plausibility checks ({', '.join(f.check for f in held)}) "
                f"and nobody approved it since they ran: nothing was published. Clear {APPROVAL_TASK} with its "
                "downstream tasks to ask for approval."
            )
        take_over_earlier_release()
        with fail_without_retry():
            revision = publish_revision(
                night, locale=context["params"]["locale"], exchange=settings.EXCHANGE, audit=audit
            )
        # After the moment of publication: a failure here fails the try, and the next one (or clearing publish)
        # finds the revision published and does these again.
        context["outlet_events"][DAILY_REPORT].extra = daily_report_event(revision)
        pages = publish_pages(context, revision.report_html, DATA.index_html, DATA.latest_html)
        print(f"Published revision {revision.number} of {revision.date}: {revision.report_html} (in the UI: {pages})")
        return str(revision.report_html)

    prepared: Any = prepare_input(*upstream)
    aggregate = PyFlinkSqlOperator(
        task_id="aggregate",
        sql=SECTOR_SUMMARY_SQL,
        sql_params=sector_summary_params(prepared),
        **{**FLINK_JOB, **aggregate_args},
    )
    flink_job_facts: Any = aggregate.output
    rendered: Any = render_report(prepared, flink_job_facts)
    aggregate >> validate(prepared) >> check_plausibility(prepared) >> rendered
    approval = NightApproval(task_id=APPROVAL_TASK, render_task="render_report")
    published: Any = publish(rendered)
    rendered >> approval >> published
    # TaskFlow takes no operator_extra_links argument; the link is the published report's.
    published.operator.operator_extra_links = (ReportLink(),)
    return ReportChain(prepared, published)
