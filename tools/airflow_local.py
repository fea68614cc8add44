"""Start and stop a local Airflow (api-server, scheduler, dag-processor, triggerer) with `airflow standalone`.

    python -m tools.airflow_local start [--port 8080]
    python -m tools.airflow_local stop
    python -m tools.airflow_local unpause DAG_ID...

Runs in the background in its own process group, with its log and pid file in
$AIRFLOW_HOME; configuration comes from the environment (the Makefile runs it under tools/local_env.py).
Used by `make airflow` / `make stop` and by the deployment tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools.processes import alive, group_members, wait_gone
from tools.waiting import WaitTimedOut, wait_for


class AirflowStandalone:
    def __init__(self, home: Path, *, port: int = 8080, env: dict[str, str] | None = None) -> None:
        self.home = Path(home).resolve()
        self.port = port
        env = {
            **(env or os.environ),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__API__PORT": str(port),
            # Task workers reach the api-server's execution API; its default URL assumes port 8080.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        }
        # standalone starts its components as `airflow ...` from PATH: make that this interpreter's airflow.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.env = env

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "standalone.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "standalone.log"

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=3) as response:
                health: dict[str, Any] = json.load(response)
                return health
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def start(self, timeout: float = 180) -> None:
        if self.pid_file.exists() and alive(int(self.pid_file.read_text())):
            raise RuntimeError(f"Airflow is already running (pid {self.pid_file.read_text().strip()}); stop it first")
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", "standalone"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))

        def healthy() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited with {process.returncode}; see {self.log_file}")
            health = self.health()
            components = ("metadatabase", "scheduler", "dag_processor", "triggerer")
            return health is not None and all(health.get(c, {}).get("status") == "healthy" for c in components)

        try:
            wait_for(healthy, f"Airflow to become healthy (see {self.log_file})", timeout)
        except WaitTimedOut:
            self.stop()
            raise

    def stop(self) -> None:
        """TERM reaches every component at once (they share the group) and each shuts down cleanly; then KILL."""
        if not self.pid_file.exists():
            return
        pid = int(self.pid_file.read_text())
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            if not wait_gone(group_members(pid), grace):
                break
        self.pid_file.unlink(missing_ok=True)

    def listed_dags(self) -> dict[str, bool]:
        """The DAGs the dag-processor has parsed into the metadata database, and whether each is paused."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "list", "--output", "json"],
            env=self.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        # Airflow may print a warning before the JSON on stdout.
        listed = json.loads(next(line for line in reversed(result.stdout.splitlines()) if line.startswith("[")))
        return {dag["dag_id"]: str(dag["is_paused"]).lower() == "true" for dag in listed}

    def unpause(self, *dag_ids: str, timeout: float = 300) -> None:
        """Unpause ``dag_ids`` once the dag-processor has parsed them: `airflow dags unpause` of a DAG it has not
        parsed yet changes nothing and exits 0 ("No paused DAGs were found"), so the DAG would stay paused."""

        def parsed() -> dict[str, bool] | None:
            listed = self.listed_dags()
            return listed if set(dag_ids) <= listed.keys() else None

        listed = wait_for(
            parsed,
            f"the dag-processor to parse {', '.join(dag_ids)} (see `airflow dags list-import-errors` and the "
            f"dag-processor's lines in {self.log_file})",
            timeout,
            every=2,
        )
        if paused := [dag_id for dag_id in dag_ids if listed[dag_id]]:
            # One command for them all: each `airflow` command costs seconds of start-up.
            pattern = "^(" + "|".join(re.escape(dag_id) for dag_id in paused) + ")$"
            subprocess.run(
                [sys.executable, "-m", "airflow", "dags", "unpause", pattern, "--treat-dag-id-as-regex", "--yes"],
                env=self.env, capture_output=True, text=True, check=True,
            )  # fmt: skip
        if still_paused := [dag_id for dag_id, paused in self.listed_dags().items() if dag_id in dag_ids and paused]:
            raise RuntimeError(f"{', '.join(still_paused)} still paused after `airflow dags unpause`")

    def admin_password(self) -> str | None:
        generated = self.home / "simple_auth_manager_passwords.json.generated"
        return json.loads(generated.read_text()).get("admin") if generated.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "unpause"])
    parser.add_argument("dag_ids", nargs="*", help="unpause: the DAGs to turn on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW__API__PORT", 8080)))
    args = parser.parse_args(argv)
    if args.command == "unpause" and not args.dag_ids:
        parser.error("unpause: name the DAGs to turn on")
    airflow = AirflowStandalone(Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser(), port=args.port)
    if args.command == "start":
        airflow.start()
        print(f"Airflow is up: {airflow.url}  (user admin, password {airflow.admin_password()})")
        print(f"Log: {airflow.log_file}; stop it with `make stop`.")
    elif args.command == "unpause":
        airflow.unpause(*args.dag_ids)
        print(f"Unpaused {', '.join(args.dag_ids)}")
    else:
        airflow.stop()
        print("Airflow stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
