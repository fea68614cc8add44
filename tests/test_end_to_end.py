"""The whole nightly DAG, run with dag.test() on a real Flink MiniCluster and a real Airflow DB."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from include.sector_report.run_folder import RunFolder
from tests.landing import landed_rows

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture
def nightly_dag(airflow_db):
    # Parsed afresh for every test: dag.test() keeps one run's conf in the DAG object's params.
    bag = DagBag(dag_folder=DAGS_FOLDER)
    assert bag.import_errors == {}
    dag = bag.dags["nightly_sector_report"]
    for task in dag.tasks:
        task.retries = 0  # dag.test() sleeps through retry delays: a bug should fail the test at once
    return dag


def run_dag(dag, day: str, conf: dict) -> str:
    logical_date = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return dag.test(logical_date=logical_date, run_conf=conf).state


def independent_summary(run: RunFolder) -> dict[str, dict]:
    """Per-sector figures computed with Decimal from the input Flink read, without Flink."""
    groups: dict[str, list[tuple[Decimal, int]]] = defaultdict(list)
    for _code, sector, price_cents, volume, _day in landed_rows(run):
        groups[sector].append((Decimal(price_cents) / 100, volume))
    return {
        sector: {
            "total_value": sum(p * v for p, v in rows),
            "avg_price": sum(p for p, _ in rows) / len(rows),
            "total_volume": sum(v for _, v in rows),
            "transaction_count": len(rows),
        }
        for sector, rows in groups.items()
    }


class SectorTable(HTMLParser):
    """Collects the text of each body row of the report's #sector-table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "sector-table") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        elif tag == "table":
            self._in_table = self._in_body = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def report_rows(report: Path) -> dict[str, list[str]]:
    parser = SectorTable()
    parser.feed(report.read_text(encoding="utf-8"))
    return {row[0]: row[1:] for row in parser.rows}


def test_generated_run_reports_figures_equal_to_an_independent_computation(nightly_dag, data_root) -> None:
    assert run_dag(nightly_dag, "2024-03-08", {"rows": 3000, "seed": 7, "locale": "en", "parallelism": 2}) == "success"
    run = RunFolder.for_date(data_root, "2024-03-08")
    expected = independent_summary(run)
    summary = json.loads(run.summary_json.read_text())
    assert {s["sector"] for s in summary["sectors"]} == set(expected) == {"semiconductor", "biotech", "internet"}
    for published in summary["sectors"]:
        want = expected[published["sector"]]
        assert Decimal(published["total_value"]) == want["total_value"]  # exact, to the cent
        assert Decimal(published["avg_price"]) == want["avg_price"].quantize(Decimal("1e-6"), ROUND_HALF_UP)
        assert published["total_volume"] == want["total_volume"]
        assert published["transaction_count"] == want["transaction_count"]
    assert summary["totals"]["rows"] == 3000
    published = (data_root / "reports" / "index.html").read_text()
    assert 'href="../runs/2024-03-08/report.html"' in published

    shown = report_rows(run.report_html)
    assert set(shown) == set(expected)
    for sector, want in expected.items():
        value, avg, volume, count, _share, _change = shown[sector]
        assert value == f"{want['total_value']:,.2f}"
        assert avg == f"{want['avg_price'].quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
        assert volume == f"{want['total_volume']:,}"
        assert count == f"{want['transaction_count']:,}"


def write_landing_file(path: Path, good_rows: int, bad_rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["stock_code,sector,price,volume,transaction_date"]
    lines += [f"005930,semiconductor,{1000 + i}.25,{10 + i},2024-03-09" for i in range(good_rows // 2)]
    lines += [f"068270,biotech,{2000 + i}.50,{20 + i},2024-03-09" for i in range(good_rows - good_rows // 2)]
    lines[5:5] = bad_rows
    path.write_text("\r\n".join(lines), encoding="utf-8")
    return path


def test_landed_file_with_a_bad_row_is_quarantined_and_a_rerun_replaces_outputs(nightly_dag, data_root) -> None:
    write_landing_file(data_root / "exports" / "export.csv", 199, ["005930,semiconductor,not-a-price,5,2024-03-09"])
    conf = {"source": "file", "input_path": "exports/export.csv", "max_reject_ratio": 0.01}
    assert run_dag(nightly_dag, "2024-03-09", conf) == "success"
    run = RunFolder.for_date(data_root, "2024-03-09")
    first_summary = run.summary_json.read_text()
    summary = json.loads(first_summary)
    assert (summary["data_rows"], summary["rejected_rows"], summary["totals"]["rows"]) == (200, 1, 199)
    with run.rejected_csv.open(newline="") as handle:
        quarantined = list(csv.DictReader(handle))
    assert [(q["file"], q["line"], q["record"]) for q in quarantined] == [
        ("export.csv", "6", "005930,semiconductor,not-a-price,5,2024-03-09")
    ]
    assert "rejected.csv" in run.report_html.read_text()  # the report names the quarantine file (Korean default)

    assert run_dag(nightly_dag, "2024-03-09", conf) == "success"
    assert run.summary_json.read_text() == first_summary
    for sink in (run.sector_sink_dir, run.stock_sink_dir):
        parts = [p for p in sink.iterdir() if not p.name.startswith(".")]
        assert len(parts) == 1, f"a rerun must replace the sink, not append to it: {parts}"


def test_too_many_bad_rows_fail_the_run_and_publish_nothing(nightly_dag, data_root) -> None:
    bad = [f"005930,semiconductor,1.00,{volume},2024-03-10" for volume in ("0", "-3", "x")]
    write_landing_file(data_root / "incoming" / "transactions_2024-03-10.csv", 97, bad)  # found by its date
    assert run_dag(nightly_dag, "2024-03-10", {"source": "file"}) == "failed"
    run = RunFolder.for_date(data_root, "2024-03-10")
    validation = json.loads(run.validation_json.read_text())
    assert validation["passed"] is False
    assert [c["name"] for c in validation["checks"] if not c["passed"]] == ["reject ratio"]
    assert not run.summary_json.exists()
    assert not run.report_html.exists()


def test_an_allowed_empty_day_reports_no_transactions(nightly_dag, data_root) -> None:
    write_landing_file(data_root / "incoming" / "transactions_2024-03-11.csv", 0, [])  # a header only
    conf = {"source": "file", "allow_empty": True, "locale": "en"}
    assert run_dag(nightly_dag, "2024-03-11", conf) == "success"
    run = RunFolder.for_date(data_root, "2024-03-11")
    summary = json.loads(run.summary_json.read_text())
    assert (summary["data_rows"], summary["sectors"]) == (0, [])
    html = run.report_html.read_text()
    assert "No transactions on this date." in html
    assert report_rows(run.report_html) == {}
