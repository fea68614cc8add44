"""Hook that runs Flink SQL through PyFlink in a child process, and talks to a Flink cluster's REST API."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_flink_sql.job.errors import root_cause_of_trace
from airflow_flink_sql.job.jvm import quote_java_option
from airflow_flink_sql.protocol import JobFailure, JobReport

TARGETS = ("local", "remote")
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
# Root causes that come from the data or the script, not from the cluster: a retry fails the same way.
# Java exception class names, fnmatch patterns.
DEFAULT_FINAL_FAILURES = (
    "java.io.FileNotFoundException",
    "java.lang.NumberFormatException",
    "java.time.format.DateTimeParseException",
    "java.lang.ArithmeticException",
    "org.apache.flink.table.api.ValidationException",
    "org.apache.flink.formats.*Exception",
)
# A job in one of these states may still finish: a retry of the task reconnects to it.
ACTIVE_STATES = frozenset(
    {"INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "FAILING", "CANCELLING", "RECONCILING", "SUSPENDED"}
)
NOT_FOUND = "NOT_FOUND"
# How long a remote job may wait for slots by default: Flink's own slot.request.timeout, and ample for a
# TaskManager that a supervisor brings back (one starts in seconds).
DEFAULT_SLOT_WAIT_SECONDS = 300
# A job with a task in one of these states has its slots: it is not waiting for the cluster.
TASK_STATES_WITH_SLOTS = ("DEPLOYING", "INITIALIZING", "RUNNING")
# Fixes the id of the job a script submits: the id is known, and kept, before the job exists.
FIXED_JOB_ID_OPTION = "$internal.pipeline.job-id"
KILL_GRACE_SECONDS = 10
REST_TIMEOUT_SECONDS = 10
# How often a running job's state is asked for: fast at first for short jobs, then every half second (a
# nightly job takes seconds; two seconds between polls made the remote target measurably slower than local).
POLL_SECONDS = (0.1, 0.5)


class JobWaitInterrupted(AirflowException):
    """The wait for a remote job was interrupted (the task is being stopped); the job itself runs on."""


class PyFlinkSqlHook(BaseHook):
    """
    Run Flink SQL in batch mode with PyFlink, in a fresh interpreter, on a local MiniCluster or a
    Flink session cluster, and follow the cluster's jobs through its REST API.

    ``target="local"`` starts an embedded MiniCluster inside the child and needs no connection;
    ``target="remote"`` submits to the session cluster whose REST endpoint is the connection's
    host and port (scheme: its schema, default ``http``; extra: more Flink options).

    Flink configuration, lowest precedence first: ``DEFAULT_FLINK_OPTIONS``, the remote endpoint,
    the connection's extra, ``parallelism``, ``flink_options``.

    :param target: ``local`` or ``remote``.
    :param flink_conn_id: connection of the remote cluster.
    :param flink_options: Flink configuration entries.
    :param parallelism: ``parallelism.default`` of the job.
    :param python: interpreter that has PyFlink and this package installed (default: this one).
    :param jvm_options: options of the JVM that PyFlink starts (the local MiniCluster's JVM).
    :param class_data_dir: folder for the JVM's class-data-sharing archive (about 110 MB, written by
        the first run, saves over a second of start-up on every later one); ``None`` turns it off.
    :param final_failures: Java exception classes (fnmatch patterns) of root causes that a retry
        cannot fix: the task then fails without retrying.
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = "flink_default"
    conn_type = "flink"
    hook_name = "Apache Flink"

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
        final_failures: Sequence[str] = DEFAULT_FINAL_FAILURES,
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
        self.final_failures = tuple(final_failures)
        self._process: subprocess.Popen[str] | None = None
        self.interrupted = False

    # -- configuration -------------------------------------------------------------------------

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.flink_conn_id)

    @property
    def rest_url(self) -> str:
        """The cluster's REST endpoint, which also serves its web UI."""
        conn = self.connection
        if not conn.host:
            raise AirflowFailException(f"Connection {self.flink_conn_id!r} has no host for the Flink REST endpoint.")
        return f"{conn.schema or 'http'}://{conn.host}:{conn.port or 8081}"

    def job_url(self, job_id: str) -> str:
        return f"{self.rest_url}/#/job/completed/{job_id}/overview"

    def flink_configuration(self, **job: str) -> dict[str, str]:
        """The job's Flink configuration; ``job`` adds entries of this one job (its fixed id, its name)."""
        configuration: dict[str, str] = dict(DEFAULT_FLINK_OPTIONS)
        if self.target == "remote":
            conn = self.connection
            configuration.update(
                {"execution.target": "remote", "rest.address": conn.host, "rest.port": str(conn.port or 8081)}
            )
            configuration.update({k: str(v) for k, v in conn.extra_dejson.items()})
        if self.parallelism:
            configuration["parallelism.default"] = str(self.parallelism)
        configuration.update({k: str(v) for k, v in self.flink_options.items()})
        configuration.update(job)
        return configuration

    def build_command(self, sql_file: str, workdir: str, configuration: dict[str, str], *, detach: bool) -> list[str]:
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

    # -- the child process ---------------------------------------------------------------------

    def run_local(self, sql: str) -> JobReport:
        """Run the script on a MiniCluster in the child, to its end."""
        return self._run_child(sql, self.flink_configuration(), detach=False)

    def submit(self, sql: str, *, job_id: str, job_name: str) -> JobReport:
        """Submit the script to the session cluster as job ``job_id``; return once it is submitted."""
        self.check_cluster()
        configuration = self.flink_configuration(**{FIXED_JOB_ID_OPTION: job_id, "pipeline.name": job_name})
        return self._run_child(sql, configuration, detach=True)

    def _run_child(self, sql: str, configuration: dict[str, str], *, detach: bool) -> JobReport:
        """Run the job's child process; stream its output to the log; return its report or raise its failure."""
        with tempfile.TemporaryDirectory(prefix="flink-sql-") as workdir:
            sql_file = os.path.join(workdir, "script.sql")
            Path(sql_file).write_text(sql, encoding="utf-8")
            command = self.build_command(sql_file, workdir, configuration, detach=detach)
            self.log.info("Running Flink SQL on the %s target: %s", self.target, " ".join(command[:3]))
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
                    self.log.info("%s", line.rstrip("\n"))
                returncode = self._process.wait() if self._process else -signal.SIGKILL
            finally:
                self.kill()
            report = JobReport.read(workdir)
        if report is None:
            raise AirflowException(f"Flink SQL child process exited with code {returncode} and no result; see the log.")
        if report.failure:
            raise self.failure_exception(report.failure, report.job_id)
        return report

    def failure_exception(self, failure: JobFailure, job_id: str | None = None) -> AirflowException:
        """The task's error for a failed job: final (no retry) if retrying cannot help."""
        message = failure.message
        if job_id and self.target == "remote":
            message += f" (job {self.job_url(job_id)})"
        if failure.kind == "sql":
            where = f"statement {failure.statement_index} ({failure.statement})" if failure.statement else "the script"
            return AirflowFailException(f"Flink rejected {where}: {message}")
        if any(fnmatch.fnmatchcase(failure.exception_class, pattern) for pattern in self.final_failures):
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

    def interrupt(self) -> None:
        """Stop the child (the local job, or a submission) and end a wait for a remote job, leaving the job to
        run on: the caller decides whether to cancel it (``cancel_job``)."""
        self.interrupted = True
        self.kill()

    # -- the cluster's REST API ----------------------------------------------------------------

    def rest_call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.rest_url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=REST_TIMEOUT_SECONDS) as response:
            body = response.read()
        return json.loads(body) if body else None

    def check_cluster(self) -> None:
        """Fail in seconds, not after Flink's client has retried for a minute, when the cluster is down."""
        try:
            self.rest_call("/overview")
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowException(
                f"Flink cluster at {self.rest_url} (connection {self.flink_conn_id!r}) is unreachable: "
                f"{getattr(exc, 'reason', exc)}"
            ) from None

    def test_connection(self) -> tuple[bool, str]:
        """The connection form's Test button: ask the cluster for its overview."""
        try:
            overview = self.rest_call("/overview")
        except Exception as exc:  # noqa: BLE001 - any failure is the answer to show
            return False, f"Flink cluster at {self.rest_url} is unreachable: {getattr(exc, 'reason', exc)}"
        return True, f"Flink {overview.get('flink-version', '?')} at {self.rest_url}: {_capacity(overview)}"

    def job_state(self, job_id: str) -> str:
        """The job's state on the cluster (``RUNNING``, ``FINISHED``, ``FAILED``, ...), or ``NOT_FOUND``."""
        details = self.job_details(job_id)
        return str(details["state"]) if details else NOT_FOUND

    def job_details(self, job_id: str) -> dict[str, Any] | None:
        """The cluster's ``/jobs/<id>`` answer (state, task counts by state, vertices), or None if it has none."""
        try:
            details: dict[str, Any] = self.rest_call(f"/jobs/{job_id}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return details

    def wait_for_job(self, job_id: str, *, slot_wait_timeout: float | None = None) -> None:
        """Return once the job has finished; raise its root cause if it failed or was cancelled.

        A job none of whose tasks has had slots for ``slot_wait_timeout`` seconds (no TaskManager, or all
        slots taken) is cancelled, and the error says what the cluster had to offer.
        """
        poll = POLL_SECONDS[0]
        waiting_since = time.monotonic()
        while True:
            if self.interrupted:
                raise JobWaitInterrupted(f"Stopped waiting for Flink job {job_id}")
            details = self.job_details(job_id)
            state = str(details["state"]) if details else NOT_FOUND
            if state not in ACTIVE_STATES:
                break
            counts = (details or {}).get("status-counts") or {}
            if any(counts.get(task_state) for task_state in TASK_STATES_WITH_SLOTS):
                waiting_since = time.monotonic()
            elif slot_wait_timeout is not None and time.monotonic() - waiting_since > slot_wait_timeout:
                offered = self.slots_offered()
                self.cancel_job(job_id)
                raise AirflowException(
                    f"Flink job {job_id} was cancelled on the cluster at {self.rest_url}: no TaskManager offered "
                    f"it slots in {slot_wait_timeout:g} s ({offered}). Start TaskManagers or free slots, then "
                    "clear the task; the wait is the operator's slot_wait_timeout."
                )
            time.sleep(poll)
            poll = min(poll * 1.5, POLL_SECONDS[1])
        if state != "FINISHED":
            raise self.failure_exception(JobFailure("job", self.job_root_cause(job_id, state)), job_id)

    def slots_offered(self) -> str:
        """What the cluster has for a job, in words: its TaskManagers and free slots."""
        try:
            overview = self.rest_call("/overview")
        except (urllib.error.URLError, OSError) as exc:
            return f"the cluster did not say: {getattr(exc, 'reason', exc)}"
        return f"the cluster has {_capacity(overview)}"

    def job_root_cause(self, job_id: str, state: str) -> str:
        """Why the job ended ``state``: the root cause of its latest failure, as the cluster reports it."""
        if state == NOT_FOUND:
            return f"job {job_id} is not known to the cluster (it never started, or the cluster restarted)"
        history = self.rest_call(f"/jobs/{job_id}/exceptions").get("exceptionHistory") or {}
        entries = history.get("entries") or []
        return root_cause_of_trace(entries[0]["stacktrace"]) if entries else f"the job ended {state}"

    def cancel_job(self, job_id: str) -> None:
        self.log.warning("Cancelling Flink job %s", job_id)
        try:
            self.rest_call(f"/jobs/{job_id}?mode=cancel", method="PATCH")
        except (urllib.error.URLError, OSError) as exc:
            self.log.warning("Could not cancel Flink job %s: %s", job_id, exc)

    def job_facts(self, job_id: str) -> dict[str, Any]:
        """A finished job's runtime and the records in and out of each vertex, as the cluster reports them."""
        details = self.rest_call(f"/jobs/{job_id}")
        vertices = [
            {
                "name": vertex["name"],
                "read_records": vertex["metrics"]["read-records"],
                "write_records": vertex["metrics"]["write-records"],
                "duration_ms": vertex["duration"],
            }
            for vertex in details["vertices"]
        ]
        return {
            "net_runtime_ms": details["duration"],
            "job_url": self.job_url(job_id),
            "records_read": sum(v["read_records"] for v in vertices if v["name"].startswith("Source:")),
            "vertices": vertices,
        }


def _capacity(overview: dict[str, Any]) -> str:
    """A cluster's ``/overview`` as its capacity, in words."""
    return (
        f"{overview.get('taskmanagers', 0)} TaskManager(s), "
        f"{overview.get('slots-available', 0)} of {overview.get('slots-total', 0)} slots free"
    )


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
