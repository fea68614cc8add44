"""Operator that runs a templated Flink SQL script as one PyFlink batch job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import XCom
from airflow.sdk import BaseOperator, BaseOperatorLink, ResumableJobMixin
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowTaskTimeout

from airflow_flink_sql.hooks.flink_sql import (
    DEFAULT_CLASS_DATA_DIR,
    DEFAULT_FINAL_FAILURES,
    DEFAULT_JVM_OPTIONS,
    PyFlinkSqlHook,
)
from airflow_flink_sql.hooks.rest_client import ACTIVE_STATES, DEFAULT_SLOT_WAIT_SECONDS
from airflow_flink_sql.sql_script import sql_string_literal

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey
    from pydantic import JsonValue


class FlinkJobLink(BaseOperatorLink):
    """Opens the task's job in the remote Flink cluster's web UI."""

    name = "Flink job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""


@dataclass(frozen=True)
class SqlScript:
    """The script as given, rendered by Airflow when it renders the task's templated fields.

    Airflow calls a templated field's callable value with the context and the DAG's Jinja
    environment (its public way to render a field in Python). The script is rendered last of the
    operator's fields, so it sees the rendered ``sql_params``, and with the ``sql_string`` filter
    added to that environment: the same for mapped tasks, which Airflow renders through the
    unmapped task.
    """

    text: str

    def __call__(self, *, context: Context, jinja_env: jinja2.Environment) -> str:
        env = jinja_env.overlay()
        env.filters = {**jinja_env.filters, "sql_string": sql_string_literal}
        template = env.get_template(self.text) if self.text.endswith(".sql") else env.from_string(self.text)
        task = context["task"]  # the task being rendered (the unmapped one, for a mapped task)
        return str(template.render({**context, "sql_params": getattr(task, "sql_params", {})}))

    def serialize(self) -> str:
        """What the DAG's serialization and the UI show before the task runs."""
        return self.text


