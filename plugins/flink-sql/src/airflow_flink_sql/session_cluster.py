"""Start and stop a real Flink standalone session cluster from the PyFlink wheel, on free local ports.

A cluster on localhost to run ``target="remote"`` jobs on: a developer's own, or a test's or a benchmark's.

    python -m airflow_flink_sql.session_cluster start --workdir .flink-cluster [--rest-port 8081]
        [--taskmanager-memory 2g] [--jobmanager-memory 1g]
    python -m airflow_flink_sql.session_cluster stop --workdir .flink-cluster

The wheel ships Flink's own ``bin/start-cluster.sh``; this runs it with a configuration
folder, log folder and pid folder of its own, so several clusters (a developer's and a
test's) never share ports or pid files. It needs PyFlink (the ``pyflink`` extra) and bash.

Memory: the TaskManager gets ``taskmanager.memory.process.size`` (default 2g), the JobManager
``jobmanager.memory.process.size`` (default 1g); Flink divides each into heap, managed memory (the batch hash
aggregates and joins) and network memory itself. The TaskManager's JVM uses the parallel garbage collector.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_sql.processes import free_port, wait_gone
from airflow_flink_sql.waiting import WaitTimedOut, wait_for


def flink_home() -> Path:
    import pyflink  # only for its location: nothing of it runs in this process

    return Path(pyflink.__file__).resolve().parent


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        base[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


DEFAULT_TASKMANAGER_MEMORY = "2g"
DEFAULT_JOBMANAGER_MEMORY = "1g"
# The TaskManager runs short batch jobs: the parallel collector, as the operator gives its local JVM
# (with G1 the warm cluster's 1e7-row job took 0.8 s longer than the local one).
TASKMANAGER_JAVA_OPTS = "-XX:+UseParallelGC"


class SessionCluster:
    """One JobManager and one TaskManager on localhost, all state under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        rest_port: int | None = None,
        slots: int = 2,
        taskmanager_memory: str = DEFAULT_TASKMANAGER_MEMORY,
        jobmanager_memory: str = DEFAULT_JOBMANAGER_MEMORY,
        configuration: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.rest_port = rest_port
        self.slots = slots
        self.taskmanager_memory = taskmanager_memory
        self.jobmanager_memory = jobmanager_memory
        self.configuration = configuration or {}

    @property
    def conf_dir(self) -> Path:
        return self.workdir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "log"

    @property
    def rest_url(self) -> str:
        return f"http://localhost:{self.rest_port}"

    def _env(self) -> dict[str, str]:
        home = flink_home()
        return {
            **os.environ,
            "FLINK_HOME": str(home),
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.log_dir),
            "FLINK_PID_DIR": str(self.workdir),
        }

    def _script(self, name: str) -> list[str]:
        return ["bash", str(flink_home() / "bin" / name)]

    def write_configuration(self) -> None:
        self.rest_port = self.rest_port or free_port()
        shutil.copytree(flink_home() / "conf", self.conf_dir, dirs_exist_ok=True)
        config_file = self.conf_dir / "config.yaml"
        config = yaml.safe_load(config_file.read_text())
        _merge(
            config,
            {
                "jobmanager": {"rpc": {"port": free_port()}, "memory": {"process": {"size": self.jobmanager_memory}}},
                "taskmanager": {
                    "numberOfTaskSlots": self.slots,
                    "memory": {"process": {"size": self.taskmanager_memory}},
                },
                "rest": {"port": self.rest_port, "bind-port": str(self.rest_port)},
                "env": {"java": {"opts": {"taskmanager": TASKMANAGER_JAVA_OPTS}}},
            },
        )
        _merge(config, self.configuration)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        (self.workdir / "cluster.json").write_text(json.dumps({"rest_port": self.rest_port}))

    def start(self, timeout: float = 90) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.write_configuration()
        subprocess.run(self._script("start-cluster.sh"), env=self._env(), check=True, capture_output=True)

        def slots_free() -> bool:
            overview = self.overview()
            return overview is not None and overview.get("slots-available", 0) >= self.slots

        try:
            wait_for(slots_free, f"{self.slots} free slots (logs in {self.log_dir})", timeout, every=0.5)
        except WaitTimedOut:
            self.stop()
            raise

    def taskmanager_pids(self) -> list[int]:
        return [pid for pid_file in self.workdir.glob("flink-*-taskexecutor.pid") for pid in _pids_in(pid_file)]

    def restart_taskmanager(self, timeout: float = 90) -> None:
        """Start a TaskManager (after one died) and wait until it has registered. Not until its slots are
        free: a job waiting for slots takes them at once. Nor by counting slots: the dead TaskManager's
        are counted until the JobManager notices it is gone."""
        before = self._taskmanager_ids()
        subprocess.run(self._script("taskmanager.sh") + ["start"], env=self._env(), check=True, capture_output=True)
        registered = f"a TaskManager to register (logs in {self.log_dir})"
        wait_for(lambda: self._taskmanager_ids() - before, registered, timeout, every=0.5)

    def stop_taskmanagers(self, timeout: float = 60) -> None:
        """Stop every TaskManager with Flink's script (gracefully: the JobManager forgets them at once) and wait
        until the JobManager has none."""
        subprocess.run(self._script("taskmanager.sh") + ["stop-all"], env=self._env(), check=True, capture_output=True)
        gone = f"the JobManager to have no TaskManager (logs in {self.log_dir})"
        wait_for(lambda: not self._taskmanager_ids(), gone, timeout, every=0.5)

    def _taskmanager_ids(self) -> set[str]:
        try:
            with urllib.request.urlopen(f"{self.rest_url}/taskmanagers", timeout=2) as response:
                return {taskmanager["id"] for taskmanager in json.load(response)["taskmanagers"]}
        except OSError:
            return set()

    def overview(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.rest_url}/overview", timeout=2) as response:
                overview: dict[str, Any] = json.load(response)
                return overview
        except OSError:
            return None

    def jobs(self) -> list[dict[str, Any]]:
        return flink_jobs(self.rest_url)

    def pids(self) -> list[int]:
        return [pid for pid_file in self.workdir.glob("flink-*.pid") for pid in _pids_in(pid_file)]

    def stop(self) -> None:
        """Stop both daemons with Flink's script, then make sure their processes are gone: those that outlive it
        are killed, and one that outlives that fails the stop."""
        pids = self.pids()
        subprocess.run(self._script("stop-cluster.sh"), env=self._env(), check=False, capture_output=True)
        for pid in wait_gone(pids, 30):
            with contextlib.suppress(ProcessLookupError):  # it may end between the look and the kill
                os.kill(pid, signal.SIGKILL)
        if survivors := wait_gone(pids, 10):
            raise RuntimeError(f"the session cluster's JVMs {survivors} outlived it (logs in {self.log_dir})")

    @classmethod
    def from_workdir(cls, workdir: Path) -> SessionCluster:
        state = json.loads((Path(workdir) / "cluster.json").read_text())
        return cls(workdir, rest_port=state["rest_port"])


