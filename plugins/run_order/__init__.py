"""Keep a DAG's runs in logical-date order, even where Airflow runs several at once (backfills)."""
