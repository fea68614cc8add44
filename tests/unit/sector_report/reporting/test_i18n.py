"""The reports' wording: Korean and English say the same things, Korean in Korean, and a locale that is neither is
refused by name; every wording the templates and the mails ask for is there in both."""

from __future__ import annotations

import re

import pytest
from airflow.utils.state import DagRunState

from include.sector_report.plausibility import CHECKS, VERDICTS
from include.sector_report.reporting.i18n import LOCALES, MESSAGES, messages
from tests.support import PROJECT_ROOT

HANGUL = re.compile("[\uac00-\ud7a3]")
# The one wording the same in both: a name, not a word.
SAME_IN_BOTH = {"dag", "sha256"}


def asked_for() -> set[str]:
    """The wordings the templates (``t.key``) and the reporting code (``t["key"]``) look up by a literal key."""
    templates = "".join(path.read_text("utf-8") for path in (PROJECT_ROOT / "include" / "templates").glob("*.j2"))
    code = "".join(path.read_text("utf-8") for path in (PROJECT_ROOT / "include" / "sector_report").rglob("*.py"))
    return set(re.findall(r"\bt\.([a-z_]+)\b", templates)) | set(re.findall(r"\bt\[[\"']([a-z_]+)[\"']\]", code))


def test_the_locales_are_korean_and_english_each_with_its_wording() -> None:
    assert LOCALES == ("ko", "en")
    assert tuple(MESSAGES) == LOCALES
    for locale in LOCALES:
        assert messages(locale) is MESSAGES[locale]


def test_both_locales_word_the_same_things() -> None:
    assert sorted(MESSAGES["ko"]) == sorted(MESSAGES["en"])


@pytest.mark.parametrize("locale", LOCALES)
def test_no_wording_is_empty_or_padded(locale: str) -> None:
    assert [key for key, text in messages(locale).items() if not text or text != text.strip()] == []


def test_the_korean_wording_is_korean_and_the_english_is_not() -> None:
    assert [key for key, text in messages("ko").items() if not HANGUL.search(text)] == sorted(SAME_IN_BOTH)
    assert [key for key, text in messages("en").items() if HANGUL.search(text)] == []
    assert [key for key in MESSAGES["ko"] if MESSAGES["ko"][key] == MESSAGES["en"][key]] == sorted(SAME_IN_BOTH)


def test_every_wording_the_templates_and_mails_ask_for_is_in_both_locales() -> None:
    wanted = asked_for()
    assert {"title", "currency", "alert_failed_intro", "night_state"} <= wanted, "the look-ups were found"
    for locale in LOCALES:
        assert sorted(wanted - set(messages(locale))) == [], f"{locale} lacks wording"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_late_alert_can_word_every_state_of_the_nights_run(locale: str) -> None:
    states = [state.value for state in DagRunState] + ["none"]
    assert [state for state in states if f"night_{state}" not in messages(locale)] == []


@pytest.mark.parametrize("locale", ["fr", "KO", "ko-KR", ""])
def test_an_unknown_locale_is_refused_naming_it_and_the_locales(locale: str) -> None:
    with pytest.raises(ValueError, match=rf"^locale {re.escape(repr(locale))} is not one of ko, en$"):
        messages(locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_plausibility_check_and_verdict_is_worded(locale: str) -> None:
    wanted = [f"check_{check}" for check in CHECKS] + [f"verdict_{verdict}" for verdict in VERDICTS]
    assert [key for key in wanted if key not in messages(locale)] == []
