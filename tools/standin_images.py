"""Build local stand-ins for the images docker-compose.yaml names, on a machine that cannot pull them.

    python -m tools.standin_images [--env-file .standins.env]

A Debian bookworm base from ``debootstrap`` (``podman import``), then ``docker/standins/<name>/Containerfile``
on it for postgres, flink and airflow. Each image is tagged with a digest of what it is built from and is
built only when no image has that tag, so a second run reuses them all. The env file names them as
docker-compose.yaml's ``POSTGRES_IMAGE``, ``FLINK_IMAGE`` and ``AIRFLOW_IMAGE``; its other lines (the
``AIRFLOW_JWT_SECRET`` docs/deployment.md has you append, comments) are kept as they were.

Needs root, podman and debootstrap (``make test-system-deps`` installs them).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STANDINS = PROJECT_ROOT / "docker" / "standins"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Inside a container, HTTPS to the package index needs this machine's CA bundle (Debian's own fails here):
# the base carries it, and the airflow stand-in's pip uses it (PIP_CERT).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_CA_BUNDLE = "usr/local/share/host-ca/ca-certificates.crt"
REPOSITORY = "localhost/sector-report-standin"
# docker-compose.yaml's variable for each stand-in.
COMPOSE_VARIABLES = {"postgres": "POSTGRES_IMAGE", "flink": "FLINK_IMAGE", "airflow": "AIRFLOW_IMAGE"}


def digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:16]


def tree_bytes(folder: Path) -> bytes:
    """A folder's file names and contents, in a stable order; Python's caches and build records left out."""
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part == "__pycache__" or part.endswith(".egg-info") for part in p.parts)
    )  # fmt: skip
    return b"".join(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() for p in files)


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def remove_older(ref: str) -> None:
    """Remove the images of ``ref``'s repository with other tags (built from inputs since changed), and the
    layers nothing names any more: each stand-in keeps one image."""
    repository = ref.rsplit(":", 1)[0]
    listed = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", repository],
                            capture_output=True, text=True, check=True)  # fmt: skip
    older = [image for image in listed.stdout.split() if image != ref]
    if older:
        subprocess.run(["podman", "rmi", "--force", *older], check=False, capture_output=True)
    subprocess.run(["podman", "image", "prune", "--force"], check=False, capture_output=True)


def base_image() -> str:
    """The Debian base, from debootstrap, with this machine's CA bundle."""
    ref = f"{REPOSITORY}-debian:{SUITE}-{digest(SUITE.encode(), MIRROR.encode(), HOST_CA_BUNDLE.read_bytes())}"
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="standin-debian-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        (rootfs / BASE_CA_BUNDLE).parent.mkdir(parents=True)
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / BASE_CA_BUNDLE)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "-", ref], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise RuntimeError(f"tar of {rootfs} failed")
    remove_older(ref)
    return ref


def flink_distribution() -> Path:
    """The Flink distribution that the installed PyFlink wheel ships."""
    import pyflink

    return Path(pyflink.__file__).parent


def context_of(name: str, folder: Path) -> None:
    """Fill ``folder`` with the build context of the ``name`` stand-in."""
    shutil.copytree(STANDINS / name, folder, dirs_exist_ok=True)
    if name == "flink":
        distribution = flink_distribution()
        for part in ("bin", "conf", "lib", "opt", "plugins"):
            shutil.copytree(distribution / part, folder / "flink" / part)
    if name == "airflow":
        shutil.copyfile(PROJECT_ROOT / "constraints.txt", folder / "constraints.txt")


def standin_image(name: str, base: str) -> str:
    """The ``name`` stand-in, built on ``base`` unless an image of the same inputs exists."""
    with tempfile.TemporaryDirectory(prefix=f"standin-{name}-") as tmp:
        context = Path(tmp)
        context_of(name, context)
        ref = f"{REPOSITORY}-{name}:{digest(base.encode(), tree_bytes(context))}"
        if not image_exists(ref):
            started = time.monotonic()
            subprocess.run(
                ["podman", "build", "--build-arg", f"BASE_IMAGE={base}", "-t", ref, "-f", "Containerfile", "."],
                cwd=context, check=True,
            )  # fmt: skip
            print(f"Built {ref} in {time.monotonic() - started:.0f} s", file=sys.stderr)
            remove_older(ref)
    return ref


def standin_images() -> dict[str, str]:
    """Every stand-in, built or reused, by the docker-compose.yaml variable that names it."""
    base = base_image()
    return {variable: standin_image(name, base) for name, variable in COMPOSE_VARIABLES.items()}


def with_variables(env_text: str, values: dict[str, str]) -> str:
    """``env_text`` (an env file's text) with each of ``values`` set: its line replaced where the file sets it,
    added at the end where not. Every other line stays as it was: the file also holds what compose needs
    besides the images (``AIRFLOW_JWT_SECRET``), which a rewrite would lose."""
    lines, written = [], set()
    for line in env_text.splitlines():
        name = line.partition("=")[0].strip()
        if "=" in line and name in values:
            if name not in written:
                lines.append(f"{name}={values[name]}")
                written.add(name)
        else:
            lines.append(line)
    lines += [f"{name}={value}" for name, value in values.items() if name not in written]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--env-file", type=Path, help="set the images as docker-compose.yaml's variables here, keeping its other lines"
    )
    args = parser.parse_args(argv)
    images = standin_images()
    if args.env_file:
        previous = args.env_file.read_text() if args.env_file.exists() else ""
        args.env_file.write_text(with_variables(previous, images))
    print("\n".join(f"{variable}={ref}" for variable, ref in images.items()))


if __name__ == "__main__":
    main()
