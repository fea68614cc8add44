from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from include.sector_report.generate import generate_transactions
from include.sector_report.universe import load_universe

DAY = dt.date(2024, 3, 8)


def generate(path: Path, *, rows: int = 1000, seed: int = 42, day: dt.date = DAY):
    return generate_transactions(path, rows=rows, seed=seed, logical_date=day, universe=load_universe())


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_same_seed_and_date_give_the_same_file(tmp_path: Path) -> None:
    generate(tmp_path / "a.csv")
    generate(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_another_date_or_seed_gives_other_rows(tmp_path: Path) -> None:
    generate(tmp_path / "a.csv")
    generate(tmp_path / "b.csv", day=DAY + dt.timedelta(days=1))
    generate(tmp_path / "c.csv", seed=7)
    prices = [[row[2] for row in read_rows(tmp_path / name)] for name in ("a.csv", "b.csv", "c.csv")]
    assert prices[0] != prices[1]
    assert prices[0] != prices[2]


def test_defaults_have_the_seed_tutorials_shape(tmp_path: Path) -> None:
    generate(tmp_path / "t.csv")
    rows = read_rows(tmp_path / "t.csv")
    universe = {stock.stock_code: stock.sector for stock in load_universe()}
    assert len(rows) == 1000
    assert {"005930", "000660", "035420", "068270"} == set(universe)
    for stock_code, sector, price, volume, day in rows:
        assert universe[stock_code] == sector
        assert Decimal("50000") <= Decimal(price) <= Decimal("1000000")
        assert len(price.split(".")[1]) == 2
        assert 10 <= int(volume) <= 999
        assert day == "2024-03-08"
    assert {row[1] for row in rows} == {"semiconductor", "biotech", "internet"}


def test_control_totals_match_an_independent_recount(tmp_path: Path) -> None:
    totals = generate(tmp_path / "t.csv", rows=1_234)
    rows = read_rows(tmp_path / "t.csv")
    assert totals.rows == len(rows) == 1_234
    assert totals.total_volume == sum(int(r[3]) for r in rows)
    assert totals.total_value == sum(Decimal(r[2]) * int(r[3]) for r in rows)


def test_generation_spans_several_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("include.sector_report.generate.CHUNK_ROWS", 100)
    totals = generate(tmp_path / "t.csv", rows=250)
    rows = read_rows(tmp_path / "t.csv")
    assert totals.rows == len(rows) == 250
    assert totals.total_value == sum(Decimal(r[2]) * int(r[3]) for r in rows)
