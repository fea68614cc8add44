"""The JVM that PyFlink starts (its gateway, which also hosts a local MiniCluster): options, start, stop."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("airflow_flink_sql.job")

# PyFlink's switch for where Python UDF workers run. Left unset, a local TableEnvironment imports
# Apache Beam and starts a loopback server for them (about a second); SQL has no Python UDFs, and
# any would still run, in processes. PyFlink offers no public setting for it: this private
# environment variable is read in TableEnvironment._open, and a test fails if that changes.
PYTHON_WORKER_MODE_VARIABLE = "_python_worker_execution_mode"


def quote_java_option(option: str) -> str:
    """Quoted for JDK_JAVA_OPTIONS, which knows both quote characters but no escapes."""
    for quote in "\"'":
        if quote not in option:
            return f"{quote}{option}{quote}"
    raise ValueError(f"JVM option {option!r} has both kinds of quote; it cannot be passed to the JVM")


def configure_jvm(options: Sequence[str]) -> None:
    """Set what the JVM that PyFlink is about to start runs with, in this process's environment."""
    # The java launcher reads JDK_JAVA_OPTIONS with quoting, so a path with a space survives
    # (PyFlink's own JVM_ARGS is split at every space).
    os.environ["JDK_JAVA_OPTIONS"] = " ".join(
        filter(None, [os.environ.get("JDK_JAVA_OPTIONS"), *(quote_java_option(option) for option in options)])
    )
    os.environ.setdefault(PYTHON_WORKER_MODE_VARIABLE, "process")


def create_table_env(configuration: dict[str, str]) -> Any:
    """A batch TableEnvironment with ``configuration``; this starts the JVM."""
    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings, TableEnvironment

    config = Configuration()
    for key, value in configuration.items():
        config.set_string(key, str(value))
    settings = EnvironmentSettings.new_instance().in_batch_mode().with_configuration(config).build()
    return TableEnvironment.create(settings)


def stop_jvm() -> None:
    """End PyFlink's JVM normally and wait for it, so what it writes at exit (class-data archive,
    flight recording) is complete; a killed JVM writes nothing. Call only once the JVM runs."""
    from pyflink.java_gateway import get_gateway

    started = time.monotonic()
    try:
        get_gateway().jvm.java.lang.System.exit(0)
    except Exception:  # noqa: BLE001 - the connection drops as the JVM exits, by design
        pass
    try:
        while True:
            os.waitpid(-1, 0)  # the gateway JVM is this process's only child
    except ChildProcessError:
        pass
    log.info("JVM stopped in %.2f s", time.monotonic() - started)


def exit_with_parent() -> None:
    """End this process group (this process and its JVM) if the process that started it dies without
    killing it: a worker killed by the OOM killer or a deploy must not leave a Flink job behind."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        log.error("Parent process %d is gone; stopping the Flink job", parent)
        os.killpg(os.getpgrp(), 9)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
