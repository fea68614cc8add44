"""The session cluster's configuration, state and REST reading, without starting Flink: its configuration is
written from the PyFlink wheel's own, its REST API played by a local HTTP server (flink_rest_stand_in.py). The
integration tests start it for real (conftest.py's ``flink_cluster``)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import yaml
from airflow_flink_sql.session_cluster import TASKMANAGER_JAVA_OPTS, SessionCluster, flink_home, flink_jobs
from flink_rest_stand_in import stand_in_cluster

JOBS = [{"jid": "8c1f", "name": "insert-into_sector_report", "state": "FINISHED"}]
OVERVIEW = {"taskmanagers": 1, "slots-total": 2, "slots-available": 2}


def written_configuration(cluster: SessionCluster) -> dict[str, Any]:
    cluster.write_configuration()
    configuration: dict[str, Any] = yaml.safe_load((cluster.conf_dir / "config.yaml").read_text())
    return configuration


def test_its_configuration_is_the_wheels_with_its_ports_slots_and_memory(tmp_path: Path) -> None:
    cluster = SessionCluster(tmp_path, rest_port=18081, slots=3, taskmanager_memory="3g", jobmanager_memory="768m")
    config = written_configuration(cluster)
    assert config["rest"] == {**config["rest"], "port": 18081, "bind-port": "18081"}
    assert config["taskmanager"]["numberOfTaskSlots"] == 3
    assert config["taskmanager"]["memory"]["process"]["size"] == "3g"
    assert config["jobmanager"]["memory"]["process"]["size"] == "768m"
    assert isinstance(config["jobmanager"]["rpc"]["port"], int)
    assert config["env"]["java"]["opts"]["taskmanager"] == TASKMANAGER_JAVA_OPTS
    assert config["env"]["java"]["opts"]["all"].startswith("--add-exports"), "the wheel's own settings are kept"
    wheel = {path.name for path in (flink_home() / "conf").iterdir()}
    assert wheel <= {path.name for path in cluster.conf_dir.iterdir()}


def test_extra_configuration_is_merged_into_it_key_by_key(tmp_path: Path) -> None:
    extra = {"taskmanager": {"memory": {"managed": {"fraction": 0.6}}}, "parallelism": {"default": 2}}
    config = written_configuration(SessionCluster(tmp_path, rest_port=18081, configuration=extra))
    assert config["taskmanager"]["memory"] == {**config["taskmanager"]["memory"], "managed": {"fraction": 0.6}}
    assert config["taskmanager"]["memory"]["process"]["size"] == "2g", "the sibling keys stay"
    assert config["taskmanager"]["numberOfTaskSlots"] == 2
    assert config["parallelism"]["default"] == 2


def test_a_cluster_without_a_port_takes_a_free_one_and_is_found_again_by_its_workdir(tmp_path: Path) -> None:
    cluster = SessionCluster(tmp_path)
    config = written_configuration(cluster)
    assert cluster.rest_port is not None
    assert config["rest"]["port"] == cluster.rest_port != config["jobmanager"]["rpc"]["port"]
    assert SessionCluster.from_workdir(tmp_path).rest_url == f"http://localhost:{cluster.rest_port}"


def test_its_processes_are_the_ones_its_pid_files_name(tmp_path: Path) -> None:
    (tmp_path / "flink-root-standalonesession.pid").write_text("4101\n")
    (tmp_path / "flink-root-taskexecutor.pid").write_text("4102\n4103\n\n")
    (tmp_path / "other.pid").write_text("4104\n")
    cluster = SessionCluster(tmp_path)
    assert sorted(cluster.pids()) == [4101, 4102, 4103]
    assert sorted(cluster.taskmanager_pids()) == [4102, 4103]


def test_overview_and_jobs_are_what_the_rest_api_answers(tmp_path: Path) -> None:
    with stand_in_cluster() as stand_in:
        stand_in.answers.update({"/jobs/overview": {"jobs": JOBS}, "/overview": OVERVIEW})
        cluster = SessionCluster(tmp_path, rest_port=stand_in.rest_port)
        assert cluster.overview() == OVERVIEW
        assert cluster.jobs() == flink_jobs(stand_in.rest_url) == JOBS


def test_overview_is_none_while_nothing_answers(tmp_path: Path) -> None:
    with socket.socket() as bound_not_listening:  # a connection to it is refused; nothing else takes it meanwhile
        bound_not_listening.bind(("localhost", 0))
        assert SessionCluster(tmp_path, rest_port=bound_not_listening.getsockname()[1]).overview() is None
