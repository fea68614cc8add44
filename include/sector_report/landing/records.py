"""Read the data records of one transactions CSV, in blocks, as Arrow columns with their line numbers.

The records are exactly those Python's ``csv`` module reads from the file opened as UTF-8
(a BOM dropped, ``newline=""``), with the first record skipped when it is the header and
blank lines skipped: the row-by-row landing read them that way, and its line numbers and
quarantined record texts are kept. Two tokenizers produce them:

- **Arrow**, for the usual block of bytes: no quote character, NUL or lone carriage return in
  it. There a record is a line and a field is what lies between commas, so Arrow's multi-threaded
  CSV reader splits it with quoting off and converts the columns as it goes (price to
  ``decimal128(18, 2)``, volume to ``uint32``, texts dictionary-encoded). If a value does not
  convert, the block is read again as texts and checked value by value.
- **Python's csv module** from the first block that has any of those on to the end of the file:
  a quoted field may hold commas and line breaks, and even span two blocks.

Line numbers are the line on which a record ends, counting ``\\n``, ``\\r\\n`` and ``\\r`` as line
ends, as ``csv.reader.line_num`` does. The Arrow path works them out only for a block that has a
record to quarantine.
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .errors import InputFileError
from .transactions import COLUMNS

BLOCK_BYTES = 16 << 20
CSV_MODULE_BATCH = 1 << 16
_TEXT = pa.string()
_TEXTS = pa.dictionary(pa.int32(), pa.string())
TYPED_COLUMNS = {
    "stock_code": _TEXTS,
    "sector": _TEXTS,
    "price": pa.decimal128(18, 2),
    "volume": pa.uint32(),
    "transaction_date": _TEXTS,
}
TEXT_COLUMNS = dict.fromkeys(COLUMNS, _TEXT)
# Arrow parses a block's parts in parallel; a few parts keep both cores busy with little per-part overhead.
_READ = pa_csv.ReadOptions(column_names=list(COLUMNS), block_size=BLOCK_BYTES // 4)


class Records(Protocol):
    """A file's data records in order: ``columns`` holds those with five fields, ``irregular`` the others."""

    columns: pa.Table

    @property
    def irregular(self) -> list[tuple[int, list[str]]]: ...

    def raw(self, rows: Sequence[int]) -> list[tuple[int, list[str]]]:
        """Line number and fields, as text, of the given rows of ``columns``."""


def read_records(path: Path) -> Iterator[Records]:
    """The data records of ``path``, a block at a time (memory stays flat whatever the file's size)."""
    lines = _LineCounter(path)
    with path.open("rb") as handle:
        offset = 0  # where the next block starts in the file
        while True:
            handle.seek(offset)
            data = handle.read(BLOCK_BYTES)
            at_end = len(data) < BLOCK_BYTES
            start = len(codecs.BOM_UTF8) if offset == 0 and data.startswith(codecs.BOM_UTF8) else 0
            block = _Block(data, start, len(data) if at_end else max(start, data.rfind(b"\n") + 1))
            if (not block and not at_end) or block.needs_csv_module():
                # A line longer than a block, or quotes: the csv module streams the rest.
                yield from _csv_module_records(path, offset, lines.before(offset))
                return
            if offset == 0 and _is_header_line(path, block):
                block = block.skip(block.line_end(0))
            records = _arrow_records(path, block, lines, offset + block.start)
            if records is None:
                yield from _csv_module_records(path, offset + block.start, lines.before(offset + block.start))
                return
            yield records
            offset += block.end
            if at_end:
                return


class _LineCounter:
    """Lines before a byte offset of a file, counted only when a record's line number is wanted.

    Only the Arrow path asks, and only for offsets before which every line break is a ``\n``.
    """

    def __init__(self, path: Path):
        self._path = path
        self._offset = 0
        self._lines = 0

    def before(self, offset: int) -> int:
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            while self._offset < offset:
                chunk = handle.read(min(BLOCK_BYTES, offset - self._offset))
                self._lines += chunk.count(b"\n")
                self._offset += len(chunk)
        return self._lines


