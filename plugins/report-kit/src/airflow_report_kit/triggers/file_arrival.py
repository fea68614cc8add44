"""The triggerer's side of :class:`airflow_report_kit.sensors.file_arrival.FileArrivalSensor`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_report_kit.arrivals import arrived_file


class FileArrivalTrigger(BaseTrigger):
    """Looks for an arrived file every ``poll_seconds`` until ``wait_until`` (an aware ISO datetime)."""

    def __init__(
        self,
        folder: str,
        patterns: list[str],
        wait_until: str,
        control_suffix: str,
        settle_seconds: float,
        poll_seconds: float,
    ):
        super().__init__()
        self.folder = folder
        self.patterns = patterns
        self.wait_until = wait_until
        self.control_suffix = control_suffix
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_report_kit.triggers.file_arrival.FileArrivalTrigger",
            {
                "folder": self.folder,
                "patterns": list(self.patterns),
                "wait_until": self.wait_until,
                "control_suffix": self.control_suffix,
                "settle_seconds": self.settle_seconds,
                "poll_seconds": self.poll_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = dt.datetime.fromisoformat(self.wait_until)
        while True:
            # A directory listing is quick; it runs in a thread so the triggerer's loop never waits on a slow disk.
            found = await asyncio.to_thread(
                arrived_file,
                Path(self.folder),
                self.patterns,
                control_suffix=self.control_suffix,
                settle_seconds=self.settle_seconds,
            )
            if found:
                yield TriggerEvent({"status": "arrived", "path": str(found)})
                return
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                yield TriggerEvent({"status": "timeout"})
                return
            await asyncio.sleep(min(self.poll_seconds, left))
