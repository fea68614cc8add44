"""Airflow's environment for a local run of the package, assembled here alone: the Makefile's targets run under it,
the tests (conftest.py) and the benchmarks (benchmarks/dag_run.py) build theirs with :func:`local_airflow_env`.

    python -m tools.local_env --home AIRFLOW_HOME -- COMMAND [ARG...]

runs COMMAND in that environment, with the data folder of ``SECTOR_REPORT_DATA_DIR`` (else the package's default).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What a developer may choose for a local run in their own environment: where the Flink jobs run, what a night
# reports. Unset, the jobs run on a local MiniCluster and the demo nights generate their data (a deployment lands
# the day's file: docs/deployment.md).
DEVELOPER_CHOICES = {"SECTOR_REPORT_FLINK_TARGET": "local", "SECTOR_REPORT_SOURCE": "generate"}


def local_airflow_env(root: Path, home: Path, data: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a local Airflow runs the project at ``root`` with: ``home`` as its AIRFLOW_HOME, ``data`` as the
    data folder. ``environ`` (the caller's environment) keeps its PYTHONPATH after the project's and its
    :data:`DEVELOPER_CHOICES`."""
    environ = environ or {}
    return {
        # The project root is on PYTHONPATH so the DAGs import include.<package>, the Astronomer way. The Airflow
        # extensions in plugins/ are installed distributions, found through their entry points.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), environ.get("PYTHONPATH")])),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        # plugins/ as Airflow's plugins folder, as Airflow's docker-compose and Astro projects have it: its
        # .airflowignore keeps the distributions' sources out.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # LocalExecutor starts core.parallelism workers; the default 32 is far too many for a laptop.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "SECTOR_REPORT_DATA_DIR": str(data),
        # The report viewer plugin serves the HTML reports under the data folder in the Airflow UI.
        "AIRFLOW__REPORT_VIEWER__ROOT": str(data),
        **{name: environ.get(name) or default for name, default in DEVELOPER_CHOICES.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.local_env", description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path, help="AIRFLOW_HOME")
    parser.add_argument("command", nargs="+", help="what to run in the environment")
    args = parser.parse_args(argv)
    # Read where the DAGs read it (SECTOR_REPORT_DATA_DIR, else the package's default), and nothing else: a wrong
    # setting must not stop `make stop` or `make flink-stop`.
    from include.sector_report.paths import DATA_ROOT

    env = {**os.environ, **local_airflow_env(PROJECT_ROOT, args.home.absolute(), DATA_ROOT.absolute(), os.environ)}
    os.execvpe(args.command[0], args.command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
