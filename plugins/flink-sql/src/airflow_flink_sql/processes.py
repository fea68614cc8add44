"""Local processes and ports: find exactly what we started, so we stop only that, and see it gone (psutil). The
session cluster (session_cluster.py) and this distribution's tests use them, and so does the project that ships it."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection

import psutil

from airflow_flink_sql.waiting import WaitTimedOut, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie has exited all the same."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pids: Collection[int], timeout: float, *, every: float = 0.2) -> list[int]:
    """Wait up to ``timeout`` seconds until none of ``pids`` runs; those still running then (none once all ended)."""
    try:
        wait_for(lambda: not any(alive(pid) for pid in pids), f"processes {sorted(pids)} to end", timeout, every=every)
    except WaitTimedOut:
        pass  # the caller decides what the survivors get: a harder signal, or nothing
    return [pid for pid in pids if alive(pid)]


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid``."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and _pgid(process.pid) == pgid:
                members.append(process.pid)
        except psutil.NoSuchProcess:
            pass
    return members


def java_pids() -> set[int]:
    """Every running Java virtual machine."""
    pids = set()
    for process in psutil.process_iter(["cmdline", "status"]):
        command = process.info["cmdline"] or []
        if command and os.path.basename(command[0]) == "java" and process.info["status"] != psutil.STATUS_ZOMBIE:
            pids.add(process.pid)
    return pids


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
