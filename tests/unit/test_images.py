"""What the images are built from, read without building them: the Dockerfile installs what production imports
and the extensions as wheels, and every image runs the versions requirements.txt pins (the compose tier builds and
starts them)."""

from __future__ import annotations

import re
import tomllib

from tests.support import PROJECT_ROOT


def test_the_image_installs_what_production_imports() -> None:
    """The Dockerfile installs requirements.txt: lineage (the OpenLineage provider) included; each distribution
    declares the Airflow distributions it imports."""
    assert "-r /tmp/requirements.txt" in (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^apache-airflow-providers-openlineage==", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    for distribution in ("flink-sql", "report-kit"):
        project = tomllib.loads((PROJECT_ROOT / "plugins" / distribution / "pyproject.toml").read_text())["project"]
        assert any(d.startswith("apache-airflow-providers-common-compat") for d in project["dependencies"])


def test_the_image_installs_the_extensions_as_wheels() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "pip wheel --no-deps --wheel-dir /tmp/wheels /src/flink-sql /src/report-kit" in dockerfile
    assert "/tmp/wheels/*.whl" in dockerfile


def test_the_images_match_the_pinned_versions() -> None:
    """The official images by default, and the stand-ins, run the Flink and Airflow versions requirements.txt pins."""
    requirements = (PROJECT_ROOT / "requirements.txt").read_text()
    flink = re.search(r"apache-flink==(\S+)", requirements).group(1)
    airflow = re.search(r"^apache-airflow==(\S+)", requirements, re.M).group(1)
    compose_text = (PROJECT_ROOT / "docker-compose.yaml").read_text()
    assert set(re.findall(r"FLINK_IMAGE:-flink:(\S+?)-java17", compose_text)) == {flink}
    assert f"ARG AIRFLOW_IMAGE=apache/airflow:{airflow}-python3.11" in (PROJECT_ROOT / "Dockerfile").read_text()
    standin = PROJECT_ROOT / "docker" / "standins" / "airflow" / "Containerfile"
    assert f'"apache-airflow=={airflow}"' in standin.read_text()
