"""FastAPI app mounted by the Airflow api-server at ``/reports``.

Airflow 3 gives plugin apps no authentication of their own: every route here depends on
Airflow's own token check (the UI's cookie or a bearer header), then on DAG read access.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from airflow_report_kit.viewer import URL_PREFIX
from airflow_report_kit.viewer.links import ReportLink, publishers, reports_root


async def require_reader(user: Annotated[Any, Depends(get_user)]) -> Any:
    """Someone who may read DAGs at all; each route then checks the DAG behind what it serves."""
    if not get_auth_manager().is_authorized_dag(method="GET", user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed to read DAG runs")
    return user


def may_read_dag(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    return get_auth_manager().is_authorized_dag(method="GET", user=user, details=details)


Reader = Annotated[Any, Depends(require_reader)]

app = FastAPI(title="Report viewer", description="Static HTML reports written by Airflow tasks.")


@app.get("/", include_in_schema=False)
def index(_user: Reader) -> RedirectResponse:
    return RedirectResponse(f"{URL_PREFIX}/index.html")


@app.get("/dags/{dag_id}/runs/{run_id}", response_class=RedirectResponse)
def run_report(dag_id: str, run_id: str, user: Reader) -> Response:
    """The report a task of this DAG run published with ``publish_pages``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    if not may_read_dag(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"Not allowed to read DAG {dag_id}")

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(key=ReportLink().xcom_key, run_id=run_id, dag_ids=dag_id).with_only_columns(
                XComModel.value
            )
        ).first()
    if not row:
        return _not_found(f"Run {run_id} of {dag_id} has published no report (yet).")
    return RedirectResponse(XComModel.deserialize_value(row))


@app.get("/{path:path}", response_class=FileResponse)
def report_file(path: str, user: Reader) -> Response:
    """A published HTML page under the root, to a user who may read a DAG that published it.

    Nothing else (no inputs, no data files, no page no DAG published, no page withdrawn) is ever served.
    """
    root = reports_root().resolve()
    target = (root / path).resolve()
    if target.suffix != ".html" or not target.is_relative_to(root) or not target.is_file():
        return _not_found(f"No report has been published at {path}.")
    dag_ids = publishers(root, target.relative_to(root).as_posix())
    if not dag_ids:
        return _not_found(f"No report has been published at {path}.")
    if not any(may_read_dag(user, dag_id) for dag_id in sorted(dag_ids)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"Not allowed to read the DAG that published {path}")
    return FileResponse(target, media_type="text/html; charset=utf-8")


def _not_found(message: str) -> HTMLResponse:
    # Shown inside the Airflow UI's frame: a sentence for a person, not a JSON error.
    body = f'<!DOCTYPE html><meta charset="utf-8"><p style="font-family: sans-serif">{escape(message)}</p>'
    return HTMLResponse(body, status_code=status.HTTP_404_NOT_FOUND)
