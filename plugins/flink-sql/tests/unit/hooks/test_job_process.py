"""The local runner without a JVM: the command it starts, and its stop reaching the whole process group. What the
hook makes of the child's answer is in test_flink_sql.py."""

from __future__ import annotations

import inspect
import shlex
import stat
import threading
import time
from pathlib import Path

import psutil
import pytest
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.execution_time.supervisor import ActivitySubprocess
from airflow_flink_sql.hooks.job_process import JobProcess
from airflow_flink_sql.processes import group_members


def test_the_command_runs_the_job_module_with_jvm_options_as_one_argument() -> None:
    options = ["-Xmx1g", "-Dx=a b"]
    runner = JobProcess(python="/venv/bin/python", jvm_options=options, class_data_dir=None)
    command = runner.command("/w/script.sql", "/w", {"parallelism.default": "2"}, detach=True)
    assert command[:3] == ["/venv/bin/python", "-m", "airflow_flink_sql.job"]
    # One "=" argument: options that start with "-" are not read as the job's own.
    assert f"--jvm-options={shlex.join(options)}" in command
    assert "--class-data-dir" not in command
    assert command[-1] == "--detach"


def test_kill_stops_the_childs_whole_process_group(tmp_path: Path) -> None:
    """A stand-in child that starts a grandchild (as PyFlink starts its JVM) and waits: both end on kill."""
    grandchild = tmp_path / "grandchild.pid"
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {grandchild}\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    runner = JobProcess(python=str(script), jvm_options=[], class_data_dir=None)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            runner.run("SELECT 1", {}, detach=False)
        except BaseException as exc:  # noqa: BLE001 - what the run ended with is the test's to check
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not (grandchild.exists() and grandchild.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.pid is not None
    runner.kill()
    thread.join(15)
    assert not thread.is_alive()
    assert [type(error) for error in errors] == [AirflowException], "a killed job has no result"
    try:  # gone, or a zombie (it has exited; nobody here reaps an orphan)
        assert psutil.Process(int(grandchild.read_text())).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass


def test_kill_ends_a_group_that_ignores_sigterm_before_airflow_kills_the_task(tmp_path: Path) -> None:
    """Airflow sends the task's process SIGTERM (on_kill runs), then SIGKILL after its escalation delay: the stop
    must have swept the group by then, a JVM that ignores SIGTERM included."""
    escalation = inspect.signature(ActivitySubprocess.kill).parameters["escalation_delay"].default
    grandchild = tmp_path / "grandchild.pid"
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\ntrap '' TERM\nsh -c \"trap '' TERM; sleep 600\" &\necho $! > {grandchild}\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    runner = JobProcess(python=str(script), jvm_options=[], class_data_dir=None)
    thread = threading.Thread(target=lambda: pytest.raises(AirflowException, runner.run, "SELECT 1", {}, detach=False))
    thread.start()
    deadline = time.monotonic() + 10
    while not (grandchild.exists() and grandchild.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pgid = runner.pid
    assert pgid is not None
    started = time.monotonic()
    runner.kill()
    assert time.monotonic() - started < escalation
    thread.join(15)
    assert not thread.is_alive()
    assert group_members(pgid) == []
