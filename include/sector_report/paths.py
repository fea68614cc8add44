"""Where the package's folders are: the project, its include/ folder, and the data folder (SECTOR_REPORT_DATA_DIR,
else data/ in the project). Read without checking any other setting, so that tools which only need a folder (the
local environment `make` runs commands in) keep working while another setting is wrong."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
DATA_ROOT = Path(os.environ.get("SECTOR_REPORT_DATA_DIR") or PROJECT_ROOT / "data")
