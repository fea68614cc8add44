"""Benchmarks of the nightly report's Flink job and its peers: run each as ``python -m benchmarks.<name>``."""

import sys
from pathlib import Path

# The operator's package is imported the way Airflow imports plugins: with plugins/ on sys.path.
_PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
if _PLUGINS not in sys.path:
    sys.path.append(_PLUGINS)
