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


# XCom key under which a task lists the pages it published: the viewer serves a page only to
# users who may read a DAG that published it.
PAGES_KEY = "report_viewer_pages"


def link_report(context: Any, report: Path) -> str | None:
    """Record where the running task's report is served; returns its URL, or None outside the viewer's root."""
    [url] = publish_pages(context, report) or [None]
    if url:
        context["ti"].xcom_push(key=ReportLink().xcom_key, value=url)
    return url


def publish_pages(context: Any, *pages: Path) -> list[str]:
    """Let readers of the running task's DAG see ``pages`` in the viewer; returns their URLs."""
    root = reports_root().resolve()
    urls = []
    for page in pages:
        path = Path(page).resolve()
        if path.is_relative_to(root):
            urls.append(page_url(path.relative_to(root).as_posix()))
        else:
            log.warning("Page %s is outside the report viewer's root %s: not served", path, root)
    if urls:
        context["ti"].xcom_push(key=PAGES_KEY, value=urls)
    return urls


def page_url(relative_path: str) -> str:
    return f"{URL_PREFIX}/{relative_path}"
