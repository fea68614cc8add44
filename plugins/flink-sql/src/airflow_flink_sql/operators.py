"""Operator that runs a templated Flink SQL script as one PyFlink batch job."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_flink_sql.hooks import DEFAULT_CLASS_DATA_DIR, DEFAULT_JVM_OPTIONS, PyFlinkSqlHook
from airflow_flink_sql.sql_script import sql_string_literal

if TYPE_CHECKING:
    import jinja2
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import Context


class FlinkJobLink(BaseOperatorLink):
    """Opens the task's job in the remote Flink cluster's web UI."""

    name = "Flink job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=self.xcom_key, ti_key=ti_key) or ""


class PyFlinkSqlOperator(BaseOperator):
    """
    Run a Flink SQL script (DDL, then INSERTs) as one batch job, in a child process.

    The script is a Jinja template like any templated field; in addition it sees
    ``sql_params`` (rendered first) and the ``sql_string`` filter, which quotes a
    value as a SQL string literal::

        'path' = {{ sql_params.input_path | sql_string }}

    :param sql: the script, or a path ending in ``.sql`` found on the template search path.
    :param sql_params: values for the script, templated.
    :param target: ``local`` (embedded MiniCluster) or ``remote`` (session cluster of ``flink_conn_id``).
    :param flink_conn_id: connection of the remote Flink cluster.
    :param flink_options: extra Flink configuration, templated.
    :param parallelism: default parallelism of the job, templated.
    :param python: interpreter with PyFlink installed (default: the worker's own).
    :param jvm_options: options of the JVM that PyFlink starts, which hosts the local MiniCluster
        (default: a 1 GB heap).
    :param class_data_dir: where the JVM's class-data-sharing archive is kept (written by the first
        run, it saves over a second of start-up on later ones); ``None`` turns it off.
    :return: (XCom) the job's facts: ``job_id``, ``target``, ``duration_s``, ``net_runtime_ms``,
        and on the remote target ``job_url``, ``records_read`` and per-vertex ``vertices``.
    """

    template_fields: Sequence[str] = ("sql_params", "flink_options", "parallelism", "sql")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "sql_params": "json", "flink_options": "json"}
    ui_color = "#e6522c"
    operator_extra_links = (FlinkJobLink(),)

    def __init__(
        self,
        *,
        sql: str,
        sql_params: dict[str, Any] | None = None,
        target: str = "local",
        flink_conn_id: str = PyFlinkSqlHook.default_conn_name,
        flink_options: dict[str, Any] | None = None,
        parallelism: int | str | None = None,
        python: str | None = None,
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
        class_data_dir: str | None = DEFAULT_CLASS_DATA_DIR,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql = sql
        self.sql_params = sql_params or {}
        self.target = target
        self.flink_conn_id = flink_conn_id
        self.flink_options = flink_options or {}
        self.parallelism = parallelism
        self.python = python
        self.jvm_options = jvm_options
        self.class_data_dir = class_data_dir

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        jinja_env = jinja_env or self.get_template_env()
        jinja_env.filters["sql_string"] = sql_string_literal
        # Parameters first, so the script can place their rendered values.
        self._do_render_template_fields(self, ("sql_params", "flink_options", "parallelism"), context, jinja_env, set())
        script_context = {**context, "sql_params": self.sql_params}
        self._do_render_template_fields(self, ("sql",), script_context, jinja_env, set())

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
        )

    def execute(self, context: Context) -> dict[str, Any]:
        def link_job(job_id: str) -> None:
            if url := self.hook.job_url(job_id):
                context["ti"].xcom_push(key=FlinkJobLink().xcom_key, value=url)

        return self.hook.run_sql(self.sql, on_job_submitted=link_job)

    def on_kill(self) -> None:
        self.hook.kill()
