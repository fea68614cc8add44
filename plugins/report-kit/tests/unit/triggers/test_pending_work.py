"""The watcher's trigger: one event per waiting item, again only if it still waits after a while (or never, if the
item says so, until it stopped waiting)."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Iterator

import pytest
from airflow_report_kit.triggers.pending_work import PendingWorkTrigger, load_finder

FINDER = "tests_pending_work_finder:waiting"


@pytest.fixture
def waiting() -> Iterator[list[dict]]:
    """What the finder answers, as a module the trigger imports by name (as it imports the project's)."""
    items: list[dict] = []
    module = types.ModuleType("tests_pending_work_finder")
    module.waiting = lambda **kwargs: [dict(item, asked=kwargs) for item in items]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield items
    del sys.modules[module.__name__]


async def events(trigger: PendingWorkTrigger, polls: int) -> list[dict]:
    """The events the trigger fires in its first ``polls`` looks."""
    fired: list[dict] = []

    async def collect() -> None:
        async for event in trigger.run():
            fired.append(event.payload)

    task = asyncio.create_task(collect())
    await asyncio.sleep(trigger.poll_seconds * (polls - 0.5))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return fired


def test_an_item_fires_once_while_it_waits_and_again_after_refire_seconds(waiting: list[dict]) -> None:
    waiting.append({"key": "2024-03-08:abc", "path": "/data/incoming/x.csv"})
    once = PendingWorkTrigger(FINDER, {"data_root": "/data"}, poll_seconds=0.05, refire_seconds=60)
    assert asyncio.run(events(once, polls=4)) == [
        {"key": "2024-03-08:abc", "path": "/data/incoming/x.csv", "asked": {"data_root": "/data"}}
    ]
    again = PendingWorkTrigger(FINDER, {"data_root": "/data"}, poll_seconds=0.05, refire_seconds=0.12)
    assert len(asyncio.run(events(again, polls=6))) >= 2


def test_an_item_that_must_not_refire_fires_once_while_it_waits_and_again_once_it_came_back(
    waiting: list[dict],
) -> None:
    looks = []

    def condition(**_: object) -> list[dict]:
        looks.append(1)
        return [] if len(looks) in (4, 5) else [{"key": "cannot-look", "refire": False}]

    sys.modules["tests_pending_work_finder"].condition = condition  # type: ignore[attr-defined]
    trigger = PendingWorkTrigger("tests_pending_work_finder:condition", poll_seconds=0.05, refire_seconds=0.05)
    assert [event["key"] for event in asyncio.run(events(trigger, polls=8))] == ["cannot-look", "cannot-look"]


def test_items_waiting_together_fire_one_per_look_oldest_first(waiting: list[dict]) -> None:
    waiting.extend([{"key": "2024-03-07:a"}, {"key": "2024-03-08:b"}])
    trigger = PendingWorkTrigger(FINDER, poll_seconds=0.05, refire_seconds=60)
    assert [event["key"] for event in asyncio.run(events(trigger, polls=4))] == ["2024-03-07:a", "2024-03-08:b"]


def test_a_finder_that_fails_is_logged_and_asked_again(waiting: list[dict]) -> None:
    calls = []

    def flaky(**_: object) -> list[dict]:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("a disk hiccup")
        return [{"key": "k"}]

    sys.modules["tests_pending_work_finder"].flaky = flaky  # type: ignore[attr-defined]
    trigger = PendingWorkTrigger("tests_pending_work_finder:flaky", poll_seconds=0.05)
    assert asyncio.run(events(trigger, polls=4)) == [{"key": "k"}]


def test_the_trigger_serializes_to_what_builds_it_again_and_names_a_bad_finder() -> None:
    trigger = PendingWorkTrigger("package.module:function", {"data_root": "/data"}, poll_seconds=5, refire_seconds=9)
    path, kwargs = trigger.serialize()
    assert path == "airflow_report_kit.triggers.pending_work.PendingWorkTrigger"
    assert PendingWorkTrigger(**kwargs).serialize() == (path, kwargs)
    with pytest.raises(ValueError, match="finder='package.module' is not 'package.module:function'"):
        load_finder("package.module")
