"""Read the data records of one transactions CSV, in blocks, as Arrow columns with their line numbers.

The records are exactly those Python's ``csv`` module reads from the file opened as UTF-8
(a BOM dropped, ``newline=""``), with the first record skipped when it is the header and
blank lines skipped: the row-by-row landing read them that way, and its line numbers and
quarantined record texts are kept. Two tokenizers produce them, a block at a time:

- **Arrow**, for the usual block: its records are its lines. Without a quote character in the
  block, a field is what lies between commas and Arrow's multi-threaded CSV reader splits it with
  quoting off; with quote characters (exports from databases and spreadsheets quote every text,
  or every field), it splits with quoting on, whose rules are Python's for a record on one line
  (a quote opens a field only at its start, a doubled quote is a quote, characters after a
  closing quote are kept). Either way it converts the columns as it goes (price to
  ``decimal128(18, 2)``, volume to ``uint32``, texts dictionary-encoded); if a value does not
  convert, the block is read again as texts and checked value by value.
- **Python's csv module**, exact, for a block Arrow cannot place line by line: a quoted field
  holding a line break (a record on several lines, perhaps across the block's end), a record
  whose fields Arrow does not count as five, a NUL or a lone carriage return. It reads from the
  block's start to the first record that ends at or after the block's end; the next block starts
  there, on Arrow again.

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
from typing import IO, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from numpy.typing import NDArray

from ..errors import InputFileError
from ..transactions import COLUMNS

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
        offset = 0  # where the next block starts in the file: always where a record starts
        while True:
            handle.seek(offset)
            data = handle.read(BLOCK_BYTES)
            at_end = len(data) < BLOCK_BYTES
            start = len(codecs.BOM_UTF8) if offset == 0 and data.startswith(codecs.BOM_UTF8) else 0
            block = _Block(data, start, len(data) if at_end else max(start, data.rfind(b"\n") + 1))
            if offset == 0 and _is_header_line(path, block):
                block = block.skip(block.line_end(0))
            records = None
            if block and not block.needs_csv_module():
                records = _arrow_records(path, block, lines, offset + block.start)
            if records is None:  # the csv module reads this block, and the end of the record the block cuts
                exact = _CsvModuleRecords(path, offset + block.start, lines.before(offset + block.start))
                stop = offset + max(block.end, block.start + 1)
            else:
                yield records
                if records.end == block.end:
                    if at_end:
                        return
                    offset += block.end
                    continue
                # Arrow read the records before one on several lines: the csv module reads that one only.
                offset += records.end
                exact = _CsvModuleRecords(path, offset, lines.before(offset))
                stop = offset + 1
            yield from exact.until(stop)
            if exact.at_end:
                return
            offset = exact.offset


class _LineCounter:
    """Lines before a byte offset of a file, counted only when a record's line number is wanted.

    A line ends with ``\\n``, ``\\r\\n`` or a lone ``\\r``, as for the csv module; offsets asked for are
    where records start, so never between the two bytes of a ``\\r\\n``.
    """

    def __init__(self, path: Path):
        self._path = path
        self._offset = 0
        self._lines = 0
        self._after_carriage_return = False

    def before(self, offset: int) -> int:
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            while self._offset < offset:
                chunk = handle.read(min(BLOCK_BYTES, offset - self._offset))
                data = np.frombuffer(chunk, dtype=np.uint8)
                self._lines += np.count_nonzero(data == ord("\n")) + _lone_carriage_returns(data)
                if self._after_carriage_return and chunk.startswith(b"\n"):
                    self._lines -= 1  # a \r\n the chunks cut in two: one line end, counted twice
                self._after_carriage_return = chunk.endswith(b"\r")
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

    def skip(self, length: int) -> _Block:
        return _Block(self.data, self.start + length, self.end)

    def cut(self, length: int) -> _Block:
        return _Block(self.data, self.start, self.start + length)

    def lines(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Start and end (line break excluded) of every line, relative to ``start``."""
        data = self.array()
        ends = np.flatnonzero(data == ord("\n"))
        if len(data) and data[-1] != ord("\n"):
            ends = np.append(ends, len(data))
        starts = np.concatenate(([0], ends[:-1] + 1))
        return starts, ends - ((ends > starts) & (data[ends - 1] == ord("\r")))

    def line_end(self, at: int) -> int:
        """Where the line that starts at ``at`` ends, its line break included."""
        found = self.data.find(b"\n", self.start + at, self.end)
        return len(self) if found < 0 else found - self.start + 1

    def text(self, start: int, end: int) -> str:
        return self.data[self.start + start : self.start + end].decode("utf-8")

    def array(self) -> NDArray[np.uint8]:
        return np.frombuffer(self.data, dtype=np.uint8, count=len(self), offset=self.start)

    def buffer(self) -> pa.Buffer:
        return pa.py_buffer(self.data).slice(self.start, len(self))

    def needs_csv_module(self) -> bool:
        """What Arrow cannot place line by line however it reads: a NUL, a lone carriage return, and a BOM
        the block starts with (Arrow drops it; past the file's own, dropped before, a BOM is data)."""
        return b"\0" in self or self._has_lone_carriage_return() or self.data.startswith(codecs.BOM_UTF8, self.start)

    def _has_lone_carriage_return(self) -> bool:
        return b"\r" in self and _lone_carriage_returns(self.array()) > 0

    @property
    def quoted(self) -> bool:
        return b'"' in self


