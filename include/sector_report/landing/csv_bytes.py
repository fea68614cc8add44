"""CSV lines as bytes, built a column at a time with numpy instead of one Python string per row.

All lines of a batch are rows of one byte matrix; each field owns a fixed-width slice of it,
with the commas and the newline between. Numbers are right-aligned; where a value is narrower
than its field, the gap is zero-padding (``0042`` parses as 42, and fixed-width lines are the
fastest to write) or ``FILL``, a byte that never occurs in UTF-8 text, which ``csv_lines(...,
compact=True)`` drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FILL = 0xFF  # never a byte of UTF-8 text
_GROUP = 4  # digits per lookup: a uint32 of four ASCII digits
_GROUPS = np.array([list(f"{i:0{_GROUP}d}".encode()) for i in range(10**_GROUP)], dtype=np.uint8).view("<u4").ravel()
_POWERS = 10 ** np.arange(1, 19, dtype=np.int64)


class Digits:
    """Non-negative integers; zero-padded, or ``FILL``-padded when ``pad`` is false."""

    def __init__(self, values: NDArray[np.integer[Any]], *, width: int | None = None, pad: bool = True):
        self.values = np.asarray(values)
        self.top = int(self.values.max(initial=0))
        self.width = width or len(str(self.top))
        self.pad = pad

    def write(self, lines: NDArray[np.uint8], start: int) -> None:
        rest = self.values.astype(np.uint32 if self.top < 2**32 else np.int64)  # 32-bit division is the faster
        end = start + self.width
        while end - start >= _GROUP:  # four digits at a time, as one (unaligned) uint32 per line
            end -= _GROUP
            rest, group = np.divmod(rest, 10**_GROUP)
            _column(lines, end, "<u4")[:] = _GROUPS[group]
        while end > start:
            end -= 1
            rest, digit = np.divmod(rest, 10)
            lines[:, end] = digit + ord("0")
        if not self.pad:
            digit_count = np.searchsorted(_POWERS, self.values, side="right") + 1
            gap = np.arange(self.width) < (self.width - digit_count)[:, None]
            lines[:, start : start + self.width][gap] = FILL


class Cents:
    """Amounts in cents, written as units with two decimals: ``12345`` as ``123.45``."""

    def __init__(self, cents: NDArray[np.integer[Any]]):
        units, cents = np.divmod(np.asarray(cents), 100)
        self._units = Digits(units, pad=False)
        self._cents = Digits(cents, width=2)
        self.width = self._units.width + 3

    def write(self, lines: NDArray[np.uint8], start: int) -> None:
        self._units.write(lines, start)
        lines[:, start + self._units.width] = ord(".")
        self._cents.write(lines, start + self._units.width + 1)


class Texts:
    """``values[index[i]]`` per line, as CSV fields (quoted where they must be), ``FILL``-padded."""

    def __init__(self, values: Sequence[str], index: NDArray[np.integer[Any]]):
        encoded = [_csv_field(value).encode("utf-8") for value in values]
        self._table = np.full((len(encoded), max(map(len, encoded), default=0)), FILL, dtype=np.uint8)
        for row, data in zip(self._table, encoded, strict=True):
            row[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        self._index = index
        self.width = self._table.shape[1]

    def write(self, lines: NDArray[np.uint8], start: int) -> None:
        # One value (a day's date, say) is copied to every line without looking it up per line.
        lines[:, start : start + self.width] = self._table[0] if len(self._table) == 1 else self._table[self._index]


Field = Digits | Cents | Texts  # one column of csv_lines


def csv_lines(fields: Sequence[Field], rows: int, *, compact: bool = False) -> NDArray[np.uint8]:
    """``rows`` CSV lines, ``a,b,c\\n``, as one byte array (write it to a binary file as it is)."""
    lines = np.empty((rows, sum(field.width + 1 for field in fields)), dtype=np.uint8)
    if not rows:
        return lines.ravel()
    start = 0
    for field in fields:
        field.write(lines, start)
        lines[:, start + field.width] = ord(",")
        start += field.width + 1
    lines[:, -1] = ord("\n")
    return lines[lines != FILL] if compact else lines


def _column(lines: NDArray[np.uint8], start: int, dtype: str) -> NDArray[Any]:  # the dtype is a runtime string
    """The bytes at ``start`` of every line, seen as one ``dtype`` value per line."""
    return np.ndarray(shape=(len(lines),), dtype=dtype, buffer=lines, offset=start, strides=(lines.strides[0],))


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value
