"""
### Restating a published night from a corrected file

Trade data gets corrected after the fact. A file dropped in `incoming/` for a date whose night is
published (the date in its name, as the night's own file), with content unlike the file the
date's latest revision was made from, reissues that night as its next **revision**, without a person:

0. a watcher on `incoming/` (an `AssetWatcher` on the `sector_report_corrections` Asset) sees the
   corrected file once it is complete (its control file beside it, or unchanged for 30 s) and starts
   this DAG; when it cannot list `incoming/` at all, it starts this DAG once, whose first task fails
   with what could not be read, and `alert_to` is told;
1. **take_up_correction**: takes up the oldest waiting correction for this run (recorded in
   `revisions/<date>/claims.jsonl` with its SHA-256: the same file dropped again starts nothing) and
   moves it, with its control file, out of `incoming/` to `corrections/<date>/`, where it is kept;
2. **prepare_input**, **aggregate**, **validate**, **check_plausibility** (against the revision it replaces),
   **render_report**, **wait_for_approval**: as the nightly DAG, in its own work
   area `restatements/<date>/`, while readers keep seeing the published revision; the report says it is
   revision N, from which file, and what changed by sector since the previous revision;
3. **publish**: as the nightly DAG's: revision N is written to `revisions/<date>/r<N>/`, the date's
   pointer moves to it in one rename, the audit trail gains its line in `revisions/<date>/history.jsonl`,
   and the `sector_report_daily` Asset event re-rolls the month; every earlier revision stays readable;
4. **deliver_correction**: mails the differences to the night's recipients.

A corrected file that fails (bad rows beyond `max_reject_ratio`, validation) leaves the published
revision as it was and alerts `alert_to`. Trigger it by hand with `date` to restate a date from its
newest file in `incoming/` now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, Param, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow_report_kit.triggers.pending_work import PendingWorkTrigger

from include.sector_report import settings
from include.sector_report.dag_support import (
    CLAIM_TASK,
    DATA,
    Context,
    alert_failed_restatement,
    alert_to_param,
    dag_args,
    fail_without_retry,
    locale_param,
    plausibility_params,
    report_chain,
    send_with_report,
)
from include.sector_report.layout import RevisionFolder, RunFolder

CORRECTIONS = Asset(
    settings.CORRECTIONS_ASSET,
    watchers=[
        AssetWatcher(
            name="corrected_files_in_incoming",
            trigger=PendingWorkTrigger(
                finder="include.sector_report.corrections:corrections_waiting",
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

    from include.sector_report.corrections import take_up

    with fail_without_retry():
        correction = take_up(settings.DATA_ROOT, run_id=context["run_id"], date=context["params"]["date"])
    if correction is None:
        raise AirflowSkipException("No corrected file waits in incoming/ (another run took it up).")
    shutil.rmtree(DATA.restatement(correction.date).root, ignore_errors=True)  # a failed restatement's leftovers
    print(f"Restating {correction.date} from {correction.path} (SHA-256 {correction.file.sha256})")
    return correction.to_json()


def prepare_restatement(context: Context, correction: dict[str, Any]) -> RunFolder:
    """prepare_input's work: land the corrected file in the date's restatement folder, and check it is the file
    taken up."""
    import datetime as dt

    from include.sector_report.corrections import check_landed_as_taken_up
    from include.sector_report.inputs import prepare_input

    params = context["params"]
    work = DATA.restatement(correction["date"])
    manifest = prepare_input(
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
    check_landed_as_taken_up(work, correction["sha256"], Path(correction["path"]))
    print(f"Prepared {work.transactions_csv}: {manifest}")
    return work


@task
def deliver_correction(report: str, **context: Any) -> None:
    """Mail the differences to the night's recipients (every earlier revision's), the revised report attached."""
    from include.sector_report.reporting.mail import correction_mail
    from include.sector_report.revisions import Revisions, night_recipients

    night = RevisionFolder(Path(report).parent)
    recipients = night_recipients(night, before=night.number)
    earlier = [line for line in Revisions.of(night).published() if line["revision"] < night.number]
    if any(line.get("recipients") is None for line in earlier):
        print(f"Who read an earlier revision of {night.date} is unknown (published by an earlier release): tell them")
    if not recipients:
        raise AirflowSkipException(f"No earlier revision of {night.date} was mailed to anyone known: nobody to tell.")
    mail = correction_mail(night, locale=context["params"]["locale"])
    send_with_report(context, recipients, mail, night)
    print(f"Mailed {mail.subject!r} to {', '.join(recipients)}")


with DAG(
    dag_id="sector_report_restatement",
    description="Reissue a published night from a corrected file in incoming/, as its next revision",
    doc_md=__doc__,
    schedule=[CORRECTIONS],
    **dag_args(on_failure_callback=alert_failed_restatement),
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
        **plausibility_params(),
    },
):
    correction = take_up_correction()
    restated = report_chain(prepare_restatement, correction)
    deliver_correction(restated.published)