def _lone_carriage_returns(data: NDArray[np.uint8]) -> int:
    """Carriage returns not followed by a line feed in ``data``, one at its very end included.

    numpy, not ``bytes.count(b"\\r\\n")``: a 16 MB block of CRLF lines is counted in a third of the time.
    """
    at = np.flatnonzero(data == ord("\r"))
    followed = at + 1 < len(data)
    return int(np.count_nonzero(data[at[followed] + 1] != ord("\n"))) + int(np.count_nonzero(~followed))


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
    """Whether the block's first line is the header (a header is a record on one line, quoted or not)."""
    try:
        line = block.text(0, block.line_end(0)).rstrip("\r\n")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    try:
        return is_header(next(csv.reader([line]), []))
    except csv.Error:
        return False


def _arrow_records(path: Path, block: _Block, lines: _LineCounter, offset: int) -> ArrowRecords | None:
    """The block's records through Arrow; ``None`` where only the csv module can place them exactly: a field
    too long for it (it then refuses the file), and, in a quoted block, a record not on one line of its own."""
    irregular = 0

    def skip(_row: object) -> str:
        nonlocal irregular
        irregular += 1
        return "skip"

    quoted = block.quoted
    parse = pa_csv.ParseOptions(
        quote_char='"' if quoted else False,
        double_quote=quoted,
        escape_char=False,
        # Quoted, a line break may lie inside a field: Arrow then keeps it in the value, which tells us.
        newlines_in_values=quoted,
        invalid_row_handler=skip,
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
            if quoted:  # a quote left open at the block's end
                return None
            raise
    if quoted and irregular:
        return None
    if quoted and (several_lines := _first_record_on_several_lines(table)) is not None:
        # Only the records before it are Arrow's: each is a line of its own, empty lines are none.
        starts, ends = block.lines()
        block = block.cut(int(starts[np.flatnonzero(ends > starts)[several_lines]]))
        table = table.slice(0, several_lines)
    records = ArrowRecords(path, block, table, lines=lines, offset=offset, has_irregular=irregular > 0, quoted=quoted)
    limit = csv.field_size_limit()
    if _longest_text(table) > limit or records.longest_irregular_line > limit:
        return None
    return records


def _first_record_on_several_lines(table: pa.Table) -> int | None:
    """The first row with a text holding a line break (a quoted field on several lines), if any."""
    first = None
    for column in table.columns:
        if not (pa.types.is_dictionary(column.type) or column.type == _TEXT):
            continue
        rows_before = 0
        for chunk in column.chunks:
            encoded = pa.types.is_dictionary(chunk.type)
            broken = pc.match_substring_regex(chunk.dictionary if encoded else chunk, "[\r\n]")
            if pc.any(broken).as_py():
                row = pc.index(pc.take(broken, chunk.indices) if encoded else broken, True).as_py()
                first = rows_before + row if first is None else min(first, rows_before + row)
                break
            rows_before += len(chunk)
    return first


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

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
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
        self,
        path: Path,
        block: _Block,
        columns: pa.Table,
        *,
        lines: _LineCounter,
        offset: int,
        has_irregular: bool,
        quoted: bool,
    ):
        self.path = path
        self.columns = columns
        self._block = block
        self._lines = lines
        self._offset = offset  # of the block in the file
        self._has_irregular = has_irregular
        self._quoted = quoted  # then every line that is not empty is a record of five fields

    @cached_property
    def _layout(self) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
        """Start and end (line break excluded) of every line; which lines Arrow read (five fields), which not."""
        starts, ends = self._block.lines()
        filled = ends > starts
        if self._quoted:
            read, skipped = np.flatnonzero(filled), np.array([], dtype=np.int64)
        else:
            commas = np.flatnonzero(self._block.array() == ord(","))
            fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
            read = np.flatnonzero(filled & (fields == len(COLUMNS)))
            skipped = np.flatnonzero(filled & (fields != len(COLUMNS)))
        if len(read) != self.columns.num_rows:
            raise AssertionError(f"{self.path}: Arrow read {self.columns.num_rows} records where there are {len(read)}")
        return starts, ends, read, skipped

    @property
    def end(self) -> int:
        """Where the records read end in the block's data: the block's end, or a record on several lines."""
        return self._block.end

    @cached_property
    def _lines_before(self) -> int:
        return self._lines.before(self._offset)

    def _line(self, index: int) -> tuple[int, list[str]]:
        starts, ends, _, _ = self._layout
        try:
            text = self._block.text(starts[index], ends[index])
        except UnicodeDecodeError:
            raise not_utf8(self.path) from None
        return self._lines_before + index + 1, next(csv.reader([text])) if self._quoted else text.split(",")

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


