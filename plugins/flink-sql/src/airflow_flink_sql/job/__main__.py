"""Entry point of the Flink job's child process: ``python -m airflow_flink_sql.job``."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import traceback
from dataclasses import replace

from airflow_flink_sql.job.class_data import ClassDataArchive
from airflow_flink_sql.job.errors import root_cause
from airflow_flink_sql.job.jvm import configure_jvm, create_table_env, exit_with_parent, stop_jvm
from airflow_flink_sql.job.statements import JobFailed, run_script
from airflow_flink_sql.protocol import JobFailure, JobReport

log = logging.getLogger("airflow_flink_sql.job")

# JVM options whose output is written when the JVM exits normally.
WRITTEN_AT_EXIT = ("-XX:ArchiveClassesAtExit", "-XX:StartFlightRecording")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_flink_sql.job", description=__doc__)
    parser.add_argument("--sql-file", required=True, help="Flink SQL script, statements separated by ';'")
    parser.add_argument("--workdir", required=True, help="folder for result.json")
    parser.add_argument("--configuration", default="{}", help="Flink configuration as a JSON object")
    parser.add_argument("--detach", action="store_true", help="return once the job is submitted (remote)")
    parser.add_argument("--jvm-options", default="", help="options of the JVM that PyFlink starts")
    parser.add_argument("--class-data-dir", help="folder of the JVM's class-data-sharing archive")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    exit_with_parent()

    archive = ClassDataArchive(args.class_data_dir) if args.class_data_dir else None
    jvm_options = shlex.split(args.jvm_options) + (archive.jvm_options() if archive else [])
    configure_jvm(jvm_options)
    jvm_started = False
    try:
        with open(args.sql_file, encoding="utf-8") as handle:
            script = handle.read()
        table_env = create_table_env(json.loads(args.configuration))
        jvm_started = True
        report = run_script(table_env, script, detach=args.detach)
    except JobFailed as failed:
        report = replace(failed.report, failure=failed.failure)
    except Exception as exc:
        log.error("Flink SQL job could not run:\n%s", traceback.format_exc())
        report = JobReport(failure=JobFailure("job", root_cause(exc)))
    finally:
        # A normal JVM exit takes about 0.4 s; it is only needed for what the JVM writes when it exits.
        # Otherwise the JVM ends with this process (the hook stops the whole process group).
        if jvm_started and any(option.startswith(WRITTEN_AT_EXIT) for option in jvm_options):
            stop_jvm()
        if archive:
            archive.publish()
    archive_use = ("written" if archive.creating else "used") if archive and archive.usable else None
    report = replace(report, class_data_archive=archive_use)
    report.write(args.workdir)
    return 1 if report.failure else 0


if __name__ == "__main__":
    sys.exit(main())
