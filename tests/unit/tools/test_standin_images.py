"""The stand-in images' env file: the images are set in it, and what else it holds (the JWT secret) is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import standin_images
from tools.standin_images import COMPOSE_VARIABLES, with_variables

IMAGES = {variable: f"localhost/sector-report-standin-{name}:new" for name, variable in COMPOSE_VARIABLES.items()}


def test_the_images_are_set_and_every_other_line_is_kept() -> None:
    previous = (
        "# written by make standin-images\n"
        "POSTGRES_IMAGE=localhost/sector-report-standin-postgres:old\n"
        "AIRFLOW_JWT_SECRET=s3cret=with=equals\n"
        "FLINK_IMAGE=localhost/sector-report-standin-flink:old\n"
    )
    assert with_variables(previous, IMAGES) == (
        "# written by make standin-images\n"
        f"POSTGRES_IMAGE={IMAGES['POSTGRES_IMAGE']}\n"
        "AIRFLOW_JWT_SECRET=s3cret=with=equals\n"
        f"FLINK_IMAGE={IMAGES['FLINK_IMAGE']}\n"
        f"AIRFLOW_IMAGE={IMAGES['AIRFLOW_IMAGE']}\n"
    )


def test_a_variable_set_twice_is_set_once_and_a_second_run_changes_nothing() -> None:
    once = with_variables("AIRFLOW_IMAGE=a\nAIRFLOW_IMAGE=b\nAIRFLOW_JWT_SECRET=x", IMAGES)
    assert once.count("AIRFLOW_IMAGE=") == 1
    assert "AIRFLOW_JWT_SECRET=x\n" in once
    assert with_variables(once, IMAGES) == once


def test_main_keeps_the_secret_appended_to_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/deployment.md has you do: `make standin-images`, append the secret, run it again later."""
    monkeypatch.setattr(standin_images, "standin_images", lambda: IMAGES)
    env_file = tmp_path / ".standins.env"
    standin_images.main(["--env-file", str(env_file)])
    with env_file.open("a") as appended:
        appended.write("AIRFLOW_JWT_SECRET=0123abcd\n")
    standin_images.main(["--env-file", str(env_file)])
    assert env_file.read_text().splitlines() == [
        *(f"{k}={v}" for k, v in IMAGES.items()),
        "AIRFLOW_JWT_SECRET=0123abcd",
    ]
