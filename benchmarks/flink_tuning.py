"""Flink job before and after tuning: each start-up and runtime change added one at a time.

    .venv/bin/python -m benchmarks.flink_tuning                  # 1e3 and 1e7 rows
    .venv/bin/python -m benchmarks.flink_tuning --rows 1e6 --repeats 1

Same input, checks and figures as ``benchmarks.engines``; every variant runs the product's
SQL, unchanged, through the operator's entry point. The variants, each
including the ones above it:

- ``untuned``: PyFlink's defaults, as the job ran before (Beam loopback server, records
  copied between operators, JVM heap sized by the JVM, no class-data archive);
- ``+no-beam``: no Beam import and loopback server (SQL has no Python UDFs);
- ``+reuse``: ``pipeline.object-reuse``;
- ``+heap-1g``: ``-Xmx1g`` for the JVM that hosts the MiniCluster;
- ``+cds``: the class-data-sharing archive;
- ``+late-c2``: C2 compiles only code ten times hotter than the JDK's thresholds;
- ``+parallel-gc``: the parallel garbage collector instead of G1: the product's defaults.
"""

from __future__ import annotations

import sys
import tempfile

from airflow_flink_sql.hooks.flink_sql import LATE_C2

from benchmarks.engines import OutputMismatch, flink_engine, main

NO_REUSE = {"pipeline.object-reuse": "false"}
HEAP = ("-Xmx1g",)


def variants(class_data_dir: str) -> list:
    loopback = {"_python_worker_execution_mode": "loopback"}
    return [
        flink_engine("untuned", loopback, flink_options=NO_REUSE, jvm_options=(), class_data_dir=None),
        flink_engine("+no-beam", flink_options=NO_REUSE, jvm_options=(), class_data_dir=None),
        flink_engine("+reuse", jvm_options=(), class_data_dir=None),
        flink_engine("+heap-1g", jvm_options=HEAP, class_data_dir=None),
        flink_engine("+cds", jvm_options=HEAP, class_data_dir=class_data_dir),
        flink_engine("+late-c2", jvm_options=(*HEAP, *LATE_C2), class_data_dir=class_data_dir),
        flink_engine("+parallel-gc", class_data_dir=class_data_dir),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="flink-cds-") as archive_dir:
        try:
            sys.exit(main(engines=variants(archive_dir), stem="flink_tuning", sizes="1e3,1e7", description=__doc__))
        except OutputMismatch as mismatch:
            print(f"benchmark stopped: {mismatch}", file=sys.stderr)
            sys.exit(1)
