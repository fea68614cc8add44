from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from include.sector_report.landing import generate as generate_module
from include.sector_report.landing.generate import generate_batches, generate_transactions, write_seed_csv
from include.sector_report.landing.land import land_csv
from include.sector_report.layout import RunFolder
from include.sector_report.universe import load_universe
from tests.support.landing import landed_rows

DAY = dt.date(2024, 3, 8)


def generate(root: Path, *, rows: int = 1000, seed: int = 42, day: dt.date = DAY) -> RunFolder:
    run = RunFolder.for_date(root, day.isoformat())
    run.reset()
    totals = generate_transactions(run, rows=rows, seed=seed, logical_date=day, universe=load_universe())
    assert totals.rows == rows
    return run


def batches(rows: int, seed: int, day: dt.date = DAY):
    return generate_batches(rows=rows, seed=seed, logical_date=day, universe=load_universe())


def test_same_seed_and_date_give_the_same_files(tmp_path: Path) -> None:
    first, second = generate(tmp_path / "a"), generate(tmp_path / "b")
    for name in ("transactions_csv", "stocks_csv"):
        assert getattr(first, name).read_bytes() == getattr(second, name).read_bytes()


def test_another_date_or_seed_gives_other_rows(tmp_path: Path) -> None:
    prices = [
        [row[2] for row in landed_rows(run)]
        for run in (
            generate(tmp_path / "a"),
            generate(tmp_path / "b", day=DAY + dt.timedelta(days=1)),
            generate(tmp_path / "c", seed=7),
        )
    ]
    assert prices[0] != prices[1]
    assert prices[0] != prices[2]


@pytest.mark.parametrize(
    ("rows", "seed", "day", "sha256"),
    [
        (1000, 42, DAY, "45fd4fee1a65714da96a4c0a9d8f12253140800535c30e566ae8f6c0cc8ff0a3"),
        (1234, 7, DAY + dt.timedelta(days=1), "db1176ba670e11cf6700d038143d1c949a643bfd2abaa014b8f89e9c98781146"),
    ],
)
def test_the_draws_are_the_first_releases(tmp_path: Path, rows: int, seed: int, day: dt.date, sha256: str) -> None:
    """Written in the seed's format, generated data is byte for byte the file the first release generated."""
    write_seed_csv(tmp_path / "export.csv", batches(rows, seed, day))
    assert hashlib.sha256((tmp_path / "export.csv").read_bytes()).hexdigest() == sha256


def test_defaults_have_the_seed_tutorials_shape(tmp_path: Path) -> None:
    rows = landed_rows(generate(tmp_path))
    universe = {stock.stock_code: stock.sector for stock in load_universe()}
    assert len(rows) == 1000
    assert {"005930", "000660", "035420", "068270"} == set(universe)
    for stock_code, sector, price_cents, volume, day in rows:
        assert universe[stock_code] == sector
        assert 5_000_000 <= price_cents <= 100_000_000
        assert 10 <= volume <= 999
        assert day == "2024-03-08"
    assert {row[1] for row in rows} == {"semiconductor", "biotech", "internet"}


def test_control_totals_match_an_independent_recount(tmp_path: Path) -> None:
    run = RunFolder.for_date(tmp_path, DAY.isoformat())
    run.reset()
    totals = generate_transactions(run, rows=1_234, seed=42, logical_date=DAY, universe=load_universe())
    rows = landed_rows(run)
    assert totals.rows == len(rows) == 1_234
    assert totals.total_volume == sum(row[3] for row in rows)
    assert totals.total_value_cents == sum(row[2] * row[3] for row in rows)


def test_generation_spans_several_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(generate_module, "CHUNK_ROWS", 100)
    run = RunFolder.for_date(tmp_path, DAY.isoformat())
    run.reset()
    totals = generate_transactions(run, rows=250, seed=42, logical_date=DAY, universe=load_universe())
    rows = landed_rows(run)
    assert totals.rows == len(rows) == 250
    assert totals.total_value_cents == sum(row[2] * row[3] for row in rows)


def test_a_seed_format_export_lands_as_the_same_transactions(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    exported = write_seed_csv(export, batches(2_000, 3))
    run = RunFolder.for_date(tmp_path / "data", DAY.isoformat())
    run.reset()
    landed = land_csv(export, run)
    assert (landed.rejected_rows, landed.control) == (0, exported)
    assert landed_rows(run) == landed_rows(generate(tmp_path / "generated", rows=2_000, seed=3))
    first = export.read_text().splitlines()[0].split(",")
    assert Decimal(first[2]).as_tuple().exponent == -2  # the seed's price format: two decimals
