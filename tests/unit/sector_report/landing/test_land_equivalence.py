"""The vectorised landing decides every row of a hostile file exactly as the first release's row-by-row one did.

Files mix good rows, bad rows and rows that only look bad (spaces to strip, exponents, leading zeros,
ISO week dates), in every quoting style and line ending, with headers, blank lines, BOMs, broken
UTF-8 and NULs; they are landed with blocks as small as a few bytes, so a record, a quote or a
line break falls on every kind of block boundary.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from include.sector_report.errors import InputFileError
from include.sector_report.landing import records
from include.sector_report.landing.generate import generate_batches, write_seed_csv
from include.sector_report.layout import RunFolder
from include.sector_report.transactions import MAX_PRICE_CENTS, MAX_TOTAL_VALUE_CENTS
from include.sector_report.universe import load_universe
from tests.support.landing import land_both_ways

ALPHABET = "abcXYZ019 ,\"'-반도체\t\u3000\xa0\x1c\ufeff\n\r."
TEXT = st.one_of(
    st.sampled_from(
        ["005930", "semiconductor", " 005930", "internet ", "", "  ", "\u3000", "\xa0bio\xa0", "NA", "반도체"]
    ),
    st.text(alphabet=ALPHABET, max_size=8),
)
PRICE = st.one_of(
    st.sampled_from(
        [
            "820133.59",
            "5",
            "5.1",
            "05.10",
            "1e2",
            "1E+2",
            "1e-2",
            "1e-3",
            "+1.5",
            "-1.5",
            "-0",
            "-0.00",
            " 7.25 ",
            "\t7.25",
            "1.005",
            "1.500",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "",
            "abc",
            "１２",
            "٣",
            "1_000",
            ".5",
            "5.",
            "9999999999999999.99",
            "10000000000000000",
            "1e400",
            "0x10",
            "1.2.3",
            "NA",
            "null",
        ]
    ),
    st.integers(0, MAX_PRICE_CENTS).map(lambda cents: f"{cents // 100}.{cents % 100:02d}"),
    st.integers(0, 10**6).map(str),
)
VOLUME = st.one_of(
    st.sampled_from(
        [
            "5",
            "05",
            " 7",
            "7 ",
            "\t7",
            "+5",
            "-5",
            "0",
            "2147483647",
            "2147483648",
            "4294967296",
            "1.5",
            "",
            "٥",
            "NA",
            "1e3",
        ]
    ),
    st.integers(1, 2**31 - 1).map(str),
)
DATE = st.sampled_from(
    [
        "2024-03-08",
        "20240308",
        "2024-W10-5",
        "2024-02-30",
        "2024-02-29",
        "2023-02-29",
        " 2024-03-08 ",
        "",
        "2024-3-8",
        "0000-01-01",
        "0001-01-01",
        "9999-12-31",
        "2024-03-08T00:00",
        "yesterday",
    ]
)
ROW = st.one_of(
    st.tuples(TEXT, TEXT, PRICE, VOLUME, DATE).map(list),
    st.tuples(st.sampled_from(["005930"]), st.sampled_from(["semiconductor", "internet"]), PRICE, VOLUME, DATE).map(
        list
    ),
    st.lists(st.one_of(TEXT, PRICE), max_size=7),
)
HEADERS = [None, "stock_code,sector,price,volume,transaction_date", "STOCK_CODE, Sector ,price,volume,transaction_date"]


def encode(draw, rows: list[list[str]]) -> bytes:
    quoting = draw(st.sampled_from(["never", "minimal", "all", "random"]))
    endings = draw(st.sampled_from([["\n"], ["\r\n"], ["\r"], ["\n", "\r\n", "\r"]]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    lines = [] if (header := draw(st.sampled_from(HEADERS))) is None else [header]
    for row in rows:
        quote = {"never": False, "all": True, "minimal": None}.get(quoting, rng.random() < 0.3)
        lines.append(",".join(_field(value, quote) for value in row))
        if rng.random() < 0.1:
            lines.append(rng.choice(["", " "]))
    text = "".join(line + rng.choice(endings) for line in lines)
    if not draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = ("\ufeff" if draw(st.booleans()) else "") + text
    encoded = data.encode("utf-8")
    damage = draw(
        st.one_of(
            st.none(),
            st.tuples(st.integers(0, 10**6), st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\x00"])),
        )
    )
    if damage and encoded:
        at = damage[0] % len(encoded)
        encoded = encoded[:at] + damage[1] + encoded[at:]
    return encoded


def _field(value: str, quote: bool | None) -> str:
    if quote is None:
        quote = any(c in value for c in ',"\r\n')
    return '"' + value.replace('"', '""') + '"' if quote else value


@st.composite
def hostile_files(draw) -> bytes:
    return encode(draw, draw(st.lists(ROW, max_size=40)))


def land_like_the_oracle(content: bytes, block_bytes: int) -> None:
    """Land ``content`` in blocks of ``block_bytes`` both ways: the same rows, or the oracle's very error."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(records, "BLOCK_BYTES", block_bytes):
        source = Path(tmp) / "export.csv"
        source.write_bytes(content)
        run = RunFolder.for_date(Path(tmp) / "data", "2024-03-08")
        run.reset()
        try:
            land_both_ways(source, run)
        except InputFileError:
            pass  # failed, with the oracle's very message (checked inside)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=hostile_files(), block_bytes=st.sampled_from([8, 37, 256, records.BLOCK_BYTES]))
