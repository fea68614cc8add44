"""Test-wide setup for the project's and its distributions' tests: a throwaway Airflow home and data folder, set
before anything imports Airflow; the fixtures that start real servers; and the tiers. (Each distribution's
conftest.py sets up what its tests need when they run alone, in its folder.)

Tests live in three tiers by what they need: ``unit`` (no JVM, server, browser or container: `make test-fast`),
``integration`` (a JVM: Flink) and ``system`` (Airflow's servers, PostgreSQL, a browser or containers). A test's
markers say what it needs; the tier of its folder must agree (checked at collection).
"""

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

import hypothesis
import pytest

# Plain paths: nothing here imports Airflow before its environment is set below.
from flink_sql_jobs import TEST_DAGS_FOLDER, TESTS_FOLDER
from tests.support import PROJECT_ROOT
from tests.support.distributions import UnitRuns
from tools.local_env import local_airflow_env

_SCRATCH = Path(tempfile.mkdtemp(prefix="sector-report-tests-"))
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

# Airflow reads its configuration when first imported, and the DAG reads its data folder
# when parsed, so both must be pointed away from the developer's own folders right now:
# a local run's environment (as `make` has it) in a throwaway home and data folder.
os.environ.update(
    {
        **local_airflow_env(PROJECT_ROOT, _SCRATCH / "airflow", _SCRATCH / "data", os.environ),
        # A second bundle holds flink-sql's test-only DAGs, so dag.test() can run them through Airflow's task runner
        # (as plugins/flink-sql/conftest.py has it when its tests run alone).
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {"name": "dags-folder", "classpath": _LOCAL_BUNDLE, "kwargs": {}},
                {"name": "test-dags", "classpath": _LOCAL_BUNDLE, "kwargs": {"path": str(TEST_DAGS_FOLDER)}},
            ]
        ),
        # The tests' nights generate their data unless they say otherwise, whatever the developer's shell says.
        "SECTOR_REPORT_SOURCE": "generate",
        # Their nights show the plausibility findings and hold nothing: a night that waited for a person would
        # wait for ever under dag.test(). The tests of holding ask for it in their runs' conf (plausibility: hold).
        "SECTOR_REPORT_PLAUSIBILITY": "warn",
        # The exchange calendars the tests' processes build are kept for this session alone.
        "AIRFLOW_REPORT_KIT_CACHE_DIR": str(_SCRATCH / "calendars"),
    }
)
# The test DAGs import flink_sql_jobs from flink-sql's tests/, in the processes that parse them too.
os.environ["PYTHONPATH"] = os.pathsep.join([os.environ["PYTHONPATH"], str(TESTS_FOLDER)])


# The property tests' examples: "thorough" in `make test`; `make test-fast` passes --hypothesis-profile=quick.
hypothesis.settings.register_profile("thorough", max_examples=300, deadline=None)
hypothesis.settings.register_profile("quick", max_examples=30, deadline=None)
hypothesis.settings.load_profile("thorough")

# What a test needs, as its markers say (registered in pyproject.toml), and the tiers that may need it.
TIER_NEEDS = {
    "unit": set(),
    "integration": {"flink"},
    "system": {"flink", "airflow_server", "postgres", "browser", "compose"},
}
# The fixtures that start a server (here, and the system tests' own), and the marker a test using one must carry.
FIXTURE_NEEDS = {
    "flink_cluster": "flink",
    "postgres_server": "postgres",
    "airflow": "airflow_server",  # tests/system/test_deployment.py: airflow standalone
    "api_server": "airflow_server",  # tests/system/test_report_ui.py
    "team_server": "airflow_server",
    "published_runs": "flink",  # tests/system/test_report_ui.py: nights through dag.test()
    "stack": "compose",  # tests/system/test_compose_stack.py
}


def tier_of(item: pytest.Item) -> str | None:
    """The tier of a test: the folder after ``tests`` in its path (tests/<tier>/, plugins/<dist>/tests/<tier>/)."""
    parts = item.path.relative_to(PROJECT_ROOT).parts
    return parts[parts.index("tests") + 1] if "tests" in parts[:-1] else None


def tier_mismatch(item: pytest.Item) -> str | None:
    """Why a test's markers, fixtures and folder disagree, if they do."""
    tier = tier_of(item)
    if tier not in TIER_NEEDS:
        return f"it is in no tier folder ({', '.join(TIER_NEEDS)})"
    marked = {mark.name for mark in item.iter_markers()} & TIER_NEEDS["system"]
    started = {FIXTURE_NEEDS[name] for name in getattr(item, "fixturenames", ()) if name in FIXTURE_NEEDS}
    if started - marked:
        return f"it starts {', '.join(sorted(started - marked))} without the marker"
    if marked - TIER_NEEDS[tier]:
        return f"it needs {', '.join(sorted(marked - TIER_NEEDS[tier]))}, which the {tier} tier does not start"
    if tier == "integration" and not marked:
        return "an integration test starts a JVM: mark it flink, or move it to the unit tier"
    if tier == "system" and not marked - TIER_NEEDS["integration"]:
        return "a system test starts Airflow's servers, PostgreSQL, a browser or containers: its markers say none"
    return None


# Last: after pytest's own deselection (-m, -k), so only the tests that will run are checked and served.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mismatches = [f"{item.nodeid}: {why}" for item in items if (why := tier_mismatch(item))]
    if mismatches:
        raise pytest.UsageError("Tests in the wrong tier:\n" + "\n".join(mismatches))
    if any("airflow_db" in getattr(item, "fixturenames", ()) for item in items):
        _migration.append(migrate_airflow_db())
    if any("distribution_unit_runs" in getattr(item, "fixturenames", ()) for item in items):
        _distribution_unit_runs.append(start_distribution_unit_runs())


def pytest_unconfigure(config: pytest.Config) -> None:
    for migration in _migration:  # started for tests that were then deselected or not reached
        migration.kill()
        migration.communicate()
    for runs in _distribution_unit_runs:
        runs.stop()
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def data_root() -> Path:
    return Path(os.environ["SECTOR_REPORT_DATA_DIR"])


def migrate_airflow_db() -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "airflow", "db", "migrate"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# The metadata database's migration, started as soon as a collected test is seen to need it: it runs (about 4 s)
# beside the tests that need none.
_migration: list[subprocess.Popen[str]] = []


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata database in the throwaway Airflow home."""
    migration = _migration.pop() if _migration else migrate_airflow_db()
    output, _ = migration.communicate()
    assert migration.returncode == 0, output[-3000:]


def start_distribution_unit_runs() -> UnitRuns:
    return UnitRuns(Path(tempfile.mkdtemp(prefix="distributions-", dir=_SCRATCH)))


# Each distribution's unit tests alone, in a copy of its folder (tests/support/distributions.py): started as soon as
# a collected test is seen to need them, they run (tens of seconds) beside the other tests.
_distribution_unit_runs: list[UnitRuns] = []


@pytest.fixture(scope="session")
def distribution_unit_runs() -> UnitRuns:
    if not _distribution_unit_runs:  # as airflow_db: started here if the collection hook did not
        _distribution_unit_runs.append(start_distribution_unit_runs())
    return _distribution_unit_runs[-1]


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory):
    """A real Flink standalone session cluster from the PyFlink wheel, shared by the tests that need one (as
    plugins/flink-sql/conftest.py has it when its tests run alone); its stop fails if its JVMs outlive it."""
    from airflow_flink_sql.session_cluster import SessionCluster

    cluster = SessionCluster(tmp_path_factory.mktemp("flink-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server shared by the tests that need one; each creates its own database."""
    from tests.support.postgres import PostgresServer

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
