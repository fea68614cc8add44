"""An event trigger for an ``AssetWatcher``: it asks a function what work is waiting, and fires once per item.

Airflow's own file triggers for watchers delete the file they see; a drop folder whose files are evidence
(an export kept beside the reports made from it) needs a watcher that only looks. What counts as waiting
work is the project's to say: ``finder`` names a plain function (``"package.module:function"``) called with
``finder_kwargs`` that returns the waiting items, oldest first, each a JSON-able dict with a ``key``.

The trigger fires at most one event per look: for the first item it has not fired for, or fired for more
than ``refire_seconds`` ago and still waiting. One item per look keeps items apart: Airflow hands the events
that arrive before a run is created to that one run, and a run that takes up one item would leave the
others' events spent. An item still waiting later (its event spent that way, or its run lost) is fired
again; the DAG decides again whether there is anything to do. An item with ``"refire": false`` (a condition to
report, such as a folder that cannot be read) is fired once while it keeps waiting. An item no longer waiting is
forgotten: if it waits again later, it is fired again at once.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


def load_finder(path: str) -> Callable[..., list[dict[str, Any]]]:
    """``"package.module:function"`` as the function."""
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"finder={path!r} is not 'package.module:function'")
    finder: Callable[..., list[dict[str, Any]]] = getattr(importlib.import_module(module), name)
    return finder


class PendingWorkTrigger(BaseEventTrigger):
    """Calls ``finder(**finder_kwargs)`` every ``poll_seconds``; fires an event for the first waiting item due."""

    def __init__(
        self,
        finder: str,
        finder_kwargs: dict[str, Any] | None = None,
        poll_seconds: float = 10,
        refire_seconds: float = 300,
    ):
        super().__init__()
        self.finder = finder
        self.finder_kwargs = finder_kwargs or {}
        self.poll_seconds = poll_seconds
        self.refire_seconds = refire_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_report_kit.triggers.pending_work.PendingWorkTrigger",
            {
                "finder": self.finder,
                "finder_kwargs": dict(self.finder_kwargs),
                "poll_seconds": self.poll_seconds,
                "refire_seconds": self.refire_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        find = load_finder(self.finder)
        fired: dict[str, float] = {}
        while True:
            # The finder reads files (and may hash them): in a thread, so the triggerer's loop never waits on a disk.
            try:
                waiting = await asyncio.to_thread(find, **self.finder_kwargs)
            except Exception:
                # The watcher outlives a bad moment (a file half-written, a disk hiccup): log it, look again.
                self.log.exception("%s failed; looking again in %s s", self.finder, self.poll_seconds)
                waiting = []
            else:
                # What no longer waits is forgotten: news again if it comes back, and the record stays small.
                keys = {str(item["key"]) for item in waiting}
                fired = {key: at for key, at in fired.items() if key in keys}
            now = time.monotonic()
            due = [item for item in waiting if self._due(item, fired, now)]
            if due:
                fired[str(due[0]["key"])] = now
                yield TriggerEvent(due[0])
            await asyncio.sleep(self.poll_seconds)

    def _due(self, item: dict[str, Any], fired: dict[str, float], now: float) -> bool:
        key = str(item["key"])
        if key not in fired:
            return True
        return item.get("refire", True) is not False and now - fired[key] >= self.refire_seconds
