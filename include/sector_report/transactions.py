"""The transaction row contract and its exact control totals.

A row is ``stock_code,sector,price,volume,transaction_date``: price in KRW with
at most two decimals, volume a positive INT, date ISO ``YYYY-MM-DD``. Money is
kept as :class:`~decimal.Decimal` (or integer cents) end to end, never float.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

COLUMNS = ("stock_code", "sector", "price", "volume", "transaction_date")
# Where a night's transactions come from: the day's file, landed, or sample data, generated.
SOURCES = ("file", "generate")

# Flink's source declares price DECIMAL(18, 2) and volume INT; anything wider
# would overflow inside the job, so it is rejected here instead.
MAX_PRICE = Decimal("9999999999999999.99")
MAX_PRICE_CENTS = 999_999_999_999_999_999
MAX_VOLUME = 2**31 - 1
CENT = Decimal("0.01")
# The Flink job sums cents as BIGINT. Every price and volume is non-negative, so when the day's
# whole value fits, so does every product and partial sum: landing refuses a day beyond it.
MAX_TOTAL_VALUE_CENTS = 2**63 - 1

# Sums of DECIMAL(38, 2) need more digits than the default 28; trapping Inexact
# turns any rounding into an error instead of a silently wrong total.
EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])


def to_cents(amount: Decimal) -> int:
    return int(amount.scaleb(2, EXACT))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2, EXACT)


class RowRejected(ValueError):
    """A data row that breaks the contract; the message is the reason kept in quarantine."""


@dataclass(frozen=True)
class Transaction:
    stock_code: str
    sector: str
    price: Decimal
    volume: int
    transaction_date: dt.date


def parse_row(fields: list[str]) -> Transaction:
    """Parse one CSV record into a :class:`Transaction` or raise :class:`RowRejected`."""
    if len(fields) != len(COLUMNS):
        raise RowRejected(f"expected {len(COLUMNS)} fields, found {len(fields)}")
    stock_code, sector, price_text, volume_text, date_text = (f.strip() for f in fields)
    if not stock_code:
        raise RowRejected("stock_code is empty")
    if not sector:
        raise RowRejected("sector is empty")
    return Transaction(
        stock_code=stock_code,
        sector=sector,
        price=parse_price(price_text),
        volume=parse_volume(volume_text),
        transaction_date=parse_date(date_text),
    )


def parse_price(text: str) -> Decimal:
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise RowRejected(f"price {text!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise RowRejected(f"price {text!r} is not a non-negative number")
    # Range first: quantizing a huge value such as 1e400 would itself fail.
    if price > MAX_PRICE:
        raise RowRejected(f"price {text!r} exceeds DECIMAL(18, 2)")
    if price != price.quantize(CENT, rounding="ROUND_DOWN"):
        raise RowRejected(f"price {text!r} has more than 2 decimals")
    return price.quantize(CENT)


def parse_volume(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise RowRejected(f"volume {text!r} is not a positive integer")
    volume = int(text)
    if not 0 < volume <= MAX_VOLUME:
        raise RowRejected(f"volume {text!r} is outside 1..{MAX_VOLUME}")
    return volume


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowRejected(f"transaction_date {text!r} is not a YYYY-MM-DD date") from None


@dataclass
class ControlTotals:
    """Totals computed independently of Flink, as rows are written: exact, in integer cents."""

    rows: int = 0
    total_volume: int = 0
    total_value_cents: int = 0

    def add(self, price: Decimal, volume: int) -> None:
        self.rows += 1
        self.total_volume += volume
        self.total_value_cents += to_cents(price) * volume

    def add_many(self, rows: int, total_volume: int, total_value_cents: int) -> None:
        """Add the totals of many rows, summed exactly elsewhere (landing sums whole columns)."""
        self.rows += rows
        self.total_volume += total_volume
        self.total_value_cents += total_value_cents

    @property
    def total_value(self) -> Decimal:
        return from_cents(self.total_value_cents)

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "total_volume": self.total_volume, "total_value": str(self.total_value)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlTotals:
        return cls(
            rows=int(data["rows"]),
            total_volume=int(data["total_volume"]),
            total_value_cents=to_cents(Decimal(data["total_value"])),
        )
