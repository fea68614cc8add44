"""docker-compose.yaml brought up on podman: its Docker API, the images, healthchecks, and the way down.

Debian's docker-compose (v1) drives podman through the Docker API that ``podman system service`` serves on a
socket in the work folder. Without systemd (this machine, most CI runners), podman does not run containers'
healthchecks by itself, and compose waits on them (``service_healthy``): the stack runs them every few seconds
(``podman healthcheck run``) for as long as it is up. The Airflow image is built once per content of what it is
built from (the Dockerfile, the pins, the distributions, the base image) and reused after that.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

from tools.processes import alive, free_port, wait_gone
from tools.standin_images import digest, image_exists, remove_older, tree_bytes
from tools.waiting import WaitTimedOut, wait_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
HEALTHCHECK_EVERY_SECONDS = 3
# The services with a healthcheck (docker-compose.yaml).
HEALTHCHECKED = ("postgres", "airflow-apiserver", "flink-jobmanager")


class ComposeStack:
    def __init__(self, workdir: Path, *, project: str, env: dict[str, str], files: tuple[Path, ...] = ()) -> None:
        """``env``: docker-compose.yaml's variables (images, ports, secrets); ``files``: override files."""
        self.workdir = Path(workdir).resolve()
        self.project = project
        self.files = (COMPOSE_FILE, *files)
        self.socket = self.workdir / "podman.sock"
        self.env = {**os.environ, **env, "DOCKER_HOST": f"unix://{self.socket}", "COMPOSE_PROJECT_NAME": project}
        self._healthchecks: threading.Thread | None = None
        self._up = threading.Event()

    @property
    def service_pid_file(self) -> Path:
        return self.workdir / "podman-service.pid"

    # -- podman's Docker API ---------------------------------------------------------------------------------
    def start_engine(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.service_pid_file.exists() and alive(int(self.service_pid_file.read_text())):
            return
        self.socket.unlink(missing_ok=True)
        service_log = self.workdir / "podman-service.log"
        with service_log.open("ab") as log:
            process = subprocess.Popen(
                ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.service_pid_file.write_text(str(process.pid))

        def serving() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"podman's Docker API exited with {process.returncode}: see {service_log}")
            return self.socket.exists()

        wait_for(serving, f"podman's Docker API on {self.socket} (see {service_log})", timeout, every=0.2)

    def stop_engine(self) -> None:
        if not self.service_pid_file.exists():
            return
        pid = int(self.service_pid_file.read_text())
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
            wait_gone([pid], 30)
        self.service_pid_file.unlink()

    # -- compose -----------------------------------------------------------------------------------------------
    def compose(self, *args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["docker-compose", *(arg for f in self.files for arg in ("-f", str(f))), *args]
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"`{' '.join(command[-len(args) :])}` failed:\n{result.stderr[-4000:]}")
        return result

    def build(self) -> str:
        """The Airflow image, built unless one of the same inputs exists; its name."""
        if not self.env.get("SECTOR_REPORT_IMAGE"):
            self.env["SECTOR_REPORT_IMAGE"] = airflow_image_name(self.env.get("AIRFLOW_IMAGE", ""))
        image = self.env["SECTOR_REPORT_IMAGE"]
        if not image_exists(image):
            self.compose("build", "airflow-init")
            remove_older(image)
        return image

    def up(self, timeout: float = 900) -> None:
        """Bring every service up and wait for each healthcheck to pass."""
        self.start_engine()
        self.build()
        self._run_healthchecks()
        self.compose("up", "-d", timeout=timeout)
        self.wait_healthy(timeout)

    def down(self, *, volumes: bool = False) -> None:
        self._up.clear()
        self.compose("down", *(["-v"] if volumes else []), check=False)
        if self._healthchecks:
            self._healthchecks.join()
            self._healthchecks = None

    def restart(self, service: str) -> None:
        self.compose("restart", service)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-q", service).stdout.split()
        if len(ids) != 1:
            raise RuntimeError(f"expected one {service} container, found {ids}")
        return ids[0]

    def health(self, service: str) -> str:
        result = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Health.Status}}", self.container(service)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    def wait_healthy(self, timeout: float = 600) -> None:
        def unhealthy() -> list[str]:
            return [service for service in HEALTHCHECKED if self.health(service) != "healthy"]

        try:
            wait_for(lambda: not unhealthy(), f"the healthchecks of {', '.join(HEALTHCHECKED)} to pass", timeout)
        except WaitTimedOut as timed_out:
            raise WaitTimedOut(f"{timed_out}; not healthy: {', '.join(unhealthy())}") from None

    def read_file(self, service: str, path: str) -> bytes:
        """A file of a service's container. Copied out (``podman cp``), not read by ``exec``: an exec session
        leaves its monitor process (conmon) behind for five minutes."""
        copied = subprocess.run(["podman", "cp", f"{self.container(service)}:{path}", "-"], capture_output=True,
                                check=True)  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as archive:
            member = archive.extractfile(archive.getmembers()[0])
            if member is None:
                raise RuntimeError(f"{path} in {service} is not a file")
            return member.read()

    def volumes(self) -> list[str]:
        return self._podman_names("volume", "ls")

    def _podman_names(self, *command: str) -> list[str]:
        """The names of this project's containers (``ps``) or volumes (``volume ls``)."""
        label = f"label=com.docker.compose.project={self.project}"
        field = "{{.Names}}" if command == ("ps",) else "{{.Name}}"
        result = subprocess.run(["podman", *command, "--format", field, "--filter", label],
                                capture_output=True, text=True, check=False)  # fmt: skip
        return result.stdout.split()

    def _run_healthchecks(self) -> None:
        """What systemd's timers do for podman elsewhere: each container's healthcheck, every few seconds."""
        self._up.set()
        if self._healthchecks:
            return

        def loop() -> None:
            while self._up.is_set():
                for name in self._podman_names("ps"):
                    if any(name.startswith(f"{self.project}_{service}_") for service in HEALTHCHECKED):
                        subprocess.run(["podman", "healthcheck", "run", name], capture_output=True, check=False)
                time.sleep(HEALTHCHECK_EVERY_SECONDS)

        self._healthchecks = threading.Thread(target=loop, name="podman-healthchecks", daemon=True)
        self._healthchecks.start()


def airflow_image_name(base: str) -> str:
    """The project's Airflow image, named by what it is built from."""
    inputs = [(PROJECT_ROOT / name).read_bytes() for name in ("Dockerfile", "requirements.txt", "constraints.txt")]
    distributions = [tree_bytes(PROJECT_ROOT / "plugins" / name) for name in ("flink-sql", "report-kit")]
    return f"localhost/sector-report-airflow:{digest(base.encode(), *inputs, *distributions)}"


def stack_env(workdir: Path, images: dict[str, str]) -> dict[str, str]:
    """docker-compose.yaml's variables for a stack of its own in ``workdir``: free ports, its own secret and
    incoming folder; kept in ``workdir``/stack.json so that a later command finds the same stack."""
    saved = workdir / "stack.json"
    if saved.exists():
        kept: dict[str, str] = json.loads(saved.read_text())
        return kept
    (workdir / "incoming").mkdir(parents=True, exist_ok=True)
    env = {
        **images,
        "AIRFLOW_PORT": str(free_port()),
        "FLINK_PORT": str(free_port()),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "SECTOR_REPORT_INCOMING": str(workdir / "incoming"),
    }
    saved.write_text(json.dumps(env, indent=2))
    return env
