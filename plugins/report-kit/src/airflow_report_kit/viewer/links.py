"""Link a task (and its DAG run) to the report it wrote."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import XCom
from airflow.sdk import BaseOperatorLink

from airflow_report_kit.viewer import URL_PREFIX

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)


def reports_root() -> Path:
    from airflow.configuration import AIRFLOW_HOME, conf

    return Path(conf.get("report_viewer", "root", fallback=str(Path(AIRFLOW_HOME) / "reports")))


class ReportLink(BaseOperatorLink):
    """The "Report" button of a task that published a report with :func:`publish_pages`."""

    name = "Report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return str(XCom.get_value(key=self.xcom_key, ti_key=ti_key) or "")


# XCom key under which a task lists the pages it published: the viewer serves a page only to
# users who may read a DAG that published it.
PAGES_KEY = "report_viewer_pages"


def publish_pages(context: Any, report: Path, *pages: Path) -> str | None:
    """Let readers of the running task's DAG see ``report`` and ``pages`` in the viewer, and make ``report``
    the task's "Report" button and its run's "Report" tab. Returns the report's URL (None outside the root).

    A task registers its pages once: the viewer serves the pages of its latest call.
    """
    root = reports_root().resolve()
    urls = []
    for page in (report, *pages):
        path = Path(page).resolve()
        if path.is_relative_to(root):
            urls.append(page_url(path.relative_to(root).as_posix()))
        else:
            log.warning("Page %s is outside the report viewer's root %s: not served", path, root)
    if urls:
        context["ti"].xcom_push(key=PAGES_KEY, value=urls)
    report_url = urls[0] if urls and Path(report).resolve().is_relative_to(root) else None
    if report_url:
        context["ti"].xcom_push(key=ReportLink().xcom_key, value=report_url)
    return report_url


def page_url(relative_path: str) -> str:
    return f"{URL_PREFIX}/{relative_path}"
