"""Local processes and ports: find exactly what we started (Linux /proc), so we stop only that."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie has exited all the same."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = _stat(Path("/proc") / str(pid))
    return stat is not None and stat[0] != "Z"


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid``."""
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            stat = _stat(proc)
            if stat and int(stat[2]) == pgid and stat[0] != "Z":
                members.append(int(proc.name))
    return members


def java_pids() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"java" in (proc / "cmdline").read_bytes().split(b"\0")[0]:
                    pids.add(int(proc.name))
            except OSError:
                pass
    return pids


def _stat(proc: Path) -> list[str] | None:
    """Fields after the command name of /proc/<pid>/stat: state, ppid, pgrp, ..."""
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