class _Block:
    """Whole lines of a file, ``data[start:end]``, looked at without copying them."""

    def __init__(self, data: bytes, start: int, end: int):
        self.data, self.start, self.end = data, start, end

    def __len__(self) -> int:
        return self.end - self.start

    def __contains__(self, needle: bytes) -> bool:
        return self.data.find(needle, self.start, self.end) >= 0

    def count(self, needle: bytes) -> int:
        return self.data.count(needle, self.start, self.end)

    def skip(self, length: int) -> _Block:
        return _Block(self.data, self.start + length, self.end)

    def line_end(self, at: int) -> int:
        """Where the line that starts at ``at`` ends, its line break included."""
        found = self.data.find(b"\n", self.start + at, self.end)
        return len(self) if found < 0 else found - self.start + 1

    def text(self, start: int, end: int) -> str:
        return self.data[self.start + start : self.start + end].decode("utf-8")

    def array(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.uint8, count=len(self), offset=self.start)

    def buffer(self) -> pa.Buffer:
        return pa.py_buffer(self.data).slice(self.start, len(self))

    def needs_csv_module(self) -> bool:
        lone_carriage_return = b"\r" in self and self.count(b"\r") != self.count(b"\r\n")
        return b'"' in self or b"\0" in self or lone_carriage_return


def is_header(fields: list[str]) -> bool:
    return tuple(f.strip().lower() for f in fields) == COLUMNS


def first_undecodable_line(path: Path) -> int:
    # A text reader decodes ahead in blocks, so its line count cannot tell where the bad bytes are.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def not_utf8(path: Path) -> InputFileError:
    return InputFileError(
        f"Input file {path} is not UTF-8 text (undecodable bytes on line {first_undecodable_line(path)}); "
        "export it as UTF-8 CSV with the columns " + ",".join(COLUMNS) + "."
    )


def _is_header_line(path: Path, block: _Block) -> bool:
    try:
        fields = block.text(0, block.line_end(0)).rstrip("\r\n").split(",")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    return is_header(fields)


def _arrow_records(path: Path, block: _Block, lines: _LineCounter, offset: int) -> ArrowRecords | None:
    """The block's records through Arrow; ``None`` if a field is too long for the csv module, which then decides."""
    irregular = 0

    def skip(_row) -> str:
        nonlocal irregular
        irregular += 1
        return "skip"

    parse = pa_csv.ParseOptions(
        quote_char=False, double_quote=False, escape_char=False, newlines_in_values=False, invalid_row_handler=skip
    )
    try:
        table = _read(block, parse, TYPED_COLUMNS)
    except pa.ArrowInvalid:  # a value that does not convert: read texts, and check them one by one
        irregular = 0
        try:
            table = _read(block, parse, TEXT_COLUMNS)
        except pa.ArrowInvalid:
            if first_undecodable_line(path):
                raise not_utf8(path) from None
            raise
    records = ArrowRecords(path, block, table, lines=lines, offset=offset, has_irregular=irregular > 0)
    limit = csv.field_size_limit()
    if _longest_text(table) > limit or records.longest_irregular_line > limit:
        return None
    return records


def _read(block: _Block, parse: pa_csv.ParseOptions, types: dict[str, pa.DataType]) -> pa.Table:
    if not block:  # Arrow calls that an empty CSV file; a block of only line breaks it reads as no rows
        return pa.table({name: pa.array([], type) for name, type in types.items()})
    convert = pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False)
    with _undecodable_lines_left_to_us():
        return pa_csv.read_csv(block.buffer(), read_options=_READ, parse_options=parse, convert_options=convert)


