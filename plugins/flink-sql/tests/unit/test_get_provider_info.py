"""What Airflow's providers manager learns of this distribution: its provider info, found as Airflow finds it (the
``apache_airflow_provider`` entry point), checked against Airflow's own schemas, and every class it names importable.

Without starting the providers manager (building it takes seconds): the same steps, on this distribution only.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest
from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink
from airflow_flink_sql import __version__
from airflow_flink_sql.get_provider_info import get_provider_info

DISTRIBUTION = "airflow-flink-sql"
# The fields of Airflow's connection form that a provider may hide, relabel or fill with a placeholder.
CONNECTION_FIELDS = {"description", "host", "schema", "login", "password", "port", "extra"}


def import_string(dotted_path: str) -> Any:
    """The object a dotted path names, imported as the providers manager imports a provider's classes."""
    module, _, name = dotted_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def validate(instance: dict[str, Any], schema_file: str) -> None:
    """Validate ``instance`` as the providers manager does, by one of the schemas Airflow ships."""
    schema = json.loads((Path(airflow.__file__).parent / schema_file).read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(instance)


@pytest.fixture(scope="module")
def entry_point() -> importlib.metadata.EntryPoint:
    """This distribution's entry point in the group the providers manager scans."""
    scanned = importlib.metadata.entry_points(group="apache_airflow_provider")
    [found] = [entry_point for entry_point in scanned if entry_point.dist.name == DISTRIBUTION]
    return found


@pytest.fixture(scope="module")
def info(entry_point: importlib.metadata.EntryPoint) -> dict[str, Any]:
    return entry_point.load()()


@pytest.fixture(scope="module")
def flink_connection(info: dict[str, Any]) -> dict[str, Any]:
    [connection] = info["connection-types"]
    return connection


def test_the_entry_point_is_get_provider_info(entry_point: importlib.metadata.EntryPoint) -> None:
    assert entry_point.name == "provider_info"
    assert entry_point.load() is get_provider_info


def test_the_provider_info_is_valid_by_airflows_schema(info: dict[str, Any]) -> None:
    validate(info, "provider_info.schema.json")
    assert info["name"] == "Apache Flink (PyFlink SQL)"
    assert "Flink SQL" in info["description"]


def test_the_package_is_named_as_the_distribution_and_versioned_as_the_module(
    entry_point: importlib.metadata.EntryPoint, info: dict[str, Any]
) -> None:
    """The providers manager refuses a package-name other than the distribution's, and takes the version from it."""
    assert info["package-name"] == DISTRIBUTION
    assert entry_point.dist.version == __version__
    assert importlib.metadata.version(DISTRIBUTION) == __version__


def test_the_flink_connection_types_hook_is_importable_and_says_the_same(flink_connection: dict[str, Any]) -> None:
    assert flink_connection["connection-type"] == "flink"
    hook = import_string(flink_connection["hook-class-name"])
    assert issubclass(hook, BaseHook)
    assert (hook.conn_type, hook.hook_name) == ("flink", flink_connection["hook-name"])
    # Where Airflow's connection form and `airflow connections test` find the hook's connection id.
    assert getattr(hook(), hook.conn_name_attr) == hook.default_conn_name == "flink_default"


def test_the_connection_forms_behaviour_is_valid_and_names_real_fields(flink_connection: dict[str, Any]) -> None:
    behaviour = flink_connection["ui-field-behaviour"]
    # What the providers manager validates: the kebab-case keys as Python names.
    customized = {key.replace("-", "_"): value for key, value in behaviour.items()}
    validate(customized, "customized_form_field_behaviours.schema.json")
    named = {*behaviour["hidden-fields"], *behaviour["relabeling"], *behaviour["placeholders"]}
    assert sorted(named - CONNECTION_FIELDS) == []
    assert not set(behaviour["hidden-fields"]) & set(behaviour["relabeling"]), "a hidden field is not relabeled"


def test_the_hooks_and_operators_modules_are_importable(info: dict[str, Any]) -> None:
    [hooks] = info["hooks"]
    [operators] = info["operators"]
    assert hooks["python-modules"] == ["airflow_flink_sql.hooks.flink_sql"]
    assert operators["python-modules"] == ["airflow_flink_sql.operators.flink_sql"]
    assert issubclass(importlib.import_module(operators["python-modules"][0]).PyFlinkSqlOperator, BaseOperator)
    assert importlib.import_module(hooks["python-modules"][0]).PyFlinkSqlHook.conn_type == "flink"


def test_every_integration_named_is_declared_and_the_extra_link_is_an_operator_link(info: dict[str, Any]) -> None:
    integrations = {integration["integration-name"] for integration in info["integrations"]}
    assert {entry["integration-name"] for entry in [*info["hooks"], *info["operators"]]} <= integrations
    for link in info["extra-links"]:
        assert issubclass(import_string(link), BaseOperatorLink)
