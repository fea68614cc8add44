"""Deterministic sample transactions in the seed tutorial's shape.

The seed drew stock and sector independently (Samsung Electronics as a biotech);
here each row draws a stock and takes that stock's sector from the universe.
Rows are drawn and written in vectorised batches; the draws are the same as they were
row by row, so a (seed, date) still gives the same transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_writer
from ..layout import RunFolder
from ..transactions import ControlTotals
from ..universe import Stock
from . import csv_bytes
from .landed_input import TransactionBatch, add_batch, landed_input

# The seed's ranges: price 50,000-1,000,000 KRW with 2 decimals, volume 10-999.
PRICE_CENTS_RANGE = (5_000_000, 100_000_000)
VOLUME_RANGE = (10, 999)
# Bounds memory for large row counts.
CHUNK_ROWS = 500_000


def generate_batches(
    *, rows: int, seed: int, logical_date: dt.date, universe: Sequence[Stock]
) -> Iterator[TransactionBatch]:
    """``rows`` transactions dated ``logical_date``; the same (seed, logical_date) always gives the same ones."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    rng = np.random.default_rng([seed, logical_date.toordinal()])
    sectors = list(dict.fromkeys(stock.sector for stock in universe))
    sector_of_stock = np.array([sectors.index(stock.sector) for stock in universe])
    stock_codes = [stock.stock_code for stock in universe]
    for start in range(0, rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, rows - start)
        stock_index = rng.integers(0, len(universe), n)
        yield TransactionBatch(
            stock_code_index=stock_index,
            stock_codes=stock_codes,
            sector_index=sector_of_stock[stock_index],
            sectors=sectors,
            # dtype: the default, int64, spelt out: without it numpy's stubs type the draws as bools.
            price_cents=rng.integers(PRICE_CENTS_RANGE[0], PRICE_CENTS_RANGE[1], n, dtype=np.int64, endpoint=True),
            volume=rng.integers(VOLUME_RANGE[0], VOLUME_RANGE[1], n, dtype=np.int64, endpoint=True),
            date_index=np.zeros(n, dtype=np.int8),
            dates=[logical_date.isoformat()],
        )


def generate_transactions(
    run: RunFolder, *, rows: int, seed: int, logical_date: dt.date, universe: Sequence[Stock]
) -> ControlTotals:
    """Write generated transactions as the run's landed input and return their control totals."""
    with landed_input(run) as landed:
        for batch in generate_batches(rows=rows, seed=seed, logical_date=logical_date, universe=universe):
            landed.write(batch)
    return landed.control


def write_seed_csv(path: Path, batches: Iterable[TransactionBatch]) -> ControlTotals:
    """Transactions as an export in the seed's format, to land with ``source=file``.

    Headerless ``stock_code,sector,price,volume,transaction_date``, price in KRW with two decimals.
    """
    control = ControlTotals()
    with atomic_writer(path, binary=True) as out:
        for batch in batches:
            add_batch(control, batch.price_cents, batch.volume)
            fields: list[csv_bytes.Field] = [
                csv_bytes.Texts(batch.stock_codes, batch.stock_code_index),
                csv_bytes.Texts(batch.sectors, batch.sector_index),
                csv_bytes.Cents(batch.price_cents),
                csv_bytes.Digits(batch.volume, pad=False),
                csv_bytes.Texts(batch.dates, batch.date_index),
            ]
            # .data: numpy's stubs declare an array a Buffer only from Python 3.12; the bytes written are the same.
            out.write(csv_bytes.csv_lines(fields, len(batch), compact=True).data)
    return control
