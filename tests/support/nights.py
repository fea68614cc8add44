"""Nights for the tests of what reads published nights: a summary as validation writes it, published the real way."""

from __future__ import annotations

import hashlib
import json
import os
import time
from decimal import Decimal
from pathlib import Path

from include.sector_report.layout import DataFolder, RevisionFolder, RunFolder
from include.sector_report.published_nights import published_revision
from include.sector_report.reporting.publish import publish
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import audit_record
from include.sector_report.summary import NightSummary, SectorSummary, StockSummary, write_stock_totals
from include.sector_report.transactions import ControlTotals, to_cents

FACTS = {"run_id": "manual__2026-12-01T22:13:53.123456+00:00", "flink_job_id": "abc123", "flink_duration_s": 4.2}


def validated_night(
    data_root: Path,
    day: str,
    sectors: list[dict],
    top_stocks: dict[str, list[dict]] | None = None,
    *,
    data_rows: int = 10,
    rejected_rows: int = 1,
    restatement: bool = False,
    input_sha256: str = "0" * 64,
    stock_totals: list[dict] | None = None,
) -> RunFolder:
    """A night whose summary validation has written (its folder otherwise empty), not yet published; in the
    date's restatement folder with ``restatement``; with every stock's totals (``stock_totals``) if given."""
    data = DataFolder(data_root)
    run = data.restatement(day) if restatement else data.run(day)
    run.reset()
    rows = [SectorSummary.from_json(s) for s in sectors]
    totals = ControlTotals()
    totals.add_many(
        sum(s.transaction_count for s in rows),
        sum(s.total_volume for s in rows),
        sum(to_cents(s.total_value) for s in rows),
    )
    top = {sector: [StockSummary.from_json(s) for s in stocks] for sector, stocks in (top_stocks or {}).items()}
    NightSummary(day, rows, top, totals, data_rows, rejected_rows).write(run)
    if stock_totals is not None:
        write_stock_totals(run, [StockSummary.from_json(s) for s in stock_totals])
    manifest = {
        "source": "file",
        "data_rows": data_rows,
        "rejected_rows": rejected_rows,
        "allow_empty": False,
        "control": totals.to_json(),
        "input_files": [{"name": f"transactions_{day}.csv", "size": 100, "sha256": input_sha256}],
    }
    run.control_json.write_text(json.dumps(manifest), encoding="utf-8")
    # The input a revision keeps (what the month rolls up is not read here: a placeholder saying whose it is).
    run.transactions_csv.write_text(f"transactions of {day}\n", encoding="utf-8")
    run.stocks_csv.write_text(f"stocks of {day}\n", encoding="utf-8")
    return run


def audit(run: RunFolder, number: int) -> dict:
    """The audit line the publish task writes, for a night published outside a DAG run."""
    return audit_record(
        run, revision=number, flink_job_id=FACTS["flink_job_id"], dag_id="test", run_id=FACTS["run_id"], recipients=[]
    )


def published(data_root: Path, day: str) -> RevisionFolder:
    """The revision of ``day`` readers see (the test fails if none is)."""
    revision = published_revision(DataFolder(data_root), day)
    assert revision is not None, f"{day} is not published"
    return revision


def published_night(data_root: Path, day: str, sectors: list[dict], locale: str = "en", **kwargs) -> RevisionFolder:
    """A night rendered and published as the DAG's tasks do it: the revision readers see."""
    run = validated_night(data_root, day, sectors, **kwargs)
    render_report(run, locale=locale, run_facts=FACTS)
    return publish(run, locale=locale, exchange="XKRX", audit=audit)


def sector(name: str, total_value: str, avg_price: str = "10.00", volume: int = 1, count: int = 1) -> dict:
    return {
        "sector": name,
        "total_value": str(Decimal(total_value)),
        "avg_price": avg_price,
        "total_volume": volume,
        "transaction_count": count,
    }


SECTORS = [sector("semiconductor", "1000.00", volume=10, count=2), sector("internet", "50.00", volume=5, count=1)]


def drop(data: DataFolder, name: str, text: str, age: float = 60) -> tuple[Path, str]:
    """A file in incoming/, ``age`` seconds old (settled); its SHA-256."""
    data.incoming.mkdir(parents=True, exist_ok=True)
    path = data.incoming / name
    path.write_text(text)
    modified = time.time() - age
    os.utime(path, (modified, modified))
    return path, hashlib.sha256(text.encode()).hexdigest()


def published_from(data: DataFolder, day: str, text: str) -> RevisionFolder:
    """The night of ``day`` published from the file ``text`` (as if landed from incoming/)."""
    return published_night(data.root, day, SECTORS, input_sha256=hashlib.sha256(text.encode()).hexdigest())
