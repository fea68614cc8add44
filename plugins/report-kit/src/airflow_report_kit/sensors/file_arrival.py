"""Wait for a file without holding a worker slot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_report_kit.arrivals import SETTLE_SECONDS, arrived_file
from airflow_report_kit.triggers.file_arrival import FileArrivalTrigger


class FileArrivalSensor(BaseOperator):
    """Wait until a file matching ``patterns`` is complete in ``folder``; return its path.

    Looks once in the worker; if nothing is there, defers to the triggerer until the file
    arrives or ``wait_until`` (an aware ISO datetime, templated) passes. Then the task fails
    without retry (a retry would only wait again), with a message naming the folder and patterns.

    :param folder: the folder to watch (templated)
    :param patterns: file name patterns, ``fnmatch`` style, matched case-insensitively (templated)
    :param wait_until: when to give up (templated)
    :param control_suffix: ``<stem><control_suffix>`` beside a file marks it complete
    :param settle_seconds: without a control file, a file is complete once unchanged this long
    :param poll_seconds: how often the trigger looks
    """

    template_fields: Sequence[str] = ("folder", "patterns", "wait_until")
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        folder: str,
        patterns: Sequence[str],
        wait_until: str,
        control_suffix: str = ".ctl.json",
        settle_seconds: float = SETTLE_SECONDS,
        poll_seconds: float = 30,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.patterns = patterns
        self.wait_until = wait_until
        self.control_suffix = control_suffix
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds

    def execute(self, context: Any) -> str:
        found = arrived_file(
            Path(self.folder), self.patterns, control_suffix=self.control_suffix, settle_seconds=self.settle_seconds
        )
        if found:
            self.log.info("%s is there", found)
            return str(found)
        if dt.datetime.fromisoformat(self.wait_until) <= dt.datetime.now(dt.UTC):
            self._time_is_up()
        self.log.info("Waiting for %s in %s until %s", " or ".join(self.patterns), self.folder, self.wait_until)
        self.defer(
            trigger=FileArrivalTrigger(
                folder=str(self.folder),
                patterns=list(self.patterns),
                wait_until=self.wait_until,
                control_suffix=self.control_suffix,
                settle_seconds=self.settle_seconds,
                poll_seconds=self.poll_seconds,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> str:
        if event["status"] != "arrived":
            self._time_is_up()
        self.log.info("%s arrived", event["path"])
        return str(event["path"])

    def _time_is_up(self) -> None:
        raise AirflowFailException(
            f"No file arrived in {self.folder} by {self.wait_until}: looked for names matching "
            f"{' or '.join(self.patterns)} (a file counts once {self.control_suffix!r} with its name lies beside it, "
            f"or once it has not changed for {self.settle_seconds:g} s). Drop the file there and clear this task "
            "to look again."
        )
