"""What the docs promise about the code, checked against it: every setting and every docker-compose variable is in
docs/operations.md's "Settings"."""

from __future__ import annotations

import re

from tests.support import PROJECT_ROOT


def settings_section() -> str:
    operations = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    return operations.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]


def documented(variable: str) -> bool:
    return f"`{variable}`" in settings_section()


def test_every_setting_the_package_reads_is_documented() -> None:
    settings = (PROJECT_ROOT / "include" / "sector_report" / "settings.py").read_text()
    variables = set(re.findall(r"""["'](SECTOR_REPORT_\w+)["']""", settings))
    assert len(variables) >= 10, "the settings are read as quoted names"
    assert sorted(v for v in variables if not documented(v)) == []


def test_every_variable_docker_compose_reads_is_documented() -> None:
    compose = (PROJECT_ROOT / "docker-compose.yaml").read_text()
    variables = set(re.findall(r"\$\{(\w+)", compose))
    assert {"AIRFLOW_JWT_SECRET", "AIRFLOW_PORT", "SECTOR_REPORT_INCOMING"} <= variables
    assert sorted(v for v in variables if not documented(v)) == []
