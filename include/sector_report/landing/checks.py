"""Check records a block at a time, and decide each row exactly as :func:`~.transactions.parse_row` would.

A row is accepted here without Python touching it only when it certainly passes ``parse_row``
with the same values; every other row goes through ``parse_row`` itself, which accepts it or
gives the reason it is quarantined with. So the vectorised checks may be stricter than the
contract, never looser:

- stock code, sector and date repeat, so each distinct value is checked once, by the
  contract's own rules (``str.strip``, ``parse_date``);
- a typed price must be a non-null decimal in ``0..MAX_PRICE``; Arrow's decimal parser accepts
  a subset of what ``Decimal`` does (it trims only spaces and tabs, refuses ``NaN`` and
  ``Infinity``) and refuses more than two decimals it cannot drop exactly;
- a typed volume must be a non-null integer in ``1..MAX_VOLUME`` (Arrow's unsigned parser takes
  ASCII digits only, with spaces and tabs trimmed);
- as texts, price and volume must be plain ASCII digits (``^[0-9]{1,16}(\\.[0-9]{1,2})?$``,
  ``^[0-9]{1,10}$``), which ``Decimal`` and ``int`` read the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from ..transactions import MAX_PRICE_CENTS, MAX_VOLUME, RowRejected, parse_date, parse_row, to_cents
from .landed_input import TransactionBatch
from .records import Records

PRICE_TEXT = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
VOLUME_TEXT = r"^[0-9]{1,10}$"
_PRICE = pa.decimal128(18, 2)

Rejected = tuple[int, str, str]  # line, reason, record as the fields joined by commas


def check_records(records: Records) -> tuple[TransactionBatch, list[Rejected]]:
    """The valid rows of ``records`` as a batch (in their order), and the others with their reasons."""
    table = records.columns
    codes = _Dictionary(table["stock_code"], _text)
    sectors = _Dictionary(table["sector"], _text)
    dates = _Dictionary(table["transaction_date"], _iso_date)
    price_cents, price_ok = _price_cents(table["price"])
    volume, volume_ok = _volume(table["volume"])
    valid = codes.valid & sectors.valid & dates.valid & price_ok & volume_ok

    rejected = [(line, _reason(fields), ",".join(fields)) for line, fields in records.irregular]
    recheck: list[int] = np.flatnonzero(~valid).tolist()
    for row, (line, fields) in zip(recheck, records.raw(recheck), strict=True):
        try:
            transaction = parse_row(fields)
        except RowRejected as reason:
            rejected.append((line, str(reason), ",".join(fields)))
            continue
        valid[row] = True
        codes.index[row] = codes.add(transaction.stock_code)
        sectors.index[row] = sectors.add(transaction.sector)
        dates.index[row] = dates.add(transaction.transaction_date.isoformat())
        price_cents[row] = to_cents(transaction.price)
        volume[row] = transaction.volume
    rejected.sort(key=lambda item: item[0])
    batch = TransactionBatch(
        stock_code_index=codes.index[valid],
        stock_codes=codes.values,
        sector_index=sectors.index[valid],
        sectors=sectors.values,
        price_cents=price_cents[valid],
        volume=volume[valid],
        date_index=dates.index[valid],
        dates=dates.values,
    )
    return batch, rejected


def _reason(fields: list[str]) -> str:
    try:
        parse_row(fields)
    except RowRejected as reason:
        return str(reason)
    raise AssertionError(f"a record with {len(fields)} fields passed parse_row")


def _text(value: str) -> str | None:
    return value.strip() or None


def _iso_date(value: str) -> str | None:
    try:
        return parse_date(value.strip()).isoformat()
    except RowRejected:
        return None


class _Dictionary:
    """A text column as each row's index into its distinct normalised values, and whether the row's value is valid."""

    def __init__(self, column: pa.ChunkedArray, normalise: Callable[[str], str | None]):
        self.values: list[str] = []
        self._positions: dict[str, int] = {}
        checked: dict[str, int] = {}  # raw value -> position of its normalised value, -1 if invalid

        def position(raw: str) -> int:
            if raw not in checked:
                normalised = normalise(raw)
                checked[raw] = -1 if normalised is None else self.add(normalised)
            return checked[raw]

        encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
        rows = [
            np.array([position(raw) for raw in chunk.dictionary.to_pylist()], dtype=np.int64)[
                chunk.indices.to_numpy(zero_copy_only=False)
            ]
            for chunk in encoded.chunks
        ]
        self.index: NDArray[np.int64] = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.valid = self.index >= 0

    def add(self, value: str) -> int:
        if value not in self._positions:
            self._positions[value] = len(self.values)
            self.values.append(value)
        return self._positions[value]


def _price_cents(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    if column.type == pa.string():
        plain = pc.match_substring_regex(column, PRICE_TEXT)
        column = pc.cast(pc.if_else(plain, column, "0"), _PRICE)
    else:
        plain = None
    prices = column.combine_chunks()
    # A decimal128 is a little-endian 128-bit count of cents: low and high 64-bit words.
    words = np.frombuffer(prices.buffers()[1], dtype="<i8")[2 * prices.offset : 2 * (prices.offset + len(prices))]
    low, high = words[0::2], words[1::2]
    ok = _valid(prices) & (high == 0) & (low >= 0) & (low <= MAX_PRICE_CENTS)
    if plain is not None:
        ok &= _filled(plain)
    return np.where(ok, low, 0), ok


def _volume(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    plain: NDArray[np.bool_] | bool  # True for a typed column: Arrow's unsigned parser took digits only
    if column.type == pa.string():
        plain = _filled(pc.match_substring_regex(column, VOLUME_TEXT))
        column = pc.cast(pc.if_else(plain, column, "0"), pa.int64())
    else:
        plain = True
    volumes = column.combine_chunks()
    values = volumes.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    ok = plain & _valid(volumes) & (values >= 1) & (values <= MAX_VOLUME)
    return np.where(ok, values, 0), ok


def _valid(array: pa.Array) -> NDArray[np.bool_]:
    return _filled(array.is_valid())


def _filled(mask: pa.Array | pa.ChunkedArray) -> NDArray[np.bool_]:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
