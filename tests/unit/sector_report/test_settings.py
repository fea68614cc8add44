"""Reading the deployment's settings from the environment: numbers of seconds and lists of mail addresses.

The settings module reads its own settings once, when imported; these tests call its readers on variables they set.
"""

from __future__ import annotations

import pytest

from include.sector_report.settings import addresses_from_env, limit_from_env, number_from_env, seconds_from_env

ADDRESSES = "SECTOR_REPORT_TEST_ADDRESSES"


def test_a_setting_that_is_not_a_number_of_seconds_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", "2h")
    with pytest.raises(ValueError, match=r"SECTOR_REPORT_FILE_WAIT_SECONDS='2h' is not a whole number of seconds"):
        seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS")
    monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", " 90 ")
    assert seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS") == 90


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_unset_or_empty_number_of_seconds_is_the_default(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("SECTOR_REPORT_FILE_WAIT_SECONDS", raising=False)
    else:
        monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", value)
    assert seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS") is None


@pytest.mark.parametrize("value", ["-5", "+3", "1.5", "1_000", "1e3", "²", "١٢"])
def test_only_whole_non_negative_seconds_are_taken(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SECTOR_REPORT_FLINK_JOB_TIMEOUT_SECONDS", value)
    with pytest.raises(ValueError, match=r"is not a whole number of seconds \(0 or more\); empty for the default\.$"):
        seconds_from_env("SECTOR_REPORT_FLINK_JOB_TIMEOUT_SECONDS")


def test_zero_seconds_is_a_number_not_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTOR_REPORT_FILE_WAIT_SECONDS", "0")
    assert seconds_from_env("SECTOR_REPORT_FILE_WAIT_SECONDS") == 0


@pytest.mark.parametrize(("value", "number"), [("480", 480.0), (" 0.5 ", 0.5), ("0", 0.0), ("", None), ("  ", None)])
def test_a_number_may_have_a_fraction(monkeypatch: pytest.MonkeyPatch, value: str, number: float | None) -> None:
    monkeypatch.setenv("SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES", value)
    assert number_from_env("SECTOR_REPORT_PUBLISH_DEADLINE_MINUTES") == number


@pytest.mark.parametrize("value", ["-1", "8h", "nan", "inf", "-0.5"])
def test_a_number_that_is_not_one_names_its_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SECTOR_REPORT_RETRY_DELAY_SECONDS", value)
    with pytest.raises(ValueError, match=r"^SECTOR_REPORT_RETRY_DELAY_SECONDS='.*' is not a number \(0 or more\)"):
        number_from_env("SECTOR_REPORT_RETRY_DELAY_SECONDS")


@pytest.mark.parametrize(("value", "limit"), [(None, 300), ("", 300), ("5", 5)])
def test_a_limit_is_its_default_when_unset(monkeypatch: pytest.MonkeyPatch, value: str | None, limit: int) -> None:
    if value is None:
        monkeypatch.delenv("SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS", raising=False)
    else:
        monkeypatch.setenv("SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS", value)
    assert limit_from_env("SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS", 300, seconds_from_env, zero="x") == limit


@pytest.mark.parametrize(("value", "read"), [("0", seconds_from_env), ("0.0", number_from_env)])
def test_a_limit_of_zero_is_refused_in_one_paragraph_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, read: object
) -> None:
    monkeypatch.setenv("SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS", value)
    with pytest.raises(
        ValueError, match=r"^SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS=0 is refused: jobs would wait"
    ) as error:
        limit_from_env("SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS", 300, read, zero="jobs would wait for nothing")  # type: ignore[arg-type]
    message = str(error.value)
    assert "\n" not in message
    assert message.endswith(
        '0 does not mean "no limit" here: set a number above 0, or leave SECTOR_REPORT_FLINK_SLOT_WAIT_SECONDS '
        "empty for its default."
    )


@pytest.mark.parametrize(
    ("value", "addresses"),
    [
        ("ops@example.com", ["ops@example.com"]),
        ("ops@example.com,desk@example.com", ["ops@example.com", "desk@example.com"]),
        (" ops@example.com , ,desk@example.com,  ,", ["ops@example.com", "desk@example.com"]),
        ("김@예시.한국,ops@example.com", ["김@예시.한국", "ops@example.com"]),
        ("", []),
        (" , ,", []),
    ],
)
def test_addresses_are_comma_separated_ignoring_blanks_and_spaces(
    monkeypatch: pytest.MonkeyPatch, value: str, addresses: list[str]
) -> None:
    monkeypatch.setenv(ADDRESSES, value)
    assert addresses_from_env(ADDRESSES) == addresses


def test_no_addresses_when_the_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADDRESSES, raising=False)
    assert addresses_from_env(ADDRESSES) == []


def test_the_nights_run_in_the_time_zone_their_report_dates_are_taken_in() -> None:
    from include.sector_report import settings
    from include.sector_report.report_dates import SEOUL, report_date_of

    assert settings.TIMEZONE == SEOUL.key == "Asia/Seoul"
    assert report_date_of("2024-03-08T15:00:00+00:00").isoformat() == "2024-03-09"  # midnight in Seoul