class PyFlinkSqlOperator(ResumableJobMixin, BaseOperator):
    """
    Run a Flink SQL script (DDL, then INSERTs) as one batch job, in a child process.

    The script is a Jinja template like any templated field; in addition it sees
    ``sql_params`` (rendered first) and the ``sql_string`` filter, which quotes a
    value as a SQL string literal::

        'path' = {{ sql_params.input_path | sql_string }}

    On the remote target the job outlives the task's worker: a retry after the worker died, or
    after it was stopped gracefully (SIGTERM: a deploy), reconnects to the job instead of
    submitting it again (``ResumableJobMixin``; the job's id is fixed and kept before it is
    submitted). A SIGTERM on the task's last try, a person who marks the task failed or clears it
    while it runs, and the task's ``execution_timeout``, cancel the job. A job kept from before
    the task was cleared is never taken up (cancelled if it still runs): the cleared task runs a
    new one. A job that gets no slots for ``slot_wait_timeout`` is cancelled, and the task fails
    saying what the cluster had to offer.

    :param sql: the script, or a path ending in ``.sql`` found on the template search path.
    :param sql_params: values for the script, templated.
    :param target: ``local`` (embedded MiniCluster) or ``remote`` (session cluster of ``flink_conn_id``), templated.
    :param flink_conn_id: connection of the remote Flink cluster, templated.
    :param flink_options: extra Flink configuration, templated.
    :param parallelism: default parallelism of the job, templated.
    :param slot_wait_timeout: seconds a remote job may go without slots for any of its tasks before it is
        cancelled (no TaskManager, every slot taken); ``None`` or empty: no limit (0 is refused: the job would be
        cancelled before any cluster could offer slots). Templated.
    :param slot_wait_setting: what sets ``slot_wait_timeout`` for whoever runs the DAG (a DAG param, an
        environment variable), which the error of a job cancelled at the limit tells them to raise; default:
        ``slot_wait_timeout`` itself.
    :param python: interpreter with PyFlink and this package installed (default: the worker's own).
    :param jvm_options: options of the JVM that PyFlink starts, which hosts the local MiniCluster.
    :param class_data_dir: where the JVM's class-data-sharing archive is kept (written by the first
        run, it saves over a second of start-up on later ones); ``None`` turns it off.
    :param final_failures: Java exception classes (fnmatch patterns) of a failed job's root cause
        that no retry can fix (the data or the script): the task fails without retrying.
    :return: (XCom) the job's facts: ``job_id``, ``target``, ``duration_s``, ``net_runtime_ms``,
        ``statements``, ``inserts``, and on the remote target ``job_url``, ``records_read`` and
        per-vertex ``vertices``.
    """

    # sql is rendered last: it reads the rendered sql_params.
    template_fields: Sequence[str] = (
        "sql_params",
        "flink_options",
        "parallelism",
        "slot_wait_timeout",
        "target",
        "flink_conn_id",
        "sql",
    )
    template_fields_renderers = {"sql": "sql", "sql_params": "json", "flink_options": "json"}
    ui_color = "#e6522c"
    operator_extra_links = (FlinkJobLink(),)
    # ResumableJobMixin keeps the submitted job here, in the task's state store, across retries.
    external_id_key = "flink_job"

    def __init__(
        self,
        *,
        sql: str | SqlScript,
        sql_params: dict[str, Any] | None = None,
        target: str = "local",
        flink_conn_id: str = PyFlinkSqlHook.default_conn_name,
        flink_options: dict[str, Any] | None = None,
        parallelism: int | str | None = None,
        slot_wait_timeout: float | str | None = DEFAULT_SLOT_WAIT_SECONDS,
        slot_wait_setting: str = "the task's slot_wait_timeout",
        python: str | None = None,
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
        class_data_dir: str | None = DEFAULT_CLASS_DATA_DIR,
        final_failures: Sequence[str] = DEFAULT_FINAL_FAILURES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql: str | SqlScript = sql if isinstance(sql, SqlScript) else SqlScript(sql)
        self.sql_params = sql_params or {}
        self.target = target
        self.flink_conn_id = flink_conn_id
        self.flink_options = flink_options or {}
        self.parallelism = parallelism
        self.slot_wait_timeout = slot_wait_timeout
        self.slot_wait_setting = slot_wait_setting
        self.python = python
        self.jvm_options = jvm_options
        self.class_data_dir = class_data_dir
        self.final_failures = final_failures
        self._job_id: str | None = None

    @cached_property
    def hook(self) -> PyFlinkSqlHook:
        return PyFlinkSqlHook(
            target=self.target,
            flink_conn_id=self.flink_conn_id,
            flink_options=self.flink_options,
            parallelism=int(self.parallelism) if self.parallelism else None,
            python=self.python,
            jvm_options=self.jvm_options,
            class_data_dir=self.class_data_dir,
            final_failures=self.final_failures,
        )

    @property
    def script(self) -> str:
        """The rendered script (``sql`` once Airflow has rendered the task)."""
        return self.sql if isinstance(self.sql, str) else self.sql.text

    def execute(self, context: Context) -> dict[str, Any]:
        started = time.monotonic()
        if self.hook.target == "remote":
            self._slot_wait_limit()  # refused before any job is submitted
            self._forget_stale_job(context)
            facts = self._execute_remote(context)
            if facts is None:  # reconnected: ResumableJobMixin returns what poll_until_complete returns
                facts = self.get_job_result(context["task_state_store"].get(self.external_id_key), context)
            if (store := context.get("task_state_store")) is not None:
                # Done with this job: a later run of this task (a person clearing it) submits a new one.
                store.delete(self.external_id_key)
        else:
            report = self.hook.run_local(self.script)
            facts = {**_report_facts(report), "job_url": None, "records_read": None, "vertices": None}
        return {**facts, "target": self.hook.target, "duration_s": round(time.monotonic() - started, 3)}

    def _execute_remote(self, context: Context) -> Any:
        """``execute_resumable``, and what becomes of the job when the task is stopped while it runs."""
        try:
            return self.execute_resumable(context)
        except AirflowTaskTimeout:
            if self._job_id:
                self.hook.cluster.cancel_job(self._job_id)
            raise
        except Exception:
            if self.hook.interrupted and self._job_id:
                self._stopped(context, self._job_id)
            raise

    def _stopped(self, context: Context, job_id: str) -> NoReturn:
        """The task was sent SIGTERM while its job ran (``on_kill``). Airflow sends it for a worker that stops
        gracefully (a deploy) and for a person who marked the task failed or cleared it; only the task's state,
        still ``running`` in the first case, tells them apart."""
        ti = context["ti"]
        try:
            states = ti.get_task_states(
                dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
            )
            [state] = states.get(ti.run_id, {}).values() or ["running"]
        except Exception as exc:  # noqa: BLE001 - unknown: leave the job to the next try, which reconnects or ends it
            self.log.warning("Could not read the task's state (%s): the job is left running", exc)
            state = "running"
        # Airflow retries a try whose number is within max_tries (the server's own test); only then is there a
        # next try to reconnect to the job: on the last one the job would run on with nobody waiting for it.
        retried = ti.try_number <= ti.max_tries
        if state == "running" and retried:
            raise AirflowException(
                f"The worker is stopping (SIGTERM) while Flink job {job_id} runs: the job runs on at "
                f"{self.hook.cluster.job_url(job_id)}, and the task's next try reconnects to it."
            )
        self.hook.cluster.cancel_job(job_id)
        if state == "running":
            raise AirflowException(
                f"The worker is stopping (SIGTERM) on the task's last try (try {ti.try_number}): Flink job {job_id} "
                "was cancelled, as no retry would reconnect to it."
            )
        raise AirflowException(f"The task was stopped (it is {state} now): Flink job {job_id} was cancelled.")

    def _forget_stale_job(self, context: Context) -> None:
        """Forget a job kept in the task's state that this try must not take up, cancelling it if it still runs.

        The state store is the run's, kept across every try of the task, clears included. Only Airflow's own
        retries may take up a kept job: the try that submitted it was stopped or died, and the job is the one
        that try ran. A person who clears the task asks for a new job (the input or the cluster may have been
        fixed since), so an older job's result, finished or not, must not stand in for it, and one still
        running must not go on writing the sinks beside the new one. Clearing raises the task's ``max_tries``
        (to its try number plus its retries), which retries never change: the job is kept with the
        ``max_tries`` of the try that submitted it, and a different one means the task was cleared since.
        """
        store = context.get("task_state_store")
        kept = store.get(self.external_id_key) if store is not None else None
        if store is None or kept is None:
            return
        ti = context["ti"]
        job = kept if isinstance(kept, dict) else {}
        job_id = job.get("job_id")
        if isinstance(job_id, str) and job.get("max_tries") == ti.max_tries:
            return
        self.log.warning(
            "Not taking up Flink job %s of try %s: the task was cleared since (or the job is not one of this "
            "operator's); a new job is submitted",
            job_id,
            job.get("try_number"),
        )
        if isinstance(job_id, str) and self.hook.cluster.job_state(job_id) in ACTIVE_STATES:
            self.hook.cluster.cancel_job(job_id)
        store.delete(self.external_id_key)

    # -- ResumableJobMixin: the remote target ----------------------------------------------------

    def submit_job(self, context: Context) -> JsonValue:
        job_id = self._job_id = uuid.uuid4().hex
        ti = context["ti"]
        # Kept before the job exists: a worker that dies while it is being submitted still leaves its id. With the
        # try's max_tries, which tells a retry of this try from a try after a clear (_forget_stale_job).
        kept: dict[str, JsonValue] = {"job_id": job_id, "try_number": ti.try_number, "max_tries": ti.max_tries}
        if (store := context.get("task_state_store")) is not None:
            store.set(self.external_id_key, kept)
        self._link(context, job_id)
        mapped = ti.map_index is not None and ti.map_index >= 0
        name = f"{ti.dag_id}.{ti.task_id} {ti.run_id}" + (f" [{ti.map_index}]" if mapped else "")
        report = self.hook.submit(self.script, job_id=job_id, job_name=name)
        return {**kept, **_report_facts(report)}

    def get_job_status(self, external_id: JsonValue, context: Context) -> str:
        return self.hook.cluster.job_state(_job_id(external_id))

    def is_job_active(self, status: str) -> bool:
        return status in ACTIVE_STATES

    def is_job_succeeded(self, status: str) -> bool:
        return status == "FINISHED"

    def poll_until_complete(self, external_id: JsonValue, context: Context) -> None:
        job_id = _job_id(external_id)
        self._job_id = job_id  # what a stopped or timed-out task cancels, or leaves to its retry
        self._link(context, job_id)
        self.hook.wait_for_job(
            job_id, slot_wait_timeout=self._slot_wait_limit(), slot_wait_setting=self.slot_wait_setting
        )

    def _slot_wait_limit(self) -> float | None:
        """``slot_wait_timeout`` as seconds (it may come rendered from a template, as text)."""
        limit = self.slot_wait_timeout
        if limit is None or limit == "":
            return None
        seconds = float(limit)
        if not seconds > 0:
            raise AirflowFailException(
                f"slot_wait_timeout={limit!r} would cancel the Flink job before any cluster could offer it slots: "
                f"set {self.slot_wait_setting} to a number of seconds above 0 (or the argument to None: no limit)."
            )
        return seconds

    def get_job_result(self, external_id: JsonValue, context: Context) -> dict[str, Any]:
        job_id = _job_id(external_id)
        # Which try kept the job is for the state store (_forget_stale_job), not the task's result.
        kept = external_id if isinstance(external_id, dict) else {}
        job = {k: v for k, v in kept.items() if k not in ("try_number", "max_tries")}
        return {**job, "job_id": job_id, **self.hook.cluster.job_facts(job_id)}

    def _link(self, context: Context, job_id: str) -> None:
        context["ti"].xcom_push(key=FlinkJobLink().xcom_key, value=self.hook.cluster.job_url(job_id))

    def on_kill(self) -> None:
        """Stop the child (and its JVM: the local job dies with it) and the wait for a remote job. Called in a
        signal handler: whether the remote job is cancelled is decided in ``execute`` (see ``_stopped``)."""
        self.hook.interrupt()

    # -- lineage ---------------------------------------------------------------------------------

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The script's filesystem tables as OpenLineage datasets: sources read by its INSERTs as inputs,
        their target tables as outputs (``file`` namespace, absolute paths)."""
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_flink_sql.lineage import filesystem_lineage

        inputs, outputs = filesystem_lineage(self.script)
        return OperatorLineage(
            inputs=[Dataset(namespace="file", name=path) for path in inputs],
            outputs=[Dataset(namespace="file", name=path) for path in outputs],
        )


def _report_facts(report: Any) -> dict[str, Any]:
    return {
        "job_id": report.job_id,
        "net_runtime_ms": report.net_runtime_ms,
        "statements": report.statements,
        "inserts": report.inserts,
        "class_data_archive": report.class_data_archive,
    }


def _job_id(external_id: JsonValue) -> str:
    job_id = external_id.get("job_id") if isinstance(external_id, dict) else None
    if not isinstance(job_id, str):
        raise ValueError(f"not a stored Flink job: {external_id!r}")
    return job_id
