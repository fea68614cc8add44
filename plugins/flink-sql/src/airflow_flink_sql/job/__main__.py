"""Child-process entry point: run one Flink SQL script in batch mode with PyFlink.

    python -m airflow_flink_sql.job --sql-file script.sql --configuration '{"parallelism.default": "2"}' \
        [--jvm-options "-Xmx1g"] [--class-data-dir ~/.cache/airflow-flink-sql]

DDL and other statements run in order; every INSERT joins one statement set, so
several INSERTs are one Flink job. Stdout carries machine-readable lines: ``JOB_MARKER
<job id>`` once the job is submitted, then ``RESULT_MARKER {json}`` on success or
``ERROR_MARKER {json}`` with Flink's root cause on failure. The full Java trace goes to
stderr (the task log) only.

Start-up is most of a small job's time, so the JVM that PyFlink launches (the gateway, which
also hosts the local MiniCluster) can use a class-data-sharing archive: the first run with
``--class-data-dir`` writes one when its JVM exits, later runs map it instead of loading and
verifying the planner's classes again.

This module imports no Airflow, so it runs in any interpreter that has PyFlink.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import threading
import time
import traceback

from airflow_flink_sql.sql_script import describe, is_insert, split_statements

RESULT_MARKER = "::airflow-flink-sql-result::"
ERROR_MARKER = "::airflow-flink-sql-error::"
JOB_MARKER = "::airflow-flink-sql-job::"
STALE_ARCHIVE_DAYS = 30
JOB_POLL_SECONDS = 0.1
# JVM options whose output is written when the JVM exits normally.
WRITTEN_AT_EXIT = ("-XX:ArchiveClassesAtExit", "-XX:StartFlightRecording")

log = logging.getLogger("airflow_flink_sql.job")


class StatementFailed(Exception):
    """``kind`` is ``sql`` (Flink rejected a statement) or ``job`` (the job could not run or failed)."""

    def __init__(
        self,
        kind: str,
        message: str,
        statement: str | None = None,
        index: int | None = None,
        job_id: str | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.statement = statement
        self.index = index
        self.job_id = job_id

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "message": str(self),
            "statement_index": self.index,
            "statement": describe(self.statement) if self.statement else None,
            "job_id": self.job_id,
        }


def statement_error(exc: BaseException) -> str:
    """Flink's own message for a rejected statement: the outermost one names the problem and where."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("An error occurred")]
    return lines[0].lstrip(": ") if lines else type(exc).__name__


def root_cause(exc: BaseException) -> str:
    """The innermost Java cause's message: the line a person needs, not the 300-line trace."""
    java = getattr(exc, "java_exception", None)  # py4j's Py4JJavaError
    if java is not None:
        while java.getCause() is not None and not java.getCause().equals(java):
            java = java.getCause()
        return str(java.toString())
    text = str(exc)  # pyflink's JavaException carries the trace as text
    causes = re.findall(r"^Caused by: (.+)$", text, re.M)
    first_line = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
    return causes[-1] if causes else first_line


def run_script(table_env, script: str, remote: bool = False) -> dict:
    """Run every statement of ``script``; return the job's facts."""
    statements = split_statements(script)
    if not statements:
        raise StatementFailed("sql", "The SQL script has no statements.")
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
            raise StatementFailed("sql", statement_error(exc), statement, index) from exc
    if not inserts:
        return {"job_id": None, "net_runtime_ms": None, "statements": len(statements), "inserts": 0}
    job_id = None
    try:
        job_client = statement_set.execute().get_job_client()
        job_id = str(job_client.get_job_id())
        # The operator reads this line to link to the job while it runs.
        print(JOB_MARKER, job_id, flush=True)
        log.info("Submitted Flink job %s with %d INSERT statement(s)", job_id, inserts)
        if remote:
            wait_until_done(job_client)
        result = job_client.get_job_execution_result().result()
    except Exception as exc:
        log.error("Flink job failed:\n%s", traceback.format_exc())
        raise StatementFailed("job", root_cause(exc), job_id=job_id) from exc
    return {
        "job_id": job_id,
        "net_runtime_ms": result.get_net_runtime(),
        "statements": len(statements),
        "inserts": inserts,
    }


def wait_until_done(job_client, poll_seconds: float = JOB_POLL_SECONDS) -> None:
    """Return once a remote job has ended. Flink's REST client polls for a remote job's result with a
    back-off that reaches 2 s, so it learns of the end up to 2 s late; asking for the status every
    0.1 s does not (1.4 s less per 1e7-row job, measured). A local MiniCluster shuts down with its
    job, so its status cannot be asked for after the end, and its result comes without delay."""
    while not job_client.get_job_status().result().is_globally_terminal_state():
        time.sleep(poll_seconds)


