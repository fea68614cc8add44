"""The landed input: the checked transactions of one run, in the form the Flink job reads cheapest.

``input/transactions.csv`` holds one headerless line per transaction with only numbers and a
date: ``stock_id,price_cents,volume,transaction_date``; ``input/stocks.csv`` names each
``stock_id``: ``stock_id,stock_code,sector``. Parsing integers instead of decimal prices and
repeated names, and grouping by an integer, is what makes the Flink job fast (measured in
``benchmarks/results/flink_profile.md``). Money stays exact: prices are whole cents, and the
writer refuses a day whose total value would overflow the job's BIGINT sums.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from ..atomic_files import atomic_writer
from ..errors import InputFileError
from ..layout import RunFolder
from ..transactions import MAX_TOTAL_VALUE_CENTS, ControlTotals, from_cents
from . import csv_bytes

# A dense lookup table over (stock, sector) index pairs is used up to this many cells.
_MAX_PAIR_TABLE = 1 << 22


# Limbs small enough that a column of them sums in int64 without overflow (for < 2**32 rows).
_LIMB_BITS = 30
_SPLIT_BITS = 31


def value_cents(price_cents: NDArray[np.integer[Any]], volume: NDArray[np.integer[Any]]) -> int:
    """Exact ``sum(price_cents * volume)`` for prices up to ``MAX_PRICE_CENTS`` and volumes up to ``MAX_VOLUME``.

    A product can reach 2**91, so each price is split into two 30-bit limbs and each
    limb's product (< 2**61) into 31-bit halves; every column of halves sums in int64.
    """
    price = price_cents.astype(np.int64, copy=False)
    volume = volume.astype(np.int64, copy=False)
    if len(price) and int(price.max()) * int(volume.max()) * len(price) < 2**63:
        return int(np.dot(price, volume))  # no product or partial sum can overflow
    total = 0
    for shift, limb in ((0, price & (2**_LIMB_BITS - 1)), (_LIMB_BITS, price >> _LIMB_BITS)):
        product = limb * volume
        low = int((product & (2**_SPLIT_BITS - 1)).sum(dtype=np.int64))
        high = int((product >> _SPLIT_BITS).sum(dtype=np.int64))
        total += (low + (high << _SPLIT_BITS)) << shift
    return total


def add_batch(control: ControlTotals, price_cents: NDArray[np.integer[Any]], volume: NDArray[np.integer[Any]]) -> None:
    """Add many rows to ``control`` at once, exactly: numpy's int64 would overflow on the products."""
    # < 2**31 per row: the volume sums exactly in int64 below 2**32 rows.
    control.add_many(len(price_cents), int(volume.sum(dtype=np.int64)), value_cents(price_cents, volume))


@dataclass(frozen=True)
class TransactionBatch:
    """Valid transactions, with the repeated texts dictionary-encoded: ``stock_codes[stock_code_index[i]]``."""

    stock_code_index: NDArray[np.integer[Any]]
    stock_codes: Sequence[str]
    sector_index: NDArray[np.integer[Any]]
    sectors: Sequence[str]
    price_cents: NDArray[np.int64]
    volume: NDArray[np.int64]
    date_index: NDArray[np.integer[Any]]
    dates: Sequence[str]  # ISO YYYY-MM-DD

    def __len__(self) -> int:
        return len(self.price_cents)


class LandedInput:
    """Writes batches into the landed input and counts their control totals, independently of Flink."""

    def __init__(self, out: IO[bytes]):
        self.control = ControlTotals()
        self.stock_ids: dict[tuple[str, str], int] = {}
        self._out = out

    def write(self, batch: TransactionBatch) -> None:
        if not len(batch):
            return
        add_batch(self.control, batch.price_cents, batch.volume)
        fields: list[csv_bytes.Field] = [
            csv_bytes.Digits(self._stock_ids_of(batch)),
            csv_bytes.Digits(batch.price_cents),
            csv_bytes.Digits(batch.volume),
            csv_bytes.Texts(batch.dates, batch.date_index),
        ]
        # .data: numpy's stubs declare an array a Buffer only from Python 3.12; the bytes written are the same.
        self._out.write(csv_bytes.csv_lines(fields, len(batch)).data)

    def _stock_ids_of(self, batch: TransactionBatch) -> NDArray[np.int64]:
        """Each row's stock id; a (stock code, sector) pair not seen before gets the next number."""
        sectors = len(batch.sectors)
        pair = batch.stock_code_index.astype(np.int64) * sectors + batch.sector_index
        pairs = len(batch.stock_codes) * sectors
        if pairs <= _MAX_PAIR_TABLE:  # a lookup table over every possible pair is cheaper than sorting
            seen = np.zeros(pairs, dtype=bool)
            seen[pair] = True
            present = np.flatnonzero(seen)
            position = np.empty(pairs, dtype=np.int64)
            position[present] = np.arange(len(present))
            inverse: NDArray[np.intp] = position[pair]  # each row's index into present
        else:
            present, inverse = np.unique(pair, return_inverse=True)
        ids = np.array(
            [self._stock_id(batch, key // sectors, key % sectors) for key in present.tolist()], dtype=np.int64
        )
        return ids[inverse]

    def _stock_id(self, batch: TransactionBatch, code: int, sector: int) -> int:
        return self.stock_ids.setdefault((batch.stock_codes[code], batch.sectors[sector]), len(self.stock_ids))

    def check_total(self) -> None:
        if self.control.total_value_cents > MAX_TOTAL_VALUE_CENTS:
            raise InputFileError(
                f"The input's total value, {from_cents(self.control.total_value_cents):,} KRW over "
                f"{self.control.rows:,} rows, exceeds what the Flink job sums exactly "
                f"({from_cents(MAX_TOTAL_VALUE_CENTS):,} KRW, BIGINT cents); nothing was landed."
            )


@contextmanager
def landed_input(run: RunFolder) -> Iterator[LandedInput]:
    """Write the run's landed input: visible only whole, and only if its total fits the job's sums."""
    with atomic_writer(run.transactions_csv, binary=True) as out:
        landed = LandedInput(out)
        yield landed
        landed.check_total()
    with atomic_writer(run.stocks_csv, newline="") as out:
        # Every text quoted: a name may hold a comma, a quote or even a line break.
        csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(
            (stock_id, code, sector) for (code, sector), stock_id in landed.stock_ids.items()
        )
