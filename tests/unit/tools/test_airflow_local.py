"""airflow standalone's environment, health, pid file and way down, without starting Airflow: its process group is
played by real `sleep` processes, its health endpoint by a local HTTP server (tests/support/local_http.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.local_http import json_server, refusing_port
from tools.airflow_local import AirflowStandalone, main
from tools.processes import alive, group_members
from tools.waiting import wait_for

HEALTHY = {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy", "latest_heartbeat": None}}


@pytest.fixture
def standalone_group(tmp_path: Path) -> Iterator[tuple[AirflowStandalone, list[int]]]:
    """An Airflow home whose pid file names a process group of a shell and two `sleep`s, as standalone's would."""
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    airflow = AirflowStandalone(tmp_path)
    airflow.pid_file.write_text(str(leader.pid))
    members = wait_for(lambda: len(found := group_members(leader.pid)) == 3 and found, "the sleeps", 10, every=0.05)
    yield airflow, members
    for pid in filter(alive, members):
        os.kill(pid, 9)
    leader.wait()


def test_its_environment_points_airflow_at_its_home_port_and_this_interpreter(tmp_path: Path) -> None:
    airflow = AirflowStandalone(tmp_path / "home", port=8123, env={"PATH": "/usr/bin", "TZ": "Asia/Seoul"})
    assert airflow.env["AIRFLOW_HOME"] == str((tmp_path / "home").resolve())
    assert airflow.env["AIRFLOW__API__PORT"] == "8123"
    assert airflow.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8123/execution/"
    assert airflow.env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin"]
    assert airflow.env["TZ"] == "Asia/Seoul"
    assert airflow.url == "http://localhost:8123"
    assert airflow.pid_file.parent == airflow.log_file.parent == (tmp_path / "home").resolve()


def test_health_is_what_the_health_endpoint_answers(tmp_path: Path) -> None:
    with json_server({"/api/v2/monitor/health": HEALTHY}) as url:
        assert AirflowStandalone(tmp_path, port=int(url.rsplit(":", 1)[1])).health() == HEALTHY


def test_health_is_none_while_nothing_answers(tmp_path: Path) -> None:
    with refusing_port() as port:
        assert AirflowStandalone(tmp_path, port=port).health() is None


def test_the_admin_password_is_the_one_airflow_generated(tmp_path: Path) -> None:
    airflow = AirflowStandalone(tmp_path)
    assert airflow.admin_password() is None
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": "s3cret"}))
    assert airflow.admin_password() == "s3cret"


def test_start_refuses_while_the_pid_file_names_a_running_process(
    standalone_group: tuple[AirflowStandalone, list[int]],
) -> None:
    airflow, _ = standalone_group
    with pytest.raises(RuntimeError, match="already running"):
        airflow.start()
    assert not airflow.log_file.exists(), "nothing was started"


def test_stop_ends_the_whole_process_group_and_forgets_its_pid(
    standalone_group: tuple[AirflowStandalone, list[int]],
) -> None:
    airflow, members = standalone_group
    airflow.stop()
    assert not any(alive(pid) for pid in members)
    assert not airflow.pid_file.exists()


def test_stop_without_a_pid_file_does_nothing(tmp_path: Path) -> None:
    AirflowStandalone(tmp_path).stop()
    assert list(tmp_path.iterdir()) == []


def test_the_stop_command_uses_airflow_home(
    standalone_group: tuple[AirflowStandalone, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    airflow, members = standalone_group
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow.home))
    assert main(["stop"]) == 0
    assert capsys.readouterr().out == "Airflow stopped\n"
    assert not any(alive(pid) for pid in members)


def test_an_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["restart"])
    assert exited.value.code == 2
    assert "invalid choice: 'restart'" in capsys.readouterr().err


def test_unpause_needs_the_dags_to_turn_on(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["unpause"])
    assert exited.value.code == 2
    assert "unpause: name the DAGs to turn on" in capsys.readouterr().err
