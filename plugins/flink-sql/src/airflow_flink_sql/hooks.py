"""Hook that runs a Flink SQL script through PyFlink in a child process."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_flink_sql.job import ERROR_MARKER, JOB_MARKER, RESULT_MARKER, quote_java_option

TARGETS = ("local", "remote")
# The folder that holds this package: the child imports airflow_flink_sql.job from it.
PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
# Planner-generated SQL operators never hold on to records they pass on, so Flink need not copy
# every record between chained operators (copying was ~10 % of the task thread's profile samples).
DEFAULT_FLINK_OPTIONS = {"pipeline.object-reuse": "true"}
# The JVM PyFlink starts hosts the whole local MiniCluster; without a limit it sizes its heap at a
# quarter of the machine's memory and grows to use it. The planner's code runs once per job: with
# C2's thresholds ten times the JDK's, C2 spends its time on the operators that run per record
# instead of competing with the planner (measured: a 1,000-row job 0.8 s faster, a 1e7-row one 1.2 s).
LATE_C2 = (
    "-XX:Tier4InvocationThreshold=50000",
    "-XX:Tier4MinInvocationThreshold=6000",
    "-XX:Tier4CompileThreshold=150000",
    "-XX:Tier4BackEdgeThreshold=400000",
)
# A short batch job wants throughput, not short pauses: the parallel collector instead of G1 made a
# 1e7-row job about 1 s faster and a small one no slower (benchmarks/results/flink_profile.md).
PARALLEL_GC = ("-XX:+UseParallelGC",)
DEFAULT_JVM_OPTIONS = ("-Xmx1g", *LATE_C2, *PARALLEL_GC)
DEFAULT_CLASS_DATA_DIR = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "airflow-flink-sql"
)
KILL_GRACE_SECONDS = 10
REST_TIMEOUT_SECONDS = 10
# Root causes that come from the data or the script, not from the cluster: a retry fails the same way.
DETERMINISTIC_CAUSES = re.compile(
    r"^(java\.io\.FileNotFoundException|java\.lang\.NumberFormatException|java\.time\.format\.DateTimeParseException"
    r"|java\.lang\.ArithmeticException|org\.apache\.flink\.table\.api\.ValidationException"
    r"|org\.apache\.flink\.formats\.\S+Exception)"
)


class PyFlinkSqlHook(BaseHook):
    """
    Run Flink SQL in batch mode with PyFlink, in a fresh interpreter.

    ``target="local"`` starts an embedded MiniCluster inside the child and needs no
    connection; ``target="remote"`` submits to a Flink session cluster whose REST
    endpoint is the connection's host and port (extra JSON: more Flink options).

    :param target: ``local`` or ``remote``.
    :param flink_conn_id: connection of the remote cluster.
    :param flink_options: Flink configuration entries, applied last (over ``DEFAULT_FLINK_OPTIONS``).
    :param parallelism: ``parallelism.default`` of the job.
    :param python: interpreter that has PyFlink installed (default: this one).
    :param jvm_options: options of the JVM that PyFlink starts (the local MiniCluster's JVM).
    :param class_data_dir: folder for the JVM's class-data-sharing archive (about 110 MB, written by
        the first run, saves over a second of start-up on every later one); ``None`` turns it off.
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
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
        class_data_dir: str | None = DEFAULT_CLASS_DATA_DIR,
    ) -> None:
        super().__init__()
        if target not in TARGETS:
            raise AirflowFailException(f"Flink target {target!r} is not one of {', '.join(TARGETS)}.")
        self.target = target
        self.flink_conn_id = flink_conn_id
        self.flink_options = flink_options or {}
        self.parallelism = parallelism
        self.python = python or sys.executable
        self.jvm_options = list(jvm_options)
        for option in self.jvm_options:
            try:
                quote_java_option(option)
            except ValueError as exc:
                raise AirflowFailException(str(exc)) from exc
        self.class_data_dir = class_data_dir
        self._process: subprocess.Popen[str] | None = None
        self._connection = None

    @property
    def connection(self):
        if self._connection is None:
            self._connection = self.get_connection(self.flink_conn_id)
        return self._connection

    @property
    def rest_endpoint(self) -> tuple[str, int]:
        """Host and port of the remote cluster's REST API, from the connection."""
        conn = self.connection
        if not conn.host:
            raise AirflowFailException(f"Connection {self.flink_conn_id!r} has no host for the Flink REST endpoint.")
        return conn.host, conn.port or 8081

    @property
    def rest_url(self) -> str | None:
        """The remote cluster's REST endpoint, which also serves its web UI."""
        if self.target != "remote":
            return None
        host, port = self.rest_endpoint
        return f"{self.connection.schema or 'http'}://{host}:{port}"

    def job_url(self, job_id: str) -> str | None:
        return f"{self.rest_url}/#/job/completed/{job_id}/overview" if self.target == "remote" else None

    def flink_configuration(self) -> dict[str, str]:
        configuration: dict[str, str] = dict(DEFAULT_FLINK_OPTIONS)
        if self.target == "remote":
            host, port = self.rest_endpoint
            configuration.update({"execution.target": "remote", "rest.address": host, "rest.port": str(port)})
            configuration.update({k: str(v) for k, v in self.connection.extra_dejson.items()})
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
            # One "=" argument: a value that starts with "-" would read as an option of its own.
            f"--jvm-options={shlex.join(self.jvm_options)}",
            *(["--class-data-dir", self.class_data_dir] if self.class_data_dir else []),
        ]

    def child_env(self) -> dict[str, str]:
        """The child's environment: this one, with this package importable."""
        python_path = os.pathsep.join(filter(None, [PACKAGE_PARENT, os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": python_path}

    def rest_get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=REST_TIMEOUT_SECONDS) as response:
            return json.load(response)

    def check_cluster(self) -> None:
        """Fail in seconds, not after Flink's client has retried for a minute, when the cluster is down."""
        try:
            self.rest_get("/overview")
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowException(
                f"Flink cluster at {self.rest_url} (connection {self.flink_conn_id!r}) is unreachable: "
                f"{getattr(exc, 'reason', exc)}"
            ) from None

    def job_vertices(self, job_id: str) -> list[dict[str, Any]]:
        """Records in and out of each vertex of a finished job, as the cluster's REST API reports them."""
        details = self.rest_get(f"/jobs/{job_id}")
        return [
            {
                "name": vertex["name"],
                "read_records": vertex["metrics"]["read-records"],
                "write_records": vertex["metrics"]["write-records"],
                "duration_ms": vertex["duration"],
            }
            for vertex in details["vertices"]
        ]

    def run_sql(self, sql: str, on_job_submitted: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Run the script; stream the child's output to the log; return the job's facts."""
        if self.target == "remote":
            self.check_cluster()
        with tempfile.TemporaryDirectory(prefix="flink-sql-") as workdir:
            sql_file = os.path.join(workdir, "script.sql")
            Path(sql_file).write_text(sql, encoding="utf-8")
            command = self.build_command(sql_file)
            self.log.info("Running Flink SQL on the %s target: %s", self.target, " ".join(command[:3]))
            outcome: dict[str, Any] | None = None
            failure: dict[str, Any] | None = None
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.child_env(),
                cwd=workdir,
                start_new_session=True,  # its own process group: kill() reaches the JVM too
            )
            try:
                for line in self._process.stdout:
                    line = line.rstrip("\n")
                    self.log.info("%s", line)
                    if line.startswith(JOB_MARKER) and on_job_submitted:
                        on_job_submitted(line[len(JOB_MARKER) :].strip())
                    elif line.startswith(RESULT_MARKER):
                        outcome = json.loads(line[len(RESULT_MARKER) :])
                    elif line.startswith(ERROR_MARKER):
                        failure = json.loads(line[len(ERROR_MARKER) :])
                returncode = self._process.wait() if self._process else -signal.SIGKILL
            finally:
                self.kill()
        if failure is not None:
            raise self._failure_exception(failure)
        if returncode != 0 or outcome is None:
            raise AirflowException(
                f"Flink SQL child process exited with code {returncode} and no result; see the log above."
            )
        return self._facts(outcome)

    def _facts(self, outcome: dict[str, Any]) -> dict[str, Any]:
        facts = {**outcome, "target": self.target, "job_url": None, "records_read": None, "vertices": None}
        if self.target == "remote" and outcome.get("job_id"):
            facts["job_url"] = self.job_url(outcome["job_id"])
            try:
                vertices = self.job_vertices(outcome["job_id"])
            except (urllib.error.URLError, OSError, KeyError) as exc:
                self.log.warning("Could not read job metrics from %s: %s", self.rest_url, exc)
            else:
                facts["vertices"] = vertices
                facts["records_read"] = sum(v["read_records"] for v in vertices if v["name"].startswith("Source:"))
        return facts

    def _failure_exception(self, failure: dict[str, Any]) -> AirflowException:
        message = failure["message"]
        if failure.get("job_id") and self.target == "remote":
            message += f" (job {self.job_url(failure['job_id'])})"
        if failure.get("kind") == "sql":
            statement = failure.get("statement")
            where = f"statement {failure['statement_index']} ({statement})" if statement else "the script"
            # A statement Flink rejects fails the same way on every retry.
            return AirflowFailException(f"Flink rejected {where}: {message}")
        if DETERMINISTIC_CAUSES.match(message):
            return AirflowFailException(f"Flink job failed on its input: {message}")
        return AirflowException(f"Flink job failed: {message}")

    def kill(self) -> None:
        """Stop the child's whole process group (Python and its JVM): TERM, then KILL after a grace period."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            self.log.warning("Stopping Flink SQL child process group %d", process.pid)
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