@contextmanager
def _undecodable_lines_left_to_us() -> Iterator[None]:
    """PyArrow cannot hand an undecodable line to the invalid-row handler: it prints that traceback and
    the read fails. Landing then names the file and line itself, so the traceback is only noise."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, UnicodeDecodeError):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _longest_text(table: pa.Table) -> int:
    longest = 0
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            lengths = [pc.max(pc.binary_length(chunk.dictionary)).as_py() for chunk in column.chunks]
        elif column.type == _TEXT:
            lengths = [pc.max(pc.binary_length(column)).as_py()]
        else:
            continue
        longest = max([longest, *(n for n in lengths if n is not None)])
    return longest


class ArrowRecords:
    """Records of a block that Arrow split; where each one's line is, is worked out only when needed."""

    def __init__(
        self, path: Path, block: _Block, columns: pa.Table, *, lines: _LineCounter, offset: int, has_irregular: bool
    ):
        self.path = path
        self.columns = columns
        self._block = block
        self._lines = lines
        self._offset = offset  # of the block in the file
        self._has_irregular = has_irregular

    @cached_property
    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Start and end (line break excluded) of every line; which lines Arrow read (five fields), which not."""
        data = self._block.array()
        ends = np.flatnonzero(data == ord("\n"))
        if len(data) and data[-1] != ord("\n"):
            ends = np.append(ends, len(data))
        starts = np.concatenate(([0], ends[:-1] + 1))
        ends = ends - ((ends > starts) & (data[ends - 1] == ord("\r")))
        commas = np.flatnonzero(data == ord(","))
        fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
        filled = ends > starts
        read = np.flatnonzero(filled & (fields == len(COLUMNS)))
        skipped = np.flatnonzero(filled & (fields != len(COLUMNS)))
        if len(read) != self.columns.num_rows:
            raise AssertionError(f"{self.path}: Arrow read {self.columns.num_rows} records where there are {len(read)}")
        return starts, ends, read, skipped

    @cached_property
    def _lines_before(self) -> int:
        return self._lines.before(self._offset)

    def _line(self, index: int) -> tuple[int, list[str]]:
        starts, ends, _, _ = self._layout
        try:
            text = self._block.text(starts[index], ends[index])
        except UnicodeDecodeError:
            raise not_utf8(self.path) from None
        return self._lines_before + index + 1, text.split(",")

    def raw(self, rows: Sequence[int]) -> list[tuple[int, list[str]]]:
        return [self._line(self._layout[2][row]) for row in rows]

    @cached_property
    def irregular(self) -> list[tuple[int, list[str]]]:
        return [self._line(index) for index in self._layout[3]] if self._has_irregular else []

    @property
    def longest_irregular_line(self) -> int:
        if not self._has_irregular:
            return 0
        starts, ends, _, skipped = self._layout
        return int((ends[skipped] - starts[skipped]).max(initial=0))


class ParsedRecords:
    """Records that Python's csv module read, with the line each ends on."""

    def __init__(self, rows: list[list[str]], lines: list[int], irregular: list[tuple[int, list[str]]]):
        self._rows = rows
        self._lines = lines
        self.irregular = irregular
        self.columns = pa.table(
            {name: pa.array(values, _TEXT) for name, values in zip(COLUMNS, zip(*rows, strict=True), strict=True)}
            if rows
            else {name: pa.array([], _TEXT) for name in COLUMNS}
        )

    def raw(self, rows: Sequence[int]) -> list[tuple[int, list[str]]]:
        return [(self._lines[row], self._rows[row]) for row in rows]


def _csv_module_records(path: Path, offset: int, lines_before: int) -> Iterator[ParsedRecords]:
    """Records from ``offset`` (where line ``lines_before + 1`` starts) to the end, read by the csv module."""
    start = offset if lines_before else 0  # nothing read yet: from the top, so a BOM is dropped as before
    line = lines_before  # the line of the last record read, for an error's position
    rows: list[list[str]] = []
    row_lines: list[int] = []
    irregular: list[tuple[int, list[str]]] = []
    with path.open("rb") as binary:
        binary.seek(start)
        text = io.TextIOWrapper(binary, encoding="utf-8-sig" if start == 0 else "utf-8", newline="")
        reader = csv.reader(text)
        try:
            for fields in reader:
                first = line == 0
                line = lines_before + reader.line_num
                if not fields or (first and is_header(fields)):
                    continue
                if len(fields) == len(COLUMNS):
                    rows.append(fields)
                    row_lines.append(line)
                else:
                    irregular.append((line, fields))
                if len(rows) + len(irregular) >= CSV_MODULE_BATCH:
                    yield ParsedRecords(rows, row_lines, irregular)
                    rows, row_lines, irregular = [], [], []
        except UnicodeDecodeError:
            raise not_utf8(path) from None
        except csv.Error as exc:
            raise InputFileError(f"Input file {path} is not a readable CSV at line {line + 1}: {exc}.") from None
    yield ParsedRecords(rows, row_lines, irregular)
