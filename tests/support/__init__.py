"""What the tests share: helpers of the project's tests and of its distributions' tests (as Airflow's providers
share ``tests_common``), and the project's root."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
