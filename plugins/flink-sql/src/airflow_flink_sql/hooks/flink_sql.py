"""Hook that runs Flink SQL through PyFlink in a child process (:mod:`.job_process`), on a local MiniCluster or a
Flink session cluster, and follows the cluster's jobs through its REST API (:mod:`.rest_client`)."""

from __future__ import annotations

import fnmatch
import os
import sys
import urllib.error
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_flink_sql.hooks.job_process import JobProcess
from airflow_flink_sql.hooks.rest_client import FlinkRestClient, capacity
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
# On the remote target the JVM only plans the job and submits it: its code runs once, and C2 never pays for
# itself. C1 alone took a 2,000-row night's submission from 7.6 to 6.1 s and the machine's CPU seconds meanwhile
# from 11.9 to 8.5 (benchmarks/results/remote_client.md). Before the caller's options, so theirs win.
PLANNING_ONLY_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
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
# Fixes the id of the job a script submits: the id is known, and kept, before the job exists.
FIXED_JOB_ID_OPTION = "$internal.pipeline.job-id"


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
    :param jvm_options: options of the JVM that PyFlink starts (the local MiniCluster's JVM; on the remote
        target, after ``PLANNING_ONLY_JVM_OPTIONS``).
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
        for option in jvm_options:
            try:
                quote_java_option(option)
            except ValueError as exc:
                raise AirflowFailException(str(exc)) from exc
        if target == "remote":
            jvm_options = (*PLANNING_ONLY_JVM_OPTIONS, *jvm_options)
        self.job_process = JobProcess(
            python=python or sys.executable, jvm_options=jvm_options, class_data_dir=class_data_dir
        )
        self.final_failures = tuple(final_failures)
        self.interrupted = False

    # -- configuration -------------------------------------------------------------------------

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.flink_conn_id)

    @cached_property
    def cluster(self) -> FlinkRestClient:
        """The REST API of the connection's session cluster."""
        conn = self.connection
        if not conn.host:
            raise AirflowFailException(f"Connection {self.flink_conn_id!r} has no host for the Flink REST endpoint.")
        return FlinkRestClient(f"{conn.schema or 'http'}://{conn.host}:{conn.port or 8081}")

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

    # -- the job ---------------------------------------------------------------------------------

    def run_local(self, sql: str) -> JobReport:
        """Run the script on a MiniCluster in the child, to its end."""
        return self._checked(self.job_process.run(sql, self.flink_configuration(), detach=False))

    def submit(self, sql: str, *, job_id: str, job_name: str) -> JobReport:
        """Submit the script to the session cluster as job ``job_id``; return once it is submitted."""
        self.check_cluster()
        configuration = self.flink_configuration(**{FIXED_JOB_ID_OPTION: job_id, "pipeline.name": job_name})
        return self._checked(self.job_process.run(sql, configuration, detach=True))

    def _checked(self, report: JobReport) -> JobReport:
        if report.failure:
            raise self.failure_exception(report.failure, report.job_id)
        return report

    def wait_for_job(
        self, job_id: str, *, slot_wait_timeout: float | None = None, slot_wait_setting: str = "slot_wait_timeout"
    ) -> None:
        """Return once the remote job has finished; raise its root cause if it failed or was cancelled (see
        :meth:`FlinkRestClient.wait_for_job`); stop waiting once the task is interrupted."""
        state = self.cluster.wait_for_job(
            job_id,
            slot_wait_timeout=slot_wait_timeout,
            slot_wait_setting=slot_wait_setting,
            interrupted=lambda: self.interrupted,
        )
        if state != "FINISHED":
            raise self.failure_exception(JobFailure("job", self.cluster.job_root_cause(job_id, state)), job_id)

    def failure_exception(self, failure: JobFailure, job_id: str | None = None) -> AirflowException:
        """The task's error for a failed job: final (no retry) if retrying cannot help."""
        message = failure.message
        if job_id and self.target == "remote":
            message += f" (job {self.cluster.job_url(job_id)})"
        if failure.kind == "sql":
            where = f"statement {failure.statement_index} ({failure.statement})" if failure.statement else "the script"
            return AirflowFailException(f"Flink rejected {where}: {message}")
        if any(fnmatch.fnmatchcase(failure.exception_class, pattern) for pattern in self.final_failures):
            return AirflowFailException(f"Flink job failed on its input: {message}")
        return AirflowException(f"Flink job failed: {message}")

    def interrupt(self) -> None:
        """Stop the child (the local job, or a submission) and end a wait for a remote job, leaving the job to
        run on: the caller decides whether to cancel it (``cluster.cancel_job``)."""
        self.interrupted = True
        self.job_process.kill()

    # -- the cluster -----------------------------------------------------------------------------

    def check_cluster(self) -> None:
        """Fail in seconds, not after Flink's client has retried for a minute, when the cluster is down."""
        try:
            self.cluster.overview()
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowException(
                f"Flink cluster at {self.cluster.rest_url} (connection {self.flink_conn_id!r}) is unreachable: "
                f"{getattr(exc, 'reason', exc)}"
            ) from None

    def test_connection(self) -> tuple[bool, str]:
        """The connection form's Test button: ask the cluster for its overview."""
        try:
            overview = self.cluster.overview()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer to show
            return False, f"Flink cluster at {self.cluster.rest_url} is unreachable: {getattr(exc, 'reason', exc)}"
        return True, f"Flink {overview.get('flink-version', '?')} at {self.cluster.rest_url}: {capacity(overview)}"
