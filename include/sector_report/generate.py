"""Deterministic sample transactions in the seed tutorial's shape.

The seed drew stock and sector independently (Samsung Electronics as a biotech);
here each row draws a stock and takes that stock's sector from the universe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .run_folder import atomic_writer
from .transactions import ControlTotals
from .universe import Stock

# The seed's ranges: price 50,000-1,000,000 KRW with 2 decimals, volume 10-999.
PRICE_CENTS_RANGE = (5_000_000, 100_000_000)
VOLUME_RANGE = (10, 999)
# Bounds memory for large row counts; also keeps each chunk's int64 value sum far from overflow.
CHUNK_ROWS = 500_000


def generate_transactions(
    path: Path,
    *,
    rows: int,
    seed: int,
    logical_date: dt.date,
    universe: Sequence[Stock],
) -> ControlTotals:
    """Write ``rows`` headerless CSV rows dated ``logical_date`` and return their control totals.

    The same (seed, logical_date) always gives the same file; different dates differ.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    rng = np.random.default_rng([seed, logical_date.toordinal()])
    prefixes = np.array([f"{stock.stock_code},{stock.sector}," for stock in universe], dtype=object)
    date_suffix = f",{logical_date.isoformat()}\n"
    totals = ControlTotals()
    with atomic_writer(path, newline="") as out:
        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            stock_index = rng.integers(0, len(universe), n)
            price_cents = rng.integers(PRICE_CENTS_RANGE[0], PRICE_CENTS_RANGE[1], n, endpoint=True)
            volume = rng.integers(VOLUME_RANGE[0], VOLUME_RANGE[1], n, endpoint=True)
            totals.rows += n
            totals.total_volume += int(volume.sum())
            totals.total_value_cents += int((price_cents * volume).sum())
            out.writelines(
                f"{prefix}{cents // 100}.{cents % 100:02d},{vol}{date_suffix}"
                for prefix, cents, vol in zip(prefixes[stock_index], price_cents.tolist(), volume.tolist(), strict=True)
            )
    return totals