def flink_jobs(rest_url: str) -> list[dict[str, Any]]:
    """The jobs a Flink cluster's REST API lists (``/jobs/overview``): id, name, state, tasks."""
    with urllib.request.urlopen(f"{rest_url}/jobs/overview", timeout=10) as response:
        return list(json.load(response)["jobs"])


def _pids_in(pid_file: Path) -> list[int]:
    return [int(line) for line in pid_file.read_text().split() if line.strip().isdigit()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--workdir", type=Path, default=Path(".flink-cluster"))
    parser.add_argument("--rest-port", type=int, default=None, help="REST/web UI port (default: a free one)")
    parser.add_argument("--taskmanager-memory", default=DEFAULT_TASKMANAGER_MEMORY, help="TaskManager process size")
    parser.add_argument("--jobmanager-memory", default=DEFAULT_JOBMANAGER_MEMORY, help="JobManager process size")
    args = parser.parse_args(argv)
    if args.command == "start":
        cluster = SessionCluster(
            args.workdir,
            rest_port=args.rest_port,
            taskmanager_memory=args.taskmanager_memory,
            jobmanager_memory=args.jobmanager_memory,
        )
        cluster.start()
        print(f"Flink session cluster ready: {cluster.rest_url} (logs in {cluster.log_dir})")
    else:
        SessionCluster.from_workdir(args.workdir).stop()
        print("Flink session cluster stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
