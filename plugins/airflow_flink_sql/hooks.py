"""Hook that runs a Flink SQL script through PyFlink in a child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_flink_sql.job import ERROR_MARKER, RESULT_MARKER

TARGETS = ("local", "remote")
# The folder that holds this package: the child imports airflow_flink_sql.job from it.
PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
KILL_GRACE_SECONDS = 10


class PyFlinkSqlHook(BaseHook):
    """
    Run Flink SQL in batch mode with PyFlink, in a fresh interpreter.

    ``target="local"`` starts an embedded MiniCluster inside the child and needs no
    connection; ``target="remote"`` submits to a Flink session cluster whose REST
    endpoint is the connection's host and port (extra JSON: more Flink options).

    :param target: ``local`` or ``remote``.
    :param flink_conn_id: connection of the remote cluster.
    :param flink_options: Flink configuration entries, applied last.
    :param parallelism: ``parallelism.default`` of the job.
    :param python: interpreter that has PyFlink installed (default: this one).
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = "flink_default"
    conn_type = "flink"
    hook_name = "Apache Flink (PyFlink SQL)"

    def __init__(
        self,
        *,
        target: str = "local",
        flink_conn_id: str = default_conn_name,
        flink_options: dict[str, Any] | None = None,
        parallelism: int | None = None,
        python: str | None = None,
    ) -> None:
        super().__init__()
        if target not in TARGETS:
            raise AirflowFailException(f"Flink target {target!r} is not one of {', '.join(TARGETS)}.")
        self.target = target
        self.flink_conn_id = flink_conn_id
        self.flink_options = flink_options or {}
        self.parallelism = parallelism
        self.python = python or sys.executable
        self._process: subprocess.Popen[str] | None = None

    def flink_configuration(self) -> dict[str, str]:
        configuration: dict[str, str] = {}
        if self.target == "remote":
            conn = self.get_connection(self.flink_conn_id)
            configuration.update(
                {"execution.target": "remote", "rest.address": conn.host, "rest.port": str(conn.port or 8081)}
            )
            configuration.update({k: str(v) for k, v in conn.extra_dejson.items()})
        if self.parallelism:
            configuration["parallelism.default"] = str(self.parallelism)
        configuration.update({k: str(v) for k, v in self.flink_options.items()})
        return configuration

    def build_command(self, sql_file: str) -> list[str]:
        return [
            self.python,
            "-m",
            "airflow_flink_sql.job",
            "--sql-file",
            sql_file,
            "--configuration",
            json.dumps(self.flink_configuration()),
        ]

    def run_sql(self, sql: str) -> dict[str, Any]:
        """Run the script; stream the child's output to the log; return the job's facts."""
        with tempfile.TemporaryDirectory(prefix="flink-sql-") as workdir:
            sql_file = os.path.join(workdir, "script.sql")
            Path(sql_file).write_text(sql, encoding="utf-8")
            command = self.build_command(sql_file)
            self.log.info("Running Flink SQL on the %s target: %s", self.target, " ".join(command[:3]))
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_PARENT, os.environ.get("PYTHONPATH")])),
            }
            outcome: dict[str, Any] | None = None
            failure: dict[str, Any] | None = None
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                cwd=workdir,
                start_new_session=True,  # its own process group: kill() reaches the JVM too
            )
            try:
                assert self._process.stdout is not None
                for line in self._process.stdout:
                    line = line.rstrip("\n")
                    if line.startswith(RESULT_MARKER):
                        outcome = json.loads(line[len(RESULT_MARKER) :])
                    elif line.startswith(ERROR_MARKER):
                        failure = json.loads(line[len(ERROR_MARKER) :])
                    self.log.info("%s", line)
                returncode = self._process.wait()
            finally:
                self.kill()
        if failure is not None:
            raise _failure_exception(failure)
        if returncode != 0 or outcome is None:
            raise AirflowException(
                f"Flink SQL child process exited with code {returncode} and no result; see the log above."
            )
        outcome["target"] = self.target
        return outcome

    def kill(self) -> None:
        """Stop the child's whole process group (Python and its JVM): TERM, then KILL after a grace period."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        self.log.warning("Stopping Flink SQL child process group %d", process.pid)
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        # The JVM may outlive a Python child that exited on TERM: always sweep the group.
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _failure_exception(failure: dict[str, Any]) -> AirflowException:
    if failure.get("kind") == "sql":
        where = (
            f"statement {failure['statement_index']} ({failure['statement']})"
            if failure.get("statement")
            else "the script"
        )
        # A statement Flink rejects fails the same way on every retry.
        return AirflowFailException(f"Flink rejected {where}: {failure['message']}")
    return AirflowException(f"Flink job failed: {failure['message']}")
