"""wait_for: the first truthy value, asked every so often; "not yet" exceptions; a timeout that names its wait."""

from __future__ import annotations

import time

import pytest
from airflow_flink_sql.waiting import WaitTimedOut, wait_for


class Answers:
    """A condition that answers from a list, one answer a call, and counts the calls."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_returns_the_first_truthy_value_and_asks_no_more() -> None:
    condition = Answers(None, 0, [], "", {"ready": True}, "never asked")
    assert wait_for(condition, "a truthy answer", 5, every=0.01) == {"ready": True}
    assert condition.calls == 5


def test_a_condition_true_at_once_returns_without_sleeping() -> None:
    started = time.monotonic()
    assert wait_for(lambda: 7, "seven", 5, every=10) == 7
    assert time.monotonic() - started < 1


def test_asks_every_so_many_seconds() -> None:
    condition = Answers(False, False, True)
    started = time.monotonic()
    wait_for(condition, "the third answer", 5, every=0.2)
    assert 0.4 <= time.monotonic() - started < 2


def test_a_not_yet_exception_counts_as_not_yet() -> None:
    condition = Answers(ConnectionRefusedError(), TimeoutError(), "up")
    assert wait_for(condition, "the server", 5, every=0.01, not_yet=(OSError,)) == "up"


def test_any_other_exception_ends_the_wait_at_once() -> None:
    condition = Answers(ConnectionRefusedError(), ValueError("bad answer"), "up")
    with pytest.raises(ValueError, match="bad answer"):
        wait_for(condition, "the server", 5, every=0.01, not_yet=(ConnectionRefusedError,))
    assert condition.calls == 2


def test_a_timeout_fails_naming_what_it_waited_for() -> None:
    condition = Answers(*[None] * 1000)
    started = time.monotonic()
    with pytest.raises(WaitTimedOut, match=r"^timed out after 0 s waiting for the moon to turn blue$"):
        wait_for(condition, "the moon to turn blue", 0.3, every=0.05)
    assert 0.3 <= time.monotonic() - started < 2
    assert condition.calls > 1


def test_a_timeout_is_an_assertion_error_that_no_real_assertion_failure_is_taken_for() -> None:
    assert issubclass(WaitTimedOut, AssertionError)

    def failing_check() -> bool:
        raise AssertionError("a real failure")

    with pytest.raises(AssertionError, match="a real failure") as raised:
        wait_for(failing_check, "a check", 1, every=0.01)
    assert not isinstance(raised.value, WaitTimedOut)


def test_the_condition_is_asked_once_more_at_the_deadline() -> None:
    condition = Answers(None, "met at the deadline")
    assert wait_for(condition, "the last look", 0.1, every=10) == "met at the deadline"
    assert condition.calls == 2
