"""The stock universe: which stock belongs to which sector, with display names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DEFAULT_UNIVERSE = Path(__file__).resolve().parents[1] / "reference" / "stock_universe.csv"


@dataclass(frozen=True)
class Stock:
    stock_code: str
    sector: str
    name_ko: str
    name_en: str


def load_universe(path: Path = DEFAULT_UNIVERSE) -> list[Stock]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Stock(**row) for row in csv.DictReader(handle)]
