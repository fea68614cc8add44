"""Domain logic of the nightly sector report: plain Python, importable without Airflow or Flink."""
