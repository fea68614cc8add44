"""Local processes and ports, on real short-lived child processes (`sleep`) and real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import psutil
import pytest
from airflow_flink_sql.processes import alive, free_port, group_members, java_pids, wait_gone
from airflow_flink_sql.waiting import wait_for


@pytest.fixture
def group() -> Iterator[subprocess.Popen[bytes]]:
    """A shell in a process group of its own, with two `sleep` children."""
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    yield leader
    try:
        os.killpg(leader.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    leader.wait()


def test_a_free_port_can_be_listened_on() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()


def test_a_process_is_alive_while_it_runs_and_not_once_it_exited() -> None:
    process = subprocess.Popen(["sleep", "60"])
    assert alive(process.pid)
    process.kill()
    process.wait()
    assert not alive(process.pid)


def test_an_exited_child_not_yet_reaped_counts_as_gone() -> None:
    process = subprocess.Popen(["true"])
    wait_for(lambda: psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE, "`true` to exit", 10, every=0.05)
    assert not alive(process.pid)
    process.wait()


def test_group_members_are_the_live_processes_of_the_group(group: subprocess.Popen[bytes]) -> None:
    members = wait_for(lambda: len(found := group_members(group.pid)) == 3 and found, "the sleeps", 10, every=0.05)
    assert group.pid in members
    assert os.getpid() not in members
    os.killpg(group.pid, signal.SIGKILL)
    group.wait()
    assert wait_gone(members, 5) == []
    assert group_members(group.pid) == []


def test_wait_gone_returns_once_the_processes_ended() -> None:
    processes = [subprocess.Popen(["sleep", seconds]) for seconds in ("0.2", "0.4")]
    started = time.monotonic()
    assert wait_gone([process.pid for process in processes], 10) == []
    assert time.monotonic() - started < 5
    for process in processes:
        process.wait()


def test_wait_gone_returns_the_processes_still_running_at_its_timeout() -> None:
    ending, staying = subprocess.Popen(["sleep", "0.1"]), subprocess.Popen(["sleep", "60"])
    try:
        assert wait_gone([ending.pid, staying.pid], 0.5) == [staying.pid]
    finally:
        staying.kill()
        staying.wait()
        ending.wait()


def test_java_pids_are_the_processes_run_as_java() -> None:
    """A process whose program name is `java` (bash's ``exec -a``) counts; a `sleep` does not."""
    java = subprocess.Popen(["bash", "-c", "exec -a /opt/jdk/bin/java sleep 60"])
    other = subprocess.Popen(["sleep", "60"])
    try:
        found = wait_for(lambda: java.pid in (pids := java_pids()) and pids, "bash to exec `java`", 10, every=0.05)
        assert other.pid not in found
    finally:
        for process in (java, other):
            process.kill()
            process.wait()