class _CsvModuleRecords:
    """Records read by Python's csv module from ``offset`` (where a record starts, on line ``lines_before + 1``).

    ``until(stop)`` reads to the first record that ends at or after byte ``stop``; then ``offset`` is where
    the next record starts, and ``at_end`` tells whether the file has ended.
    """

    def __init__(self, path: Path, offset: int, lines_before: int):
        self.path = path
        self.offset = offset
        self.lines_before = lines_before
        self.at_end = False

    def _lines(self, binary: IO[bytes]) -> Iterator[str]:
        """The file's lines from ``offset``, as the csv module wants them, counting the bytes they took."""
        for line in io.TextIOWrapper(binary, encoding="utf-8", newline=""):
            self.offset += len(line.encode("utf-8"))
            yield line

    def until(self, stop: int) -> Iterator[ParsedRecords]:
        line = self.lines_before  # the line of the last record read, for an error's position
        rows: list[list[str]] = []
        row_lines: list[int] = []
        irregular: list[tuple[int, list[str]]] = []
        with self.path.open("rb") as binary:
            binary.seek(self.offset)
            reader = csv.reader(self._lines(binary))
            try:
                for fields in reader:
                    first = line == 0
                    line = self.lines_before + reader.line_num
                    if fields and not (first and is_header(fields)):
                        if len(fields) == len(COLUMNS):
                            rows.append(fields)
                            row_lines.append(line)
                        else:
                            irregular.append((line, fields))
                    if len(rows) + len(irregular) >= CSV_MODULE_BATCH:
                        yield ParsedRecords(rows, row_lines, irregular)
                        rows, row_lines, irregular = [], [], []
                    if self.offset >= stop:
                        break
                else:
                    self.at_end = True
            except UnicodeDecodeError:
                raise not_utf8(self.path) from None
            except csv.Error as exc:
                problem = f"Input file {self.path} is not a readable CSV at line {line + 1}: {exc}."
                raise InputFileError(problem) from None
        yield ParsedRecords(rows, row_lines, irregular)
