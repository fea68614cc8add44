"""Airflow 3 plugin for scheduled reports: a report viewer inside the UI, a timetable of an exchange's trading
sessions, and deferrable sensors for a file arriving in a folder and for a DAG's previous run.

Generic: none of it knows what the reports say.
"""

__version__ = "0.3.0"
