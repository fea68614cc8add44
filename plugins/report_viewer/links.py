"""Link a task (and its DAG run) to the report it wrote."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from report_viewer import URL_PREFIX

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

log = logging.getLogger(__name__)


def reports_root() -> Path:
    from airflow.configuration import AIRFLOW_HOME, conf

    return Path(conf.get("report_viewer", "root", fallback=str(Path(AIRFLOW_HOME) / "reports")))


class ReportLink(BaseOperatorLink):
    """The "Report" button of a task that called :func:`link_report`."""

    name = "Report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""


def link_report(context: Any, report: Path) -> str | None:
    """Record where the running task's report is served; returns its URL, or None outside the viewer's root."""
    root = reports_root().resolve()
    path = Path(report).resolve()
    if not path.is_relative_to(root):
        log.warning("Report %s is outside the report viewer's root %s: no link", path, root)
        return None
    url = f"{URL_PREFIX}/{path.relative_to(root).as_posix()}"
    context["ti"].xcom_push(key=ReportLink().xcom_key, value=url)
    return url
