"""
### Restating a published night from a corrected file

Trade data gets corrected after the fact. A file dropped in `incoming/` for a date whose night is
published (the date in its name, as the night's own file), with content unlike the file the
date's latest revision was made from, reissues that night as its next **revision**, without a person:

0. a watcher on `incoming/` (an `AssetWatcher` on the `sector_report_corrections` Asset; it only
   looks, it never moves a file) sees the corrected file once it is complete (its control file beside
   it, or unchanged for 30 s) and starts this DAG;
1. **take_up_correction**: takes up the oldest waiting correction for this run (recorded in
   `revisions/<date>/claims.jsonl`: the same file dropped again starts nothing);
2. **prepare_input**, **aggregate**, **validate**, **render_report**: as the nightly DAG, in
   `restatements/<date>/`, beside the published night, which readers keep seeing meanwhile; the report
   says it is revision N, from which file, and what changed by sector since the previous revision;
3. **publish**: the restated night takes the published one's place in one step; every earlier
   revision stays readable at `revisions/<date>/r<N>.html`, the audit trail gains a line in
   `revisions/<date>/history.jsonl`, and the `sector_report_daily` Asset event re-rolls the month;
4. **deliver_correction**: mails the differences to the night's recipients.

A corrected file that fails (bad rows beyond `max_reject_ratio`, validation) leaves the published
revision as it was and alerts `alert_to`. Trigger it by hand with `date` to restate a date from its
newest file in `incoming/` now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow_flink_sql.operators.flink_sql import PyFlinkSqlOperator
from airflow_report_kit.triggers.pending_work import PendingWorkTrigger
from airflow_report_kit.viewer.links import ReportLink, publish_pages

from include.sector_report import settings
from include.sector_report.dag_support import (
    CLAIM_TASK,
    DATA,
    DEFAULT_ARGS,
    SECTOR_SUMMARY_SQL,
    alert_failed_restatement,
    alert_to_param,
    daily_report_event,
    fail_without_retry,
    flink_paths,
    locale_param,
    revision_audit,
    run_facts,
    sector_summary_params,
    send_with_report,
)

DAILY_REPORT = Asset(settings.DAILY_REPORT_ASSET)
CORRECTIONS = Asset(
    settings.CORRECTIONS_ASSET,
    watchers=[
        AssetWatcher(
            name="corrected_files_in_incoming",
            trigger=PendingWorkTrigger(
                finder="include.sector_report.revisions:corrections_waiting",
                finder_kwargs={"data_root": str(settings.DATA_ROOT)},
                poll_seconds=settings.CORRECTIONS_POLL_SECONDS,
            ),
        )
    ],
)


@task(task_id=CLAIM_TASK)
def take_up_correction(**context: Any) -> dict[str, Any]:
    """The corrected file this run restates; skipped (and the run with it) when none waits any more."""
    import shutil

    from include.sector_report.revisions import take_up

    with fail_without_retry():
        correction = take_up(settings.DATA_ROOT, run_id=context["run_id"], date=context["params"]["date"])
    if correction is None:
        raise AirflowSkipException("No corrected file waits in incoming/ (another run took it up).")
    shutil.rmtree(DATA.restatement(correction.date).root, ignore_errors=True)  # a failed restatement's leftovers
    print(f"Restating {correction.date} from {correction.path} (SHA-256 {correction.file.sha256})")
    return correction.to_json()


@task
def prepare_input(correction: dict[str, Any], **context: Any) -> dict[str, str]:
    import datetime as dt

    from include.sector_report.inputs import prepare_input as prepare
    from include.sector_report.revisions import check_landed_as_taken_up

    params = context["params"]
    work = DATA.restatement(correction["date"])
    with fail_without_retry():
        manifest = prepare(
            work,
            source="file",
            logical_date=dt.date.fromisoformat(correction["date"]),
            rows=0,
            seed=0,
            input_path=correction["path"],
            data_root=settings.DATA_ROOT,
            allowed_input_dirs=settings.ALLOWED_INPUT_DIRS,
            allow_empty=params["allow_empty"],
            max_reject_ratio=params["max_reject_ratio"],
        )
        check_landed_as_taken_up(work, correction["sha256"])
    print(f"Prepared {work.transactions_csv}: {manifest}")
    return flink_paths(work)


@task
def validate(prepared: dict[str, str], correction: dict[str, Any]) -> None:
    from include.sector_report.layout import RunFolder
    from include.sector_report.validate import validate_run

    with fail_without_retry():
        validate_run(RunFolder(Path(prepared["run_dir"])), logical_date=correction["date"])


@task
def render_report(prepared: dict[str, str], flink_job: dict[str, Any], **context: Any) -> str:
    from include.sector_report.layout import RunFolder
    from include.sector_report.reporting.render import render_report as render

    work = RunFolder(Path(prepared["run_dir"]))
    staged = render(work, locale=context["params"]["locale"], run_facts=run_facts(context, flink_job))
    print(f"Rendered {staged}; the publish task publishes it.")
    return str(work.root)


@task(outlets=[DAILY_REPORT])
def publish(work_dir: str, **context: Any) -> str:
    """The restated night replaces the published one in one step, as its date's next revision."""
    from include.sector_report.layout import RunFolder
    from include.sector_report.reporting.publish import publish_restatement

    work = RunFolder(Path(work_dir))
    with fail_without_retry():
        pages = publish_restatement(
            work, locale=context["params"]["locale"], exchange=settings.EXCHANGE, audit=revision_audit(context)
        )
    report, *other_pages = pages
    context["outlet_events"][DAILY_REPORT].extra = daily_report_event(RunFolder(report.parent))
    print(f"Published {report} (in the Airflow UI: {publish_pages(context, report, *other_pages)})")
    return str(report)


