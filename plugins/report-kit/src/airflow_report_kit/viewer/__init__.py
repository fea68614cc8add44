"""Serve static HTML reports from a folder inside the Airflow 3 UI.

Generic: it knows nothing of what the reports say. Configure the folder with
``[report_viewer] root`` (``AIRFLOW__REPORT_VIEWER__ROOT``); a task links its run to a
report (and the pages beside it) with :func:`airflow_report_kit.viewer.links.publish_pages`.
"""

URL_PREFIX = "/reports"
