"""The exchange's name, checked where the DAGs are parsed."""

from __future__ import annotations

import pytest

from include.sector_report.trading_days import is_exchange, unknown_exchange


@pytest.mark.parametrize(("name", "known"), [("XKRX", True), ("XTKS", True), ("NYSE", True), ("XKRZ", False),
                                              ("xkrx", False), ("../x", False), ("", False)])  # fmt: skip
def test_exchange_codes_and_aliases_are_known_and_nothing_else(name: str, known: bool) -> None:
    assert is_exchange(name) is known


def test_an_unknown_exchange_names_the_setting_and_how_to_list_the_valid_names() -> None:
    message = str(unknown_exchange("XKRZ"))
    assert message.startswith("SECTOR_REPORT_EXCHANGE='XKRZ' is not an exchange calendar of exchange-calendars")
    assert "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())'" in message
