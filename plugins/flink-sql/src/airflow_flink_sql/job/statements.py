"""Run a Flink SQL script's statements: DDL and other statements in order, every INSERT in one job."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from airflow_flink_sql.job.errors import root_cause, statement_error
from airflow_flink_sql.protocol import JobFailure, JobReport
from airflow_flink_sql.sql_script import describe, is_insert, split_statements

log = logging.getLogger("airflow_flink_sql.job")


class JobFailed(Exception):
    def __init__(self, failure: JobFailure, report: JobReport):
        super().__init__(failure.message)
        self.failure = failure
        self.report = report  # what ran before the failure (statements, the job id if submitted)


def run_script(table_env: Any, script: str, *, detach: bool = False) -> JobReport:
    """Run every statement of ``script``; the INSERTs together as one job (a statement set).

    ``detach``: return once the job is submitted (it runs on in a session cluster); otherwise wait
    for its end. Raises :class:`JobFailed` naming the statement Flink rejected, or the job's root cause.
    """
    statements = split_statements(script)
    if not statements:
        raise JobFailed(JobFailure("sql", "The SQL script has no statements."), JobReport())
    statement_set = table_env.create_statement_set()
    inserts = 0
    for index, statement in enumerate(statements, start=1):
        log.info("Statement %d/%d: %s", index, len(statements), describe(statement))
        try:
            if is_insert(statement):
                statement_set.add_insert_sql(statement)
                inserts += 1
            else:
                table_env.execute_sql(statement).wait()
        except Exception as exc:
            log.error("Statement %d failed:\n%s", index, traceback.format_exc())
            failure = JobFailure("sql", statement_error(exc), index, describe(statement))
            raise JobFailed(failure, JobReport(statements=len(statements))) from exc
    if not inserts:
        return JobReport(statements=len(statements), finished=True)
    job_id = None
    try:
        job_client = statement_set.execute().get_job_client()
        job_id = str(job_client.get_job_id())
        log.info("Submitted Flink job %s with %d INSERT statement(s)", job_id, inserts)
        if detach:
            return JobReport(statements=len(statements), inserts=inserts, job_id=job_id)
        result = job_client.get_job_execution_result().result()
    except Exception as exc:
        log.error("Flink job failed:\n%s", traceback.format_exc())
        report = JobReport(statements=len(statements), inserts=inserts, job_id=job_id)
        raise JobFailed(JobFailure("job", root_cause(exc)), report) from exc
    return JobReport(
        statements=len(statements),
        inserts=inserts,
        job_id=job_id,
        finished=True,
        net_runtime_ms=result.get_net_runtime(),
    )
