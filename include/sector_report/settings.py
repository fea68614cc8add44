"""The deployment's settings, read once where the DAGs are parsed; the DAGs take theirs from here.

Every setting is an environment variable with a default for a laptop; docker-compose.yaml sets
the production ones (docs/operations.md "Settings"). This module only reads and checks them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from airflow_report_kit.calendars import is_exchange

from . import paths
from .plausibility import PLAUSIBILITY_MODES, sessions_from_env
from .report_dates import SEOUL
from .trading_days import unknown_exchange
from .transactions import SOURCES

N = TypeVar("N", int, float)


def addresses_from_env(name: str) -> list[str]:
    """A comma-separated list of mail addresses in environment variable ``name`` (empty if unset)."""
    return [address.strip() for address in os.environ.get(name, "").split(",") if address.strip()]


def seconds_from_env(name: str) -> int | None:
    """A whole number of seconds from environment variable ``name``, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{name}={value!r} is not a whole number of seconds (0 or more); empty for the default.")
    return int(value)


def number_from_env(name: str) -> float | None:
    """A number (0 or more, fractions allowed) from environment variable ``name``, or None when unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{name}={value!r} is not a number (0 or more); empty for the default.")
    return number


def zero_refused(name: str, zero: str) -> ValueError:
    """The error of a limit or interval set to 0, which would not mean "no limit": ``zero`` says what it would do."""
    return ValueError(
        f'{name}=0 is refused: {zero}. 0 does not mean "no limit" here: set a number above 0, or leave {name} '
        "empty for its default."
    )


def limit_from_env(name: str, default: N, read: Callable[[str], N | None], *, zero: str) -> N:
    """A limit or interval from environment variable ``name`` (read by ``read``), ``default`` when unset or empty;
    0 is refused (see :func:`zero_refused`), never taken for the default."""
    value = read(name)
    if value == 0:
        raise zero_refused(name, zero)
    return default if value is None else value


# The folders (paths.py: read there without any check, for the tools that only need them).
PROJECT_ROOT, INCLUDE_DIR, DATA_ROOT = paths.PROJECT_ROOT, paths.INCLUDE_DIR, paths.DATA_ROOT
# Folders outside DATA_ROOT that input_path may point into (os.pathsep-separated).
ALLOWED_INPUT_DIRS = [Path(p) for p in os.environ.get("SECTOR_REPORT_ALLOWED_INPUT_DIRS", "").split(os.pathsep) if p]
# Where the Flink jobs run: "local" (a MiniCluster in the task's child process) or "remote" (flink_default).
FLINK_TARGET = os.environ.get("SECTOR_REPORT_FLINK_TARGET", "local")
# The exchange whose trading sessions are the nights (an exchange-calendars name: XKRX, XNYS, XTKS, ...).
EXCHANGE = os.environ.get("SECTOR_REPORT_EXCHANGE", "XKRX")
if not is_exchange(EXCHANGE):
    raise unknown_exchange(EXCHANGE)
# What a night whose conf does not say (a scheduled one) reports: the day's file from incoming/, or generated
# sample data. A deployment reports real files unless it asks otherwise; `make run` asks for generated data.
DEFAULT_SOURCE = os.environ.get("SECTOR_REPORT_SOURCE", "file")
if DEFAULT_SOURCE not in SOURCES:
    raise ValueError(f"SECTOR_REPORT_SOURCE={DEFAULT_SOURCE!r} is not one of {', '.join(SOURCES)}.")
# How long a night whose conf does not say waits for the day's file, in seconds; unset: until 06:00 Seoul time
# the morning after (a night that starts after that, say when the DAG is unpaused at 10:00, fails at once).
FILE_WAIT_SECONDS = seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS")
if FILE_WAIT_SECONDS == 0:
    raise zero_refused(
        "SECTOR_REPORT_FILE_WAIT_SECONDS",
        "every night whose file is not in incoming/ when it starts would fail at once instead of waiting for it",
    )
# How long a night's Flink job may take in all (the aggregate task's execution_timeout; then the job is cancelled
# and the try fails): 30 minutes, 50 times the largest night benchmarked (1e8 rows: 35 s on the local target), and
# room for a small session cluster (1e7 rows took 46 s there). A night that needs longer sets more.
FLINK_JOB_TIMEOUT = dt.timedelta(
    seconds=limit_from_env(
        "SECTOR_REPORT_FLINK_JOB_TIMEOUT_SECONDS",
        1800,
        seconds_from_env,
        zero="every Flink job would time out the moment it starts (it is the aggregate tasks' execution_timeout)",
    )
)
# How long a night's job on the session cluster may wait for slots (no TaskManager, every slot taken) before it is
# cancelled; unset: 300 s, Flink's own slot.request.timeout. The nightly DAG's flink_slot_wait param overrides it.
FLINK_SLOT_WAIT_SECONDS = limit_from_env(
    "SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS",
    300,
    seconds_from_env,
    zero="every job on the session cluster would be cancelled before the cluster could offer it slots",
)
# The reports' time zone, by name (the timetables and start dates take one): a night's report date is its logical
# date there (report_dates.SEOUL), and the nights run at 23:00 there.
TIMEZONE = SEOUL.key
NIGHTLY_AT = dt.time(23, 0)
# A session's night not published this long after its 23:00 run time alerts alert_to (480: by 07:00 Seoul time).
PUBLISH_DEADLINE = dt.timedelta(
    minutes=limit_from_env(
        "SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES",
        480.0,
        number_from_env,
        zero="every night would be late at 23:00, the moment it starts, and alert",
    )
)
# How long a failed task waits before its retry; 0: it is retried at once (a delay, not a limit: 0 means none).
RETRY_DELAY_SECONDS = number_from_env("SECTOR_REPORT_RETRY_DELAY_SECONDS")
RETRY_DELAY = dt.timedelta(seconds=300 if RETRY_DELAY_SECONDS is None else RETRY_DELAY_SECONDS)
# Who is told when a run's conf does not say (scheduled nights): comma-separated mail addresses.
EMAIL_TO = addresses_from_env("SECTOR_REPORT_EMAIL_TO")
ALERT_TO = addresses_from_env("SECTOR_REPORT_ALERT_TO")
# The reports' language when a run's conf does not say.
LOCALE = "ko"
# The Airflow Asset the nightly DAG updates when it publishes a night; the monthly DAG runs on it.
DAILY_REPORT_ASSET = "sector_report_daily"
# The Airflow Asset a corrected file in incoming/ updates (through its watcher); the restatement DAG runs on it.
CORRECTIONS_ASSET = "sector_report_corrections"
# How often the watcher looks in incoming/ for corrected files, in seconds.
CORRECTIONS_POLL_SECONDS = limit_from_env(
    "SECTOR_REPORT_CORRECTIONS_POLL_SECONDS",
    10,
    seconds_from_env,
    zero="the watcher in the triggerer would look in incoming/ without pausing, taking a core",
)
# What the plausibility checks (plausibility.py) do with a night that looks wrong beside the published history:
# "hold" it until a person approves it in the UI (the default), "warn" (the findings show in the report, nothing
# waits: a deployment whose history is not yet its real feed's), or "off" (no checks). A run's conf may say.
PLAUSIBILITY = os.environ.get("SECTOR_REPORT_PLAUSIBILITY", "hold").strip() or "hold"
if PLAUSIBILITY not in PLAUSIBILITY_MODES:
    raise ValueError(
        f"SECTOR_REPORT_PLAUSIBILITY={PLAUSIBILITY!r} is not one of {', '.join(PLAUSIBILITY_MODES)}; empty for hold."
    )
# How many earlier published sessions a night is compared with (SECTOR_REPORT_PLAUSIBILITY_SESSIONS, default 20).
PLAUSIBILITY_SESSIONS = sessions_from_env()
