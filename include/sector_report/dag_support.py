"""What the DAGs share that touches Airflow: the data folder, the night a task works on, failing without a
retry, the callbacks that keep a night published or withdrawn as a whole, and the one that records why it failed.

The one module of this package that imports Airflow at the top: the domain modules stay plain Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from . import settings
from .errors import ReportError
from .layout import DataFolder, RunFolder, report_date_of

DATA = DataFolder(settings.DATA_ROOT)


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Bad input or failed validation fails the same way on every try: do not retry it."""
    try:
        yield
    except ReportError as exc:
        raise AirflowFailException(str(exc)) from exc


def report_date(context: Mapping[str, Any] | None = None) -> dt.date:
    """The business day a run reports on: its logical date, as a date in Seoul."""
    context = context if context is not None else get_current_context()
    return report_date_of(context.get("logical_date") or context["dag_run"].run_after)


def night_of(context: Mapping[str, Any]) -> RunFolder:
    """The run folder of the night a task of the nightly DAG works on."""
    return DATA.run(report_date(context).isoformat())


def withdraw_before_rewriting(context: Mapping[str, Any]) -> None:
    """``pre_execute`` of every task that rewrites a night's files: the night is withdrawn first, so that clearing
    a published night from any task never shows readers a report over files being rewritten."""
    if night := _withdraw(context):
        print(f"Withdrew the published night {night.date}: {context['ti'].task_id} rewrites its files")


def withdraw_failed_publication(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of ``publish``: a publish that failed for good (its last try killed after the
    commit, say) leaves the night published nowhere, as its run is failed."""
    _withdraw(context)


def record_night_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of the nightly DAG's tasks: keep what failed, for the deadline's late alert."""
    from .failures import Failure, record_failure
    from .reporting.notify import task_error

    ti = context["ti"]
    now = dt.datetime.now(dt.UTC).isoformat()
    failure = Failure(task_id=ti.task_id, run_id=ti.run_id, error=task_error(context), at=now)
    record_failure(night_of(context), failure)


def _withdraw(context: Mapping[str, Any]) -> RunFolder | None:
    """Withdraw the task's night; the night, if it was published."""
    from .reporting.publish import withdraw_night

    night = night_of(context)
    return night if withdraw_night(night, locale=context["params"]["locale"], exchange=settings.EXCHANGE) else None