class ClassDataArchive:
    """A JDK class-data-sharing archive of the classes this PyFlink and Java load: used if present, else written.

    An archive only fits the Java binary and the class path (the PyFlink installation's jars)
    it was written with; the JVM silently ignores any other. So the file name carries both:
    another venv or an upgrade writes an archive of its own, and one nobody used for
    ``STALE_ARCHIVE_DAYS`` is removed.
    """

    def __init__(self, folder: str):
        import pyflink
        import pyflink.version
        from pyflink.pyflink_gateway_server import find_java_executable

        java = find_java_executable()  # "java" unless JAVA_HOME or env.java.home says where
        java = os.path.realpath(shutil.which(java) or java)
        installation = os.path.dirname(os.path.realpath(pyflink.__file__))
        key = hashlib.sha256(f"{java}:{_mtime(java)}:{installation}".encode()).hexdigest()[:12]
        self.path = os.path.join(folder, f"pyflink-{pyflink.version.__version__}-{key}.jsa")
        self.creating = not os.path.exists(self.path)
        self._partial = f"{self.path}.{os.getpid()}.partial"
        self.usable = True
        if self.creating:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:  # e.g. a read-only home: start without the archive
                log.warning("No class-data archive in %s: %s", folder, exc)
                self.usable = False

    def jvm_options(self) -> list[str]:
        if not self.usable:
            return []
        if self.creating:
            # Writing lists thousands of classes it skips, one warning each, on stdout.
            return [f"-XX:ArchiveClassesAtExit={self._partial}", "-Xlog:cds*=off"]
        with contextlib.suppress(OSError):
            os.utime(self.path)  # in use: not stale
        return [f"-XX:SharedArchiveFile={self.path}", "-Xshare:auto"]

    def publish(self) -> None:
        """Once the JVM has exited normally (``stop_jvm``), its archive is complete: give it its name."""
        if self.usable and self.creating and os.path.exists(self._partial):
            os.replace(self._partial, self.path)
            log.info("Wrote class-data archive %s for faster JVM start-up", self.path)
            _remove_leftovers(os.path.dirname(self.path))


def stop_jvm() -> None:
    """End PyFlink's JVM normally and wait for it, so what it writes at exit (class-data archive,
    flight recording) is complete; a killed JVM writes nothing."""
    from pyflink import java_gateway

    if java_gateway._gateway is None:  # never started
        return
    started = time.monotonic()
    try:
        java_gateway._gateway.jvm.java.lang.System.exit(0)
    except Exception:  # noqa: BLE001 - the connection drops as the JVM exits, by design
        pass
    try:
        while True:
            os.waitpid(-1, 0)  # the gateway JVM is this process's only child
    except ChildProcessError:
        pass
    log.info("JVM stopped in %.2f s", time.monotonic() - started)


def _remove_leftovers(folder: str) -> None:
    """Remove what no run will use again: archives of an upgraded-away PyFlink or Java (unused for
    ``STALE_ARCHIVE_DAYS``) and partial archives of runs killed while their JVM wrote them."""
    stale_before = time.time() - STALE_ARCHIVE_DAYS * 86400
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        partial = re.fullmatch(r".+\.jsa\.(\d+)\.partial", name)
        if (partial and not _alive(int(partial.group(1)))) or (name.endswith(".jsa") and _mtime(path) < stale_before):
            with contextlib.suppress(OSError):
                os.remove(path)


def quote_java_option(option: str) -> str:
    """Quoted for JDK_JAVA_OPTIONS, which knows both quote characters but no escapes."""
    for quote in "\"'":
        if quote not in option:
            return f"{quote}{option}{quote}"
    raise ValueError(f"JVM option {option!r} has both kinds of quote; it cannot be passed to the JVM")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def create_table_env(configuration: dict[str, str]):
    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings, TableEnvironment

    config = Configuration()
    for key, value in configuration.items():
        config.set_string(key, str(value))
    settings = EnvironmentSettings.new_instance().in_batch_mode().with_configuration(config).build()
    return TableEnvironment.create(settings)


def exit_with_parent() -> None:
    """End this process group if the Airflow worker that started it dies without killing it."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        log.error("Parent process %d is gone; stopping the Flink job", parent)
        os.killpg(os.getpgrp(), 9)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sql-file", required=True, help="Flink SQL script, statements separated by ';'")
    parser.add_argument("--configuration", default="{}", help="Flink configuration as a JSON object")
    parser.add_argument("--jvm-options", default="", help="options of the JVM that PyFlink starts")
    parser.add_argument("--class-data-dir", help="folder of the JVM's class-data-sharing archive")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    exit_with_parent()

    started = time.monotonic()
    archive = ClassDataArchive(args.class_data_dir) if args.class_data_dir else None
    jvm_options = shlex.split(args.jvm_options) + (archive.jvm_options() if archive else [])
    # The java launcher reads JDK_JAVA_OPTIONS with quoting, so a path with a space
    # survives (PyFlink's own JVM_ARGS is split at every space).
    os.environ["JDK_JAVA_OPTIONS"] = " ".join(
        filter(None, [os.environ.get("JDK_JAVA_OPTIONS"), *(quote_java_option(option) for option in jvm_options)])
    )
    # In local mode PyFlink otherwise imports Apache Beam and starts a loopback server for Python
    # UDF workers (about a second); SQL has no Python UDFs, and any would still run in a process.
    os.environ.setdefault("_python_worker_execution_mode", "process")
    try:
        with open(args.sql_file, encoding="utf-8") as handle:
            script = handle.read()
        configuration = json.loads(args.configuration)
        remote = configuration.get("execution.target") == "remote"
        facts = run_script(create_table_env(configuration), script, remote)
    except StatementFailed as failure:
        print(ERROR_MARKER, json.dumps(failure.to_json()), flush=True)
        return 1
    except Exception as exc:
        log.error("Flink SQL job could not run:\n%s", traceback.format_exc())
        print(ERROR_MARKER, json.dumps({"kind": "job", "message": root_cause(exc)}), flush=True)
        return 1
    finally:
        # A normal JVM exit takes about 0.4 s; it is only needed for what the JVM writes when it exits.
        # Otherwise the JVM ends with this process (the operator stops the whole process group).
        if any(option.startswith(WRITTEN_AT_EXIT) for option in jvm_options):
            stop_jvm()
        if archive:
            archive.publish()
    facts["duration_s"] = round(time.monotonic() - started, 3)
    if archive and archive.usable:
        facts["class_data_archive"] = "written" if archive.creating else "used"
    print(RESULT_MARKER, json.dumps(facts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
