"""Property: whatever mix of good and bad rows a real export holds, every row is accounted for exactly."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.sector_report.errors import InputFileError
from include.sector_report.layout import RunFolder
from include.sector_report.transactions import MAX_TOTAL_VALUE_CENTS, to_cents
from tests.support.landing import land_both_ways

NAME = st.text(alphabet=st.sampled_from("abcXYZ019 ,\"'-반도체인터넷바이오"), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s != ""
)
PRICE = st.integers(min_value=0, max_value=10**12).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")
VOLUME = st.integers(min_value=1, max_value=2**31 - 1).map(str)
DATE = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)).map(dt.date.isoformat)
GOOD_ROW = st.tuples(NAME, NAME, PRICE, VOLUME, DATE).map(list)


@st.composite
def bad_row(draw) -> list[str]:
    row = draw(GOOD_ROW)
    column, bad_value = draw(
        st.sampled_from(
            [
                (0, ""),
                (1, "  "),
                (2, "abc"),
                (2, "-1.00"),
                (2, "1.005"),
                (2, "1e400"),
                (3, "0"),
                (3, "-5"),
                (3, "1.5"),
                (3, "2147483648"),
                (4, "2024-13-01"),
                (4, "yesterday"),
                (None, "drop"),
                (None, "extra"),
            ]
        )
    )
    if column is not None:
        row[column] = bad_value
    elif bad_value == "drop":
        row.pop()
    else:
        row.append("extra")
    return row


ROWS = st.lists(
    st.tuples(st.booleans(), st.none()).flatmap(
        lambda t: GOOD_ROW.map(lambda r: (True, r)) if t[0] else bad_row().map(lambda r: (False, r))
    ),
    max_size=60,
)


def encode(rows: list[list[str]], *, header: bool, bom: bool, crlf: bool, final_newline: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    if header:
        writer.writerow(["stock_code", "sector", "price", "volume", "transaction_date"])
    writer.writerows(rows)
    text = buffer.getvalue()
    if not final_newline:
        text = text.rstrip("\r\n")
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def per_sector(rows, price_of=Decimal) -> dict[str, tuple[Decimal, int, int]]:
    totals: dict[str, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    for _code, sector, price, volume, _day in rows:
        entry = totals[sector.strip()]
        entry[0] += price_of(price) * int(volume)
        entry[1] += int(volume)
        entry[2] += 1
    return {sector: tuple(values) for sector, values in totals.items()}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    header=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
    final_newline=st.booleans(),
)
def test_every_row_is_accounted_for(rows, header, bom, crlf, final_newline) -> None:
    good = [r for ok, r in rows if ok]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "export.csv"
        source.write_bytes(encode([r for _, r in rows], header=header, bom=bom, crlf=crlf, final_newline=final_newline))
        run = RunFolder.for_date(Path(tmp) / "data", "2024-03-08")
        run.reset()
        if sum(to_cents(Decimal(r[2])) * int(r[3]) for r in good) > MAX_TOTAL_VALUE_CENTS:
            with pytest.raises(InputFileError, match="exceeds what the Flink job sums exactly"):
                land_both_ways(source, run)
            return
        result = land_both_ways(source, run)

    assert result.data_rows == len(rows) == result.control.rows + len(result.quarantined)
    assert len(result.quarantined) == len(rows) - len(good)
    assert result.control.total_volume == sum(int(r[3]) for r in good)
    assert result.control.total_value == sum((Decimal(r[2]) * int(r[3]) for r in good), Decimal(0))
    assert per_sector(result.landed, price_of=lambda cents: Decimal(cents) / 100) == per_sector(good)
