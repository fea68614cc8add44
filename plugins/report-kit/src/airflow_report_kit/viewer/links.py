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


# Which DAGs published a page: ``<root>/.report-viewer/<page's path>/<dag_id>``, one empty file per DAG. The
# viewer serves a page that exists only to users who may read one of them, after one folder listing: the
# same work for every request, however many pages and runs there are.
REGISTRY = ".report-viewer"


def serve_pages(context: Any, *pages: Path) -> list[str | None]:
    """Let readers of the running task's DAG see ``pages`` in the viewer, each while it exists. Returns each page's
    URL (None for a page outside the root). Links nothing: see :func:`publish_pages`."""
    root = reports_root().resolve()
    dag_id = context["ti"].dag_id
    urls: list[str | None] = []
    for page in pages:
        path = Path(page).resolve()
        if path.is_relative_to(root):
            relative = path.relative_to(root).as_posix()
            publishers_folder(root, relative).mkdir(parents=True, exist_ok=True)
            (publishers_folder(root, relative) / dag_id).touch()
            urls.append(page_url(relative))
        else:
            log.warning("Page %s is outside the report viewer's root %s: not served", path, root)
            urls.append(None)
    return urls


def publish_pages(context: Any, report: Path, *pages: Path) -> str | None:
    """Serve ``report`` and ``pages`` (:func:`serve_pages`), and make ``report`` the task's "Report" button and its
    run's "Report" tab. Returns the report's URL (None outside the root).

    A page is served while it exists: taking it away (withdrawing a report) unpublishes it in the viewer too.
    """
    report_url = serve_pages(context, report, *pages)[0]
    if report_url:
        context["ti"].xcom_push(key=ReportLink().xcom_key, value=report_url)
    return report_url


def serve_like(page: Path, like: Path) -> bool:
    """Let whoever may read ``like`` (a page some DAGs published) read ``page`` too: a page that moved. False if
    ``like`` was never published or either page is outside the viewer's root."""
    root = reports_root().resolve()
    new, old = Path(page).resolve(), Path(like).resolve()
    if not (new.is_relative_to(root) and old.is_relative_to(root)):
        return False
    dag_ids = publishers(root, old.relative_to(root).as_posix())
    folder = publishers_folder(root, new.relative_to(root).as_posix())
    for dag_id in dag_ids:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / dag_id).touch()
    return bool(dag_ids)


def page_url(relative_path: str) -> str:
    return f"{URL_PREFIX}/{relative_path}"


def publishers_folder(root: Path, relative_path: str) -> Path:
    """Where the DAGs that published the page at ``relative_path`` (under ``root``) are registered."""
    return root / REGISTRY / relative_path


def publishers(root: Path, relative_path: str) -> set[str]:
    """The DAGs that published the page at ``relative_path`` (see :func:`publish_pages`)."""
    folder = publishers_folder(root, relative_path)
    return {entry.name for entry in folder.iterdir()} if folder.is_dir() else set()