@task
def deliver_correction(report: str, **context: Any) -> None:
    """Mail the differences to the night's recipients (every earlier revision's), the revised report attached."""
    from include.sector_report.layout import RunFolder
    from include.sector_report.reporting.mail import correction_mail
    from include.sector_report.revisions import night_recipients, revision_of

    night = RunFolder(Path(report).parent)
    recipients = night_recipients(night, before=revision_of(night))
    if not recipients:
        raise AirflowSkipException(f"No earlier revision of {night.date} was mailed to anyone: nobody to tell.")
    mail = correction_mail(night, locale=context["params"]["locale"])
    send_with_report(context, recipients, mail, night)
    print(f"Mailed {mail.subject!r} to {', '.join(recipients)}")


with DAG(
    dag_id="sector_report_restatement",
    description="Reissue a published night from a corrected file in incoming/, as its next revision",
    doc_md=__doc__,
    schedule=[CORRECTIONS],
    start_date=pendulum.datetime(2020, 1, 1, tz=settings.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    template_searchpath=[str(settings.INCLUDE_DIR)],
    default_args={**DEFAULT_ARGS, "on_failure_callback": alert_failed_restatement},
    tags=["reporting", "flink"],
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="YYYY-MM-DD: restate this date from its newest file in incoming/; empty: the oldest "
            "correction waiting (what the watcher starts).",
        ),
        "max_reject_ratio": Param(
            0.01, type="number", minimum=0, maximum=1, description="Largest share of rejected input rows."
        ),
        "allow_empty": Param(False, type="boolean", description="A corrected day without transactions is valid."),
        "alert_to": alert_to_param(),
        "locale": locale_param(),
    },
):
    # TaskFlow passes XComArgs where the tasks take their values, and indexes them: the wiring's names are Any.
    correction: Any = take_up_correction()
    prepared: Any = prepare_input(correction)
    aggregate = PyFlinkSqlOperator(
        task_id="aggregate",
        sql=SECTOR_SUMMARY_SQL,
        sql_params=sector_summary_params(prepared),
        target=settings.FLINK_TARGET,
        slot_wait_timeout=settings.FLINK_SLOT_WAIT_SECONDS,
        execution_timeout=settings.FLINK_JOB_TIMEOUT,
    )
    flink_job: Any = aggregate.output
    rendered: Any = render_report(prepared, flink_job)
    aggregate >> validate(prepared, correction) >> rendered
    published: Any = publish(rendered)
    # TaskFlow takes no operator_extra_links argument; the link is the published report's.
    published.operator.operator_extra_links = (ReportLink(),)
    deliver_correction(published)
