"""Registers the report viewer with Airflow: its app, a navigation entry and a tab on every DAG run."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from report_viewer import URL_PREFIX
from report_viewer.app import app


class ReportViewerPlugin(AirflowPlugin):
    name = "report_viewer"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Report viewer"}]
    external_views = [
        {"name": "Reports", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "reports"},
        {
            "name": "Report",
            "href": f"{URL_PREFIX}/dags/{{DAG_ID}}/runs/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "report",
        },
    ]
