"""Names shared by the DAGs without importing anything heavy at parse time."""

# The Airflow Asset the nightly DAG updates when it publishes a daily report; the monthly DAG runs on it.
DAILY_REPORT_ASSET = "sector_report_daily"
