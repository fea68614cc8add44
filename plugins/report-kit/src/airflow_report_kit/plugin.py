"""Registers the report kit with Airflow (``airflow.plugins`` entry point): the viewer's app, its navigation
entry and run tab, and the exchange-session timetable (so the scheduler can deserialize DAGs that use it)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_report_kit.timetables.exchange_sessions import ExchangeSessionTimetable
from airflow_report_kit.viewer import URL_PREFIX
from airflow_report_kit.viewer.app import app


class ReportKitPlugin(AirflowPlugin):
    name = "report_kit"
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
    timetables = [ExchangeSessionTimetable]
