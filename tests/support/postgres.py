"""A throwaway PostgreSQL server for the tests that run Airflow the way it is deployed.

Airflow's scheduler, dag-processor, triggerer and api-server all write to the metadata database
at once, and a CLI command beside them (`airflow backfill create`) writes too: SQLite then answers
"database is locked" by chance. The tests that drive a running Airflow use PostgreSQL, as
docker-compose does, from Debian's server binaries (`make test` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.processes import free_port


class PostgresServer:
    """One server on a free local port, its data in a temporary folder, run as the 'postgres' user (it refuses root)."""

    def __init__(self) -> None:
        bin_dir = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql.")
        self.bin_dir = bin_dir
        # Directly under /tmp: pytest's own temp folders are private to root, and postgres must reach its data.
        self.folder = Path(tempfile.mkdtemp(prefix="airflow-test-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()

    def _run(self, command: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, str(self.bin_dir / command), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = str(self.folder / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "-A", "trust")
        # Airflow's components and their task processes each hold a few connections.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=localhost -c max_connections=300"
        self._run("pg_ctl", "-D", data, "-l", str(self.folder / "log"), "-w", "-o", options, "start")

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its SQLAlchemy URL for Airflow."""
        self._run("createdb", "-h", "localhost", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg2://postgres@localhost:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
