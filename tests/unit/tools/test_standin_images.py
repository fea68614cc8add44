"""What names a stand-in image (the digest of its inputs and of its build context), and the stand-in images' env
file: the images are set in it, and what else it holds (the JWT secret) is kept. No podman here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import standin_images
from tools.standin_images import (
    COMPOSE_VARIABLES,
    PROJECT_ROOT,
    STANDINS,
    context_of,
    digest,
    tree_bytes,
    with_variables,
)

IMAGES = {variable: f"localhost/sector-report-standin-{name}:new" for name, variable in COMPOSE_VARIABLES.items()}


def test_the_images_are_set_and_every_other_line_is_kept() -> None:
    previous = (
        "# written by make standin-images\n"
        "POSTGRES_IMAGE=localhost/sector-report-standin-postgres:old\n"
        "AIRFLOW_JWT_SECRET=s3cret=with=equals\n"
        "FLINK_IMAGE=localhost/sector-report-standin-flink:old\n"
    )
    assert with_variables(previous, IMAGES) == (
        "# written by make standin-images\n"
        f"POSTGRES_IMAGE={IMAGES['POSTGRES_IMAGE']}\n"
        "AIRFLOW_JWT_SECRET=s3cret=with=equals\n"
        f"FLINK_IMAGE={IMAGES['FLINK_IMAGE']}\n"
        f"AIRFLOW_IMAGE={IMAGES['AIRFLOW_IMAGE']}\n"
    )


def test_a_variable_set_twice_is_set_once_and_a_second_run_changes_nothing() -> None:
    once = with_variables("AIRFLOW_IMAGE=a\nAIRFLOW_IMAGE=b\nAIRFLOW_JWT_SECRET=x", IMAGES)
    assert once.count("AIRFLOW_IMAGE=") == 1
    assert "AIRFLOW_JWT_SECRET=x\n" in once
    assert with_variables(once, IMAGES) == once


def test_main_keeps_the_secret_appended_to_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/deployment.md has you do: `make standin-images`, append the secret, run it again later."""
    monkeypatch.setattr(standin_images, "standin_images", lambda: IMAGES)
    env_file = tmp_path / ".standins.env"
    standin_images.main(["--env-file", str(env_file)])
    with env_file.open("a") as appended:
        appended.write("AIRFLOW_JWT_SECRET=0123abcd\n")
    standin_images.main(["--env-file", str(env_file)])
    assert env_file.read_text().splitlines() == [
        *(f"{k}={v}" for k, v in IMAGES.items()),
        "AIRFLOW_JWT_SECRET=0123abcd",
    ]


def test_a_digest_is_short_stable_and_sees_each_part() -> None:
    named = digest(b"bookworm", b"http://deb.debian.org/debian")
    assert re.fullmatch(r"[0-9a-f]{16}", named)
    assert named == digest(b"bookworm", b"http://deb.debian.org/debian")
    assert named != digest(b"http://deb.debian.org/debian", b"bookworm"), "the order counts"
    assert digest(b"ab", b"c") != digest(b"a", b"bc"), "where one part ends counts"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_trees_bytes_are_its_files_names_and_contents_in_a_stable_order(tmp_path: Path) -> None:
    files = {"Containerfile": "FROM base\n", "bin/entrypoint": "#!/bin/sh\n", "a.txt": "a"}
    one = write(tmp_path / "one", files)
    other = write(tmp_path / "other", dict(reversed(files.items())))
    assert tree_bytes(one) == tree_bytes(other)
    assert b"bin/entrypoint\0#!/bin/sh\n" in tree_bytes(one)
    assert tree_bytes(write(other, {"a.txt": "b"})) != tree_bytes(one), "a content counts"
    (other / "a.txt").rename(other / "b.txt")
    write(other, {"b.txt": "a"})
    assert tree_bytes(other) != tree_bytes(one), "a name counts"


def test_pythons_caches_and_build_records_are_left_out_of_a_tree(tmp_path: Path) -> None:
    source = write(tmp_path / "dist", {"src/pkg/mod.py": "x = 1\n"})
    clean = tree_bytes(source)
    write(source, {"src/pkg/__pycache__/mod.cpython-311.pyc": "\0", "src/pkg.egg-info/PKG-INFO": "Name: pkg\n"})
    assert tree_bytes(source) == clean


def files_of(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")}


def test_a_stand_ins_context_is_its_folder_and_for_airflow_the_pins(tmp_path: Path) -> None:
    context_of("postgres", tmp_path / "postgres")
    assert tree_bytes(tmp_path / "postgres") == tree_bytes(STANDINS / "postgres")
    airflow = tmp_path / "airflow"
    context_of("airflow", airflow)
    assert files_of(airflow) == files_of(STANDINS / "airflow") | {"constraints.txt"}
    assert (airflow / "constraints.txt").read_bytes() == (PROJECT_ROOT / "constraints.txt").read_bytes()