# A BOM past the file's first bytes is data, also where a block starts (Arrow would drop it there).
@example(content=b"005930,\r\xef\xbb\xbf\n,820133.59,5,2024-03-08", block_bytes=8)
@example(content=b"\xef\xbb\xbf" + HEADERS[1].encode() + b"\n\xef\xbb\xbf005930,a,1,1,2024-03-08\n", block_bytes=256)
def test_hostile_files_land_exactly_as_row_by_row(content: bytes, block_bytes: int) -> None:
    land_like_the_oracle(content, block_bytes)


def test_a_large_dirty_export_lands_exactly_as_row_by_row(tmp_path: Path) -> None:
    """50,000 rows in 256 KiB blocks (as 200,000 in the real 1 MiB ones): typed blocks, blocks read again as texts,
    and quotes from a late block on."""
    export = tmp_path / "clean.csv"
    write_seed_csv(
        export, generate_batches(rows=50_000, seed=5, logical_date=dt.date(2024, 3, 8), universe=load_universe())
    )
    rng = random.Random(5)
    bad = [
        "005930,semiconductor,abc,5,2024-03-08",
        "005930,semiconductor,1.00,0,2024-03-08",
        ",internet,1.00,5,2024-03-08",
        "005930,semiconductor,1.00,5",
        "005930,semiconductor,-1.00,5,2024-03-08",
        "",
        "  ",
    ]
    # Valid once stripped or read as the contract reads them; Arrow's typed read takes them too.
    odd_but_valid = ["005930, semiconductor ,007.50, 12 ,20240308", "005930,semiconductor,1e3,5,2024-W10-5"]
    lines = export.read_text().splitlines()
    for at in sorted(rng.sample(range(15_000), 300)):  # blocks read again as texts
        lines[at] = rng.choice(bad + odd_but_valid)
    for at in sorted(rng.sample(range(15_000, 45_000), 300)):  # blocks Arrow reads typed
        lines[at] = rng.choice(odd_but_valid)
    lines[47_500] = '"035420","인터넷, 포털",1000.00,3,2024-03-08'  # the csv module from here on
    content = ("stock_code,sector,price,volume,transaction_date\r\n" + "\r\n".join(lines)).encode()
    with mock.patch.object(records, "BLOCK_BYTES", 1 << 18):
        result, _run = land(tmp_path, content)
    assert len(result.quarantined) > 150
    assert ("035420", "인터넷, 포털", 100000, 3, "2024-03-08") in result.landed


def land(tmp_path: Path, content: bytes, name: str = "export.csv"):
    source = tmp_path / name
    source.write_bytes(content)
    run = RunFolder.for_date(tmp_path / "data", "2024-03-08")
    run.reset()
    return land_both_ways(source, run), run


