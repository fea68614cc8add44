"""Airflow's environment for local runs: one assembly for the Makefile, the tests and the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT
from tools.local_env import local_airflow_env

ROOT, HOME, DATA = Path("/src/project"), Path("/home/dev/.airflow"), Path("/srv/data")


def test_a_local_run_finds_the_projects_dags_plugins_and_package_and_keeps_its_files_in_home_and_data() -> None:
    env = local_airflow_env(ROOT, HOME, DATA)
    assert env["PYTHONPATH"] == "/src/project"
    assert env["AIRFLOW_HOME"] == "/home/dev/.airflow"
    assert (env["AIRFLOW__CORE__DAGS_FOLDER"], env["AIRFLOW__CORE__PLUGINS_FOLDER"]) == (
        "/src/project/dags",
        "/src/project/plugins",
    )
    assert env["SECTOR_REPORT_DATA_DIR"] == env["AIRFLOW__REPORT_VIEWER__ROOT"] == "/srv/data"
    assert (env["AIRFLOW__CORE__LOAD_EXAMPLES"], env["AIRFLOW__CORE__PARALLELISM"]) == ("False", "4")
    assert (env["SECTOR_REPORT_FLINK_TARGET"], env["SECTOR_REPORT_SOURCE"]) == ("local", "generate")
    assert all(isinstance(value, str) for value in env.values())


def test_the_developers_pythonpath_follows_the_projects_and_their_choices_of_target_and_source_stand() -> None:
    environ = {"PYTHONPATH": "/extra", "SECTOR_REPORT_FLINK_TARGET": "remote", "SECTOR_REPORT_SOURCE": "", "HOME": "/h"}
    env = local_airflow_env(ROOT, HOME, DATA, environ)
    assert env["PYTHONPATH"] == os.pathsep.join(["/src/project", "/extra"])
    assert (env["SECTOR_REPORT_FLINK_TARGET"], env["SECTOR_REPORT_SOURCE"]) == ("remote", "generate")
    assert "HOME" not in env, "only Airflow's environment: the caller's own is the caller's to pass on"


def test_the_make_targets_command_runs_in_that_environment_with_the_data_folder_the_dags_read(tmp_path: Path) -> None:
    probe = "import os; print(os.environ['AIRFLOW_HOME'], os.environ['AIRFLOW__REPORT_VIEWER__ROOT'])"
    environ = {**os.environ, "SECTOR_REPORT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "tools.local_env", "--home", str(tmp_path / "home"), "--"]
    out = subprocess.run(
        [*command, sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "home"), str(tmp_path / "data")]


def test_a_wrong_setting_elsewhere_does_not_stop_a_command_that_only_needs_the_environment(tmp_path: Path) -> None:
    """`make stop` runs under the local environment: a bad SECTOR_REPORT_EXCHANGE must not keep Airflow running."""
    environ = {**os.environ, "SECTOR_REPORT_EXCHANGE": "NOWHERE", "SECTOR_REPORT_DATA_DIR": str(tmp_path)}
    command = [
        sys.executable,
        "-m",
        "tools.local_env",
        "--home",
        str(tmp_path / "home"),
        "--",
        sys.executable,
        "-c",
        "",
    ]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
