"""A compose stack's variables, image name and podman service pid, without podman: the service is played by a
real `sleep`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.compose_stack import COMPOSE_FILE, ComposeStack, airflow_image_name, stack_env
from tools.processes import alive

IMAGES = {"POSTGRES_IMAGE": "localhost/pg:1", "FLINK_IMAGE": "localhost/flink:1", "AIRFLOW_IMAGE": "localhost/af:1"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[ComposeStack, subprocess.Popen[bytes]]]:
    """A stack whose podman service pid file names a running `sleep`."""
    stack = ComposeStack(tmp_path / "stack", project="unit", env={})
    stack.workdir.mkdir()
    sleep = subprocess.Popen(["sleep", "60"])
    stack.service_pid_file.write_text(str(sleep.pid))
    yield stack, sleep
    sleep.kill()
    sleep.wait()


def test_a_stacks_variables_are_its_own_and_kept_for_the_next_command(tmp_path: Path) -> None:
    env = stack_env(tmp_path, IMAGES)
    assert env.items() >= IMAGES.items()
    assert env["AIRFLOW_PORT"] != env["FLINK_PORT"]
    assert all(1024 <= int(env[port]) <= 65535 for port in ("AIRFLOW_PORT", "FLINK_PORT"))
    assert Path(env["SECTOR_REPORT_INCOMING"]) == tmp_path / "incoming"
    assert (tmp_path / "incoming").is_dir()
    assert json.loads((tmp_path / "stack.json").read_text()) == env
    assert stack_env(tmp_path, {"AIRFLOW_IMAGE": "localhost/other:2"}) == env, "a later command finds the same stack"


def test_two_stacks_have_variables_of_their_own(tmp_path: Path) -> None:
    one, other = stack_env(tmp_path / "one", IMAGES), stack_env(tmp_path / "other", IMAGES)
    assert one["AIRFLOW_JWT_SECRET"] != other["AIRFLOW_JWT_SECRET"]
    assert one["SECTOR_REPORT_INCOMING"] != other["SECTOR_REPORT_INCOMING"]


def test_the_airflow_image_is_named_by_what_it_is_built_from() -> None:
    name = airflow_image_name("apache/airflow:3.3.0-python3.11")
    assert re.fullmatch(r"localhost/sector-report-airflow:[0-9a-f]{16}", name)
    assert airflow_image_name("apache/airflow:3.3.0-python3.11") == name
    assert airflow_image_name("localhost/sector-report-standin-airflow:0123") != name, "another base, another image"


def test_compose_reaches_podman_through_the_stacks_socket_and_project(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    stack = ComposeStack(tmp_path, project="nightly", env={"AIRFLOW_PORT": "18080"}, files=(override,))
    assert stack.files == (COMPOSE_FILE, override)
    assert stack.env["DOCKER_HOST"] == f"unix://{tmp_path.resolve() / 'podman.sock'}"
    assert stack.env["COMPOSE_PROJECT_NAME"] == "nightly"
    assert stack.env["AIRFLOW_PORT"] == "18080"
    assert stack.env["PATH"] == os.environ["PATH"]


def test_a_running_service_is_reused(service: tuple[ComposeStack, subprocess.Popen[bytes]]) -> None:
    stack, sleep = service
    stack.start_engine()
    assert stack.service_pid_file.read_text() == str(sleep.pid)
    assert not (stack.workdir / "podman-service.log").exists(), "no second service was started"


def test_stopping_the_service_ends_it_and_forgets_its_pid(
    service: tuple[ComposeStack, subprocess.Popen[bytes]],
) -> None:
    stack, sleep = service
    stack.stop_engine()
    assert sleep.wait(timeout=5) == -15
    assert not alive(sleep.pid)
    assert not stack.service_pid_file.exists()


def test_stopping_without_a_service_does_nothing(tmp_path: Path) -> None:
    ComposeStack(tmp_path, project="unit", env={}).stop_engine()
    assert list(tmp_path.iterdir()) == []
