"""Test-wide setup: a throwaway Airflow home and data folder, set before anything imports Airflow."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_DAGS_FOLDER = PROJECT_ROOT / "tests" / "dag_fixtures"
_SCRATCH = Path(tempfile.mkdtemp(prefix="sector-report-tests-"))
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

# Airflow reads its configuration when first imported, and the DAG reads its data folder
# when parsed, so both must be pointed away from the developer's own folders right now.
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SCRATCH / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        # plugins/ as the plugins folder, as the Makefile and docker-compose.yaml have it.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # A second bundle holds test-only DAGs, so dag.test() can run them through Airflow's task runner.
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": "dags-folder",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {},
                },
                {
                    "name": "test-dags",
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(PROJECT_ROOT / "tests" / "dag_fixtures")},
                },
            ]
        ),
        "SECTOR_REPORT_DATA_DIR": str(_SCRATCH / "data"),
        # The tests' nights generate their data unless they say otherwise, as `make run` does.
        "SECTOR_REPORT_SOURCE": "generate",
        "AIRFLOW__REPORT_VIEWER__ROOT": str(_SCRATCH / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def data_root() -> Path:
    return Path(os.environ["SECTOR_REPORT_DATA_DIR"])


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata database in the throwaway Airflow home."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory):
    """A real Flink standalone session cluster from the PyFlink wheel, shared by the tests that need one."""
    from tools.flink_session_cluster import SessionCluster
    from tools.processes import alive

    cluster = SessionCluster(tmp_path_factory.mktemp("flink-cluster"))
    cluster.start()
    yield cluster
    pids = cluster.pids()
    cluster.stop()
    assert not any(alive(pid) for pid in pids), "the session cluster's JVMs outlived it"


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server shared by the tests that need one; each creates its own database."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


class Inbox:
    """What a real SMTP server on localhost received, parsed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def about(self, text: str) -> list[tuple[list[str], EmailMessage]]:
        """The messages whose subject contains ``text``."""
        return [(to, message) for to, message in self.messages if text in message["Subject"]]


@pytest.fixture(scope="session")
def smtp_server():
    """An aiosmtpd server on a free local port, set as Airflow's smtp_default connection."""
    from aiosmtpd.controller import Controller

    from tools.processes import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": controller.port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "reports@example.com"},
    }
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(connection)
    yield inbox
    controller.stop()
    del os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]
