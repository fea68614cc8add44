"""Run a command and measure it as a whole: wall time, peak RSS and CPU time of its process tree.

A JVM started by a Python program (PyFlink's gateway, Spark's driver) is a child of that
program, so ``resource.getrusage`` of the parent alone misses most of the memory; the tree
is sampled every ``interval`` seconds instead, summing the RSS of every live process in it.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from tools.processes import group_members, wait_gone
from tools.waiting import wait_for


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    peak_rss_bytes: int
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    interval: float = 0.05,
    on_sample: Callable[[list[psutil.Process]], None] | None = None,
) -> Measurement:
    """Run ``command`` to its end; its whole process group is stopped afterwards.

    ``on_sample`` sees the live processes of the tree at every sample.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    root = psutil.Process(process.pid)
    peak_rss = 0
    cpu_by_pid: dict[int, float] = {}
    stdout_chunks: list[str] = []
    stderr_chunks: list[str] = []
    reader = _PipeDrainer(process, stdout_chunks, stderr_chunks)

    def ended_after_a_sample() -> bool:
        nonlocal peak_rss
        rss = 0
        members = _tree(root)
        for member in members:
            try:
                with member.oneshot():
                    rss += member.memory_info().rss
                    times = member.cpu_times()
                    cpu_by_pid[member.pid] = times.user + times.system
            except psutil.Error:
                continue  # ended between listing and reading
        peak_rss = max(peak_rss, rss)
        if on_sample:
            on_sample(members)
        return process.poll() is not None

    wait_for(ended_after_a_sample, f"{command[0]} to end", math.inf, every=interval)
    wall = time.perf_counter() - started
    _stop_group(process.pid)  # before joining: a leftover JVM would hold the pipes open
    reader.join()
    return Measurement(
        wall_s=wall,
        peak_rss_bytes=peak_rss,
        cpu_s=sum(cpu_by_pid.values()),
        returncode=process.returncode,
        stdout="".join(stdout_chunks),
        stderr="".join(stderr_chunks),
    )


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _stop_group(pgid: int) -> None:
    """A JVM that outlives its Python parent would skew the next engine's figures: killed, and gone before the
    next engine starts."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(group_members(pgid), 10)


class _PipeDrainer:
    """Reads both pipes in background threads so a chatty child never blocks on a full pipe."""

    def __init__(self, process: subprocess.Popen, stdout: list[str], stderr: list[str]):
        self._threads = [
            threading.Thread(target=_drain, args=(process.stdout, stdout), daemon=True),
            threading.Thread(target=_drain, args=(process.stderr, stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


def _drain(pipe, chunks: list[str]) -> None:
    for line in pipe:
        chunks.append(line)
