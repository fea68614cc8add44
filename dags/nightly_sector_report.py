"""
### Nightly sector report

After every trading session of the exchange (the Korea Exchange, `XKRX`: at 23:00 Asia/Seoul on
its trading days; `SECTOR_REPORT_EXCHANGE` names another), this DAG

0. **wait_for_earlier_runs**: waits (deferred) until the previous date's run has ended, so a
   backfill gives the reports that nightly runs in date order would; **wait_for_input**: when the
   night lands the day's file from `incoming/`, waits (deferred, until `file_wait_timeout`) for it;
1. **prepare_input**: lands the day's file
   (`source=file`: `input_path`, or the day's file from `incoming/`) or generates sample data
   (`source=generate`), quarantining bad rows and recording control totals computed independently
   of Flink; too many rejected rows, or a day without transactions, fail here, before any Flink job;
2. **aggregate**: runs `include/sql/nightly_sector_report/sector_summary.sql` as one PyFlink batch job:
   per sector total value `SUM(price * volume)` (exact DECIMAL), average price, total volume, count;
3. **validate**: reconciles Flink's output with the control totals to the cent, then writes
   `summary.csv` / `summary.json`; **check_plausibility**: compares the night with the published history
   (row count, value, sectors, shares, the same input, price level) and writes `checks.json`;
4. **render_report**: renders the report (Korean or English) and logs the summary table;
   **wait_for_approval**: a night its checks hold waits here for a person (Airflow's Required actions):
   Approve publishes it, Reject fails it; any other night passes at once;
5. **publish**: the one moment the night is published: its report, the reports index and `latest`
   together, the "Report" tab and button, and the `sector_report_daily` Asset event;
6. **deliver_report**: mails the report to `email_to` (through the `smtp_default` connection).

The tasks before publish write only the night's work area (`runs/<date>/`); readers read only
published revisions (`revisions/<date>/r<N>/`, chosen by the pointer `published/<date>.json`). So
clearing any task, with or without its downstream tasks, changes what readers see only when a
publish succeeds: then as the date's next revision. `sector_report_withdrawal` takes a night away.
A scheduled night lands the day's file unless `SECTOR_REPORT_SOURCE=generate`. A task that fails for
good mails an alert to `alert_to`; `nightly_sector_report_deadline` mails it when a session's night is
not published in time. A run's work area is `$SECTOR_REPORT_DATA_DIR/runs/<date>/`, where `<date>`
is the logical date in Asia/Seoul; a rerun of a date replaces it. Bad input and failed validation
fail the run at once (no retries) and publish nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow_report_kit.sensors.file_arrival import FileArrivalSensor
from airflow_report_kit.sensors.run_order import PreviousRunSensor
from airflow_report_kit.timetables.exchange_sessions import ExchangeSessionTimetable

from include.sector_report import settings
from include.sector_report.dag_support import (
    DATA,
    NIGHT_FAILURE_CALLBACKS,
    Context,
    alert_to_param,
    dag_args,
    email_list_param,
    locale_param,
    plausibility_params,
    report_chain,
    report_date,
    send_with_report,
)
from include.sector_report.layout import RevisionFolder, RunFolder
from include.sector_report.transactions import SOURCES


@task
def plan_input_wait(**context: Any) -> dict[str, Any]:
    """What wait_for_input waits for; skipped (and the wait with it) when the input is not a dropped file."""
    from include.sector_report.landing.land import file_wait_deadline, incoming_patterns

    params = context["params"]
    if params["source"] != "file" or params["input_path"]:
        raise AirflowSkipException("Nothing to wait for: the input is generated, or given as input_path.")
    day = report_date()
    deadline = file_wait_deadline(day, params["file_wait_timeout"], pendulum.now("UTC"))
    return {"folder": str(DATA.incoming), "patterns": incoming_patterns(day), "until": deadline.isoformat()}


def prepare_night(context: Context) -> RunFolder:
    """prepare_input's work: land the day's file (the one given, or the one that arrived) or generate the day."""
    from include.sector_report.inputs import prepare_input

    params = context["params"]
    day = report_date(context)
    night = DATA.run(day.isoformat())
    manifest = prepare_input(
        night,
        source=params["source"],
        logical_date=day,
        rows=params["rows"],
        seed=params["seed"],
        input_path=params["input_path"] or context["ti"].xcom_pull(task_ids="wait_for_input"),
        data_root=settings.DATA_ROOT,
        allowed_input_dirs=settings.ALLOWED_INPUT_DIRS,
        allow_empty=params["allow_empty"],
        max_reject_ratio=params["max_reject_ratio"],
    )
    print(f"Prepared {night.transactions_csv}: {manifest}")
    return night


@task
def deliver_report(report: str, **context: Any) -> None:
    """Mail the published report to ``email_to``: key figures in the body, the report attached."""
    from include.sector_report.reporting.mail import report_mail

    params = context["params"]
    if not params["email_to"]:
        raise AirflowSkipException("email_to is empty: the report is not mailed.")
    run = RevisionFolder(Path(report).parent)
    mail = report_mail(run, locale=params["locale"])
    send_with_report(context, params["email_to"], mail, run)
    print(f"Mailed {mail.subject!r} to {', '.join(params['email_to'])}")


with DAG(
    dag_id="nightly_sector_report",
    description="Per-sector totals of the day's stock transactions, aggregated by PyFlink, as an HTML report",
    doc_md=__doc__,
    schedule=ExchangeSessionTimetable(settings.EXCHANGE, at=settings.NIGHTLY_AT, timezone=settings.TIMEZONE),
    **dag_args(on_failure_callback=NIGHT_FAILURE_CALLBACKS),
    params={
        "source": Param(
            settings.DEFAULT_SOURCE,
            enum=list(SOURCES),
            description="Land the day's file ('file') or generate sample data ('generate'); "
            "default: SECTOR_REPORT_SOURCE.",
        ),
        "rows": Param(1000, type="integer", minimum=1, maximum=100_000_000, description="Rows to generate."),
        "seed": Param(42, type="integer", description="Random seed for generated data (with the date)."),
        "input_path": Param(
            None,
            type=["null", "string"],
            description="CSV file or folder of part files to land when source is 'file' (relative to the data "
            "folder, or inside SECTOR_REPORT_ALLOWED_INPUT_DIRS); empty: wait for the date's CSV in incoming/.",
        ),
        "file_wait_timeout": Param(
            settings.FILE_WAIT_SECONDS,
            type=["null", "integer"],
            minimum=0,
            description="Seconds to wait for the date's CSV in incoming/ (source 'file', no input_path); "
            "empty: until 06:00 Seoul time the next morning.",
        ),
        "email_to": email_list_param(settings.EMAIL_TO, "Addresses the report is mailed to."),
        "alert_to": alert_to_param(),
        "allow_empty": Param(False, type="boolean", description="A day without transactions is a valid report."),
        "max_reject_ratio": Param(
            0.01,
            type="number",
            minimum=0,
            maximum=1,
            description="Largest share of rejected input rows a run may have.",
        ),
        "parallelism": Param(1, type="integer", minimum=1, maximum=64, description="Flink job parallelism."),
        "flink_slot_wait": Param(
            settings.FLINK_SLOT_WAIT_SECONDS,
            type="integer",
            minimum=1,
            description="Seconds the night's job may wait for slots on the session cluster before it is cancelled "
            "(remote target); default: SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS.",
        ),
        "locale": locale_param(),
        **plausibility_params(),
    },
):
    earlier_runs = PreviousRunSensor(task_id="wait_for_earlier_runs")
    # TaskFlow passes XComArgs where the tasks take their values, and indexes them: the wiring's names are Any.
    input_wait: Any = plan_input_wait()
    arrived = FileArrivalSensor(
        task_id="wait_for_input",
        folder=input_wait["folder"],
        patterns=input_wait["patterns"],
        wait_until=input_wait["until"],
    )
    # prepare_input runs when the wait was skipped (the input is generated, or given as input_path).
    night = report_chain(
        prepare_night,
        prepare_trigger_rule="none_failed",
        parallelism="{{ params.parallelism }}",
        slot_wait_timeout="{{ params.flink_slot_wait }}",
        slot_wait_setting="the run's flink_slot_wait param (its default: SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS)",
    )
    earlier_runs >> input_wait
    arrived >> night.prepared
    deliver_report(night.published)