GOOD = b"005930,semiconductor,820133.59,53,2024-03-08\n"


@pytest.mark.parametrize(
    "bad",
    [
        b"005930,\xff,1.00,5,2024-03-08\n",  # in a text column Arrow reads
        b"005930,semiconductor,1.0\xff,5,2024-03-08\n",  # in a number: the block is read again as texts
        b"005930,\xed\xa0\x80,1.00,5,2024-03-08\n",  # a UTF-16 surrogate
        b"005930,\xc0\xaf,1.00,5,2024-03-08\n",  # an overlong encoding
        b"\xff,too,few\n",  # in a line Arrow skips
        b'"quoted",\xff,1.00,5,2024-03-08\n',  # after the csv module takes over
    ],
)
def test_undecodable_bytes_anywhere_name_their_line(tmp_path: Path, bad: bytes) -> None:
    with pytest.raises(InputFileError, match=r"not UTF-8 text \(undecodable bytes on line 1001\)"):
        land(tmp_path, GOOD * 1000 + bad + GOOD)


def test_a_nul_after_the_first_block_of_bytes_is_read_like_the_csv_module(tmp_path: Path) -> None:
    (result, _run) = land(tmp_path, GOOD * 1000 + b"005930,semi\x00conductor,1.00,5,2024-03-08\n")
    assert result.landed[-1][1] == "semi\x00conductor"


def test_a_field_longer_than_the_csv_modules_limit_fails_as_before(tmp_path: Path) -> None:
    huge = b"x" * (csv.field_size_limit() + 1)
    with pytest.raises(InputFileError, match=r"not a readable CSV at line 3: field larger than field limit"):
        land(tmp_path, GOOD * 2 + b"005930," + huge + b",1.00,5,2024-03-08\n")


def test_lines_longer_than_a_block_and_late_quotes_keep_their_line_numbers(tmp_path: Path) -> None:
    content = (
        GOOD * 3
        + b"005930,semiconductor,bad,5,2024-03-08\r\n"
        + GOOD
        + b'"005930","semi\nconductor",1.00,5,2024-03-08\n'
    )
    with mock.patch.object(records, "BLOCK_BYTES", 16):
        result, _run = land(tmp_path, content + b"x,y\n")
    assert [(line, reason) for _, line, reason, _ in result.quarantined] == [
        (4, "price 'bad' is not a number"),
        (8, "expected 5 fields, found 2"),
    ]
    assert result.landed[-1][1] == "semi\nconductor"


def test_a_day_too_large_for_the_jobs_exact_sums_is_refused_and_nothing_lands(tmp_path: Path) -> None:
    row = b"005930,semiconductor,9999999999999999.99,2147483647,2024-03-08\n"
    assert 99999999999999999999 * 2147483647 > MAX_TOTAL_VALUE_CENTS
    with pytest.raises(InputFileError, match=r"exceeds what the Flink job sums exactly .* nothing was landed"):
        land(tmp_path, row)
    run = RunFolder.for_date(tmp_path / "data", "2024-03-08")
    assert not run.transactions_csv.exists()
    assert not run.rejected_csv.exists()


# Exports from databases and spreadsheets: every field quoted or some, doubled quotes, commas and line
# breaks inside quotes, quoted empty fields, quotes in the middle of unquoted fields, CR/LF mixes.
QUOTED_TEXT = st.one_of(
    st.sampled_from(["005930", "반도체", "semi, conductor", 'say "hi"', "", "a\nb", "a\r\nb", 'x"y', "인터넷, 포털"]),
    st.text(alphabet='ab,"\n\r 반', max_size=6),
)
QUOTED_ROW = st.one_of(
    st.tuples(QUOTED_TEXT, QUOTED_TEXT, PRICE, VOLUME, DATE).map(list),
    st.tuples(st.just("005930"), st.sampled_from(["semiconductor", "반도체, 칩"]), PRICE, VOLUME, st.just("2024-03-08"))
    .map(list),
)  # fmt: skip


