"""docker-compose.yaml's shape, checked with `docker-compose config` (test_compose_stack.py starts it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

from tests.support import PROJECT_ROOT

# docker-compose reads the file as it brings it up.
pytestmark = pytest.mark.compose

AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.fixture(scope="module")
def compose() -> dict:
    if not shutil.which("docker-compose"):
        pytest.fail("docker-compose is required to validate docker-compose.yaml: `make test` installs it (apt-get).")
    result = subprocess.run(
        ["docker-compose", "-f", str(PROJECT_ROOT / "docker-compose.yaml"), "config"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "AIRFLOW_JWT_SECRET": "a-secret"},  # required: the file refuses to start without one
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def mounts(service: dict) -> dict[str, str]:
    """Target path -> volume or host path; docker-compose 1.x prints the short 'source:target:mode' form."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        found[target] = source
    return found


def test_it_has_the_production_shape(compose) -> None:
    services = compose["services"]
    assert {"postgres", "airflow-init", *AIRFLOW_SERVICES, "flink-jobmanager", "flink-taskmanager"} <= set(services)
    for name in ("postgres", "airflow-apiserver", "flink-jobmanager"):
        assert services[name].get("healthcheck"), f"{name} has a healthcheck"


def test_airflow_uses_postgres_the_remote_flink_cluster_and_the_days_real_file(compose) -> None:
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["SECTOR_REPORT_FLINK_TARGET"] == "remote"
        assert env["AIRFLOW_CONN_FLINK_DEFAULT"] == "flink://flink-jobmanager:8081"
        assert env["SECTOR_REPORT_SOURCE"] == "file", "a deployment reports the day's real file, never sample data"
        assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
        assert mounts(service)[f"{env['SECTOR_REPORT_DATA_DIR']}/incoming"].endswith("incoming")
        assert "/opt/airflow/plugins" not in mounts(service), "the extensions are installed, not mounted"
        assert json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])["type"], "the deployment emits lineage"


def test_flink_sees_the_data_at_the_same_path_as_airflow(compose) -> None:
    services = compose["services"]
    data_dir = services["airflow-scheduler"]["environment"]["SECTOR_REPORT_DATA_DIR"]
    volume = mounts(services["airflow-scheduler"])[data_dir]
    for name in ("flink-jobmanager", "flink-taskmanager", *AIRFLOW_SERVICES):
        assert mounts(services[name]).get(data_dir) == volume, f"{name} mounts {volume} at {data_dir}"


def test_the_host_reaches_the_stack_only_on_127_0_0_1(compose) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            published = port if isinstance(port, str) else f"{port.get('host_ip')}:{port['published']}"
            assert published.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_flink_services_are_sized_like_the_local_session_cluster(compose) -> None:
    from airflow_flink_sql.session_cluster import (
        DEFAULT_JOBMANAGER_MEMORY,
        DEFAULT_TASKMANAGER_MEMORY,
        TASKMANAGER_JAVA_OPTS,
    )

    def properties(name: str) -> dict:
        return yaml.safe_load(compose["services"][name]["environment"]["FLINK_PROPERTIES"])

    assert properties("flink-jobmanager")["jobmanager.memory.process.size"] == DEFAULT_JOBMANAGER_MEMORY
    assert properties("flink-taskmanager")["taskmanager.memory.process.size"] == DEFAULT_TASKMANAGER_MEMORY
    assert properties("flink-taskmanager")["env.java.opts.taskmanager"] == TASKMANAGER_JAVA_OPTS
