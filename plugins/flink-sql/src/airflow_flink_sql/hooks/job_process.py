"""The hook's local runner: the Flink job's child process (``python -m airflow_flink_sql.job``).

The child runs the script on a MiniCluster of its own, or submits it to a session cluster and returns; either way
it runs in a process group of its own, so stopping it reaches the JVM it started. Its output streams into the log;
its answer is the file it writes (:mod:`airflow_flink_sql.protocol`).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from airflow.sdk.exceptions import AirflowException

from airflow_flink_sql.protocol import JobReport

# How long a stopped child may take to end on SIGTERM before its group is killed. Under Airflow's escalation delay
# (5 s from its SIGTERM to its SIGKILL of the task's process, when a person stops the task): on_kill must sweep the
# group before the task's process is killed, or nothing here would kill a JVM that ignores SIGTERM.
KILL_GRACE_SECONDS = 3
# In a task, Airflow's task log takes in what any logger says.
log = logging.getLogger(__name__)


class JobProcess:
    """Runs the job's child process, one at a time, with ``python``, its output logged line by line; ``kill``
    stops it from another thread.

    :param python: interpreter that has PyFlink and this package installed.
    :param jvm_options: options of the JVM that PyFlink starts.
    :param class_data_dir: folder of the JVM's class-data-sharing archive; ``None`` turns it off.
    """

    def __init__(self, *, python: str, jvm_options: Sequence[str], class_data_dir: str | None) -> None:
        self.python = python
        self.jvm_options = list(jvm_options)
        self.class_data_dir = class_data_dir
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's pid, which is also its process group's id."""
        return self._process.pid if self._process else None

    def command(self, sql_file: str, workdir: str, configuration: dict[str, str], *, detach: bool) -> list[str]:
        return [
            self.python,
            "-m",
            "airflow_flink_sql.job",
            "--sql-file",
            sql_file,
            "--workdir",
            workdir,
            "--configuration",
            json.dumps(configuration),
            # One "=" argument: a value that starts with "-" would read as an option of its own.
            f"--jvm-options={shlex.join(self.jvm_options)}",
            *(["--class-data-dir", self.class_data_dir] if self.class_data_dir else []),
            *(["--detach"] if detach else []),
        ]

    def run(self, sql: str, configuration: dict[str, str], *, detach: bool) -> JobReport:
        """Run the child to its end, streaming its output to the log; its report (which may carry its failure)."""
        with tempfile.TemporaryDirectory(prefix="flink-sql-") as workdir:
            sql_file = os.path.join(workdir, "script.sql")
            Path(sql_file).write_text(sql, encoding="utf-8")
            command = self.command(sql_file, workdir, configuration, detach=detach)
            log.info("Running Flink SQL: %s", " ".join(command[:3]))
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=workdir,
                start_new_session=True,  # its own process group: kill() reaches the JVM too
            )
            try:
                assert self._process.stdout is not None
                for line in self._process.stdout:
                    log.info("%s", line.rstrip("\n"))
                returncode = self._process.wait() if self._process else -signal.SIGKILL
            finally:
                self.kill()
            report = JobReport.read(workdir)
        if report is None:
            raise AirflowException(f"Flink SQL child process exited with code {returncode} and no result; see the log.")
        return report

    def kill(self) -> None:
        """Stop the child's whole process group (Python and its JVM): TERM, then KILL after a grace period."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            log.warning("Stopping Flink SQL child process group %d", process.pid)
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        # The JVM can outlive its Python parent: always sweep the group.
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