@st.composite
def quoted_exports(draw) -> bytes:
    rows = draw(st.lists(QUOTED_ROW, max_size=30))
    style = draw(st.sampled_from(["all", "texts", "random", "mid-field"]))
    endings = draw(st.sampled_from([["\r\n"], ["\n"], ["\n", "\r\n"], ["\r\n", "\r"]]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    header = draw(st.sampled_from([None, '"stock_code","sector","price","volume","transaction_date"', HEADERS[1]]))
    lines = [] if header is None else [header]
    for row in rows:
        fields = []
        for position, value in enumerate(row):
            quote = {"all": True, "texts": position in (0, 1, 4), "random": rng.random() < 0.5}.get(style)
            if style == "mid-field":
                quote = any(c in value for c in ",\r\n") or rng.random() < 0.3
                value = value if quote or rng.random() < 0.7 else value[:1] + '"' + value[1:]
            fields.append(_field(value, quote) if quote is not None else value)
        lines.append(",".join(fields))
    text = "".join(line + rng.choice(endings) for line in lines)
    return (("\ufeff" if draw(st.booleans()) else "") + text).encode("utf-8")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=quoted_exports(), block_bytes=st.sampled_from([8, 37, 64, 256, records.BLOCK_BYTES]))
def test_quoted_exports_land_exactly_as_row_by_row(content: bytes, block_bytes: int) -> None:
    """Small blocks put a block's end inside quoted fields, inside doubled quotes and inside \\r\\n."""
    land_like_the_oracle(content, block_bytes)


def quoted_export(rows: int, *, line_break_at: int | None = None) -> bytes:
    """A spreadsheet-style export: BOM, quoted header, every field quoted, CRLF; Korean and commas in texts."""
    lines = ['"stock_code","sector","price","volume","transaction_date"']
    for n in range(rows):
        sector = "반도체, 메모리" if n % 3 else 'internet "portal"'.replace('"', '""')
        if n == line_break_at:
            sector = "반도체\r\n메모리"
        price = "bad" if n % 997 == 0 else f"{70000 + n % 500}.{n % 100:02d}"
        lines.append(f'"{n % 7:06d}","{sector}","{price}","{1 + n % 50}","2024-03-08"')
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def test_a_quoted_export_lands_on_arrow_every_block(tmp_path: Path) -> None:
    with mock.patch.object(records, "BLOCK_BYTES", 1 << 16):
        result, _run = land(tmp_path, quoted_export(20_000))
        read = list(records.read_records(tmp_path / "export.csv"))
    assert len(read) > 10
    assert all(isinstance(r, records.ArrowRecords) for r in read), "no block took the csv module"
    assert len(result.landed) == 20_000 - 21
    assert len(result.quarantined) == 21
    # Row 0 is a bad one (every 997th): the first landed is row 1, and row 3 the first "internet".
    assert result.landed[0][:2] == ("000001", "반도체, 메모리")
    assert result.landed[2][1] == 'internet "portal"'
    assert result.quarantined[0][1:3] == (2, "price 'bad' is not a number")  # line 1 is the header


def test_only_the_record_with_a_line_break_inside_quotes_takes_the_csv_module(tmp_path: Path) -> None:
    content = quoted_export(20_000, line_break_at=12_345)
    with mock.patch.object(records, "BLOCK_BYTES", 1 << 16):
        result, _run = land(tmp_path, content)
        read = list(records.read_records(tmp_path / "export.csv"))
    exact = [r.columns.num_rows for r in read if isinstance(r, records.ParsedRecords) and r.columns.num_rows]
    assert exact == [1], "Arrow reads every record but the one on two lines"
    assert sum(r.columns.num_rows for r in read) == 20_000
    # Row 12,345, after 13 bad rows: its sector on two lines.
    assert result.landed[12_345 - 13][:2] == (f"{12_345 % 7:06d}", "반도체\r\n메모리")
    # Every record after the one on two lines still names its own line: row n is on line n + 2, then n + 3.
    assert result.quarantined[-1][1] == 19_940 + 3
