"""plugins/ is safe as Airflow's plugins folder (Airflow's docker-compose and Astro projects mount it there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import PROJECT_ROOT

PLUGINS = PROJECT_ROOT / "plugins"


def test_airflow_lists_its_plugins_with_the_repositorys_plugins_folder() -> None:
    """Without plugins/.airflowignore, Airflow imports the job's ``__main__.py`` as ``__main__``: exit 2."""
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "plugins", "--output", "json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    plugins = json.loads(result.stdout)
    assert "report_kit" in {plugin["name"] for plugin in plugins}, "the report kit, from its entry point"
    assert all(plugin["source"] and "$PLUGINS_FOLDER" not in plugin["source"] for plugin in plugins), plugins
