"""Taking over a data folder the landed release wrote (tests/fixtures/landed_release_data.tar.gz, made by that
release's own DAGs: see tests/fixtures/README.md)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest

from include.sector_report.corrections import pending_corrections
from include.sector_report.layout import DataFolder
from include.sector_report.published_nights import published_nights, published_revision
from include.sector_report.reporting.publish import publish
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import Revisions, night_recipients
from include.sector_report.upgrade import UNKNOWN, TakenOver, take_over
from tests.support.nights import FACTS, audit, sector, validated_night

LANDED_RELEASE_DATA = Path(__file__).parents[2] / "fixtures" / "landed_release_data.tar.gz"


@pytest.fixture
def landed(tmp_path: Path) -> DataFolder:
    """A copy of the folder the landed release wrote."""
    with tarfile.open(LANDED_RELEASE_DATA) as tar:
        tar.extractall(tmp_path, filter="data")
    return DataFolder(tmp_path / "data")


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_published_night_becomes_its_revisions_as_it_was_published(landed: DataFolder) -> None:
    before = files(landed.root)
    moved = take_over(landed, locale="ko", exchange="XKRX")
    assert {(m.page.relative_to(landed.root).as_posix(), *(w.relative_to(landed.root).as_posix() for w in m.was))
            for m in moved} == {
        ("revisions/2024-04-01/r1/report.html", "runs/2024-04-01/report.html"),
        ("revisions/2024-04-02/r1/report.html", "revisions/2024-04-02/r1.html", "runs/2024-04-02/report.html"),
        ("revisions/2024-04-02/r2/report.html", "runs/2024-04-02/report.html"),
        ("revisions/2024-04-03/r1/report.html", "runs/2024-04-03/report.html"),
    }  # fmt: skip
    assert [(night.date, night.number) for night in published_nights(landed)] == [
        ("2024-04-01", 1),
        ("2024-04-02", 2),
        ("2024-04-03", 1),
    ]
    after = files(landed.root)
    for day, number, report in (("2024-04-02", 1, "revisions/2024-04-02/r1.html"), ("2024-04-02", 2, None)):
        revision = f"revisions/{day}/r{number}"
        assert after[f"{revision}/report.html"] == before[report or f"runs/{day}/report.html"], "byte for byte"
    assert after["revisions/2024-04-02/r2/input/transactions.csv"] == before["runs/2024-04-02/input/transactions.csv"]
    assert after["revisions/2024-04-02/r1/summary.json"] == before["revisions/2024-04-02/r1.json"]
    assert not any(re.fullmatch(r"runs/[\d-]+/report\.html", name) for name in after), "no stale page left to read"
    kept = {name: content for name, content in before.items() if not re.fullmatch(r"runs/[\d-]+/report\.html", name)}
    assert {name: after[name] for name in kept if name not in ("index.html", "latest.html")} == {
        name: content for name, content in kept.items() if name not in ("index.html", "latest.html")
    }, "every other file of the earlier release as it was"
    assert "revisions/2024-04-03/r1/report.html" in after["latest.html"].decode()


def test_the_audit_trail_keeps_its_lines_and_says_what_is_unknown(landed: DataFolder) -> None:
    history = Revisions(landed.revisions("2024-04-02")).history_jsonl.read_bytes()
    take_over(landed, locale="ko", exchange="XKRX")
    assert Revisions(landed.revisions("2024-04-02")).history_jsonl.read_bytes() == history
    [line] = Revisions(landed.revisions("2024-04-03")).history()
    assert (line["revision"], line["recipients"], line["taken_over"]) == (1, None, UNKNOWN)
    assert line["input_files"][0]["sha256"], "what its control.json recorded"
    assert night_recipients(landed.revision("2024-04-03", 1), before=2) == []


def test_taking_over_again_changes_nothing_and_nothing_is_a_correction(landed: DataFolder) -> None:
    take_over(landed, locale="ko", exchange="XKRX")
    once = files(landed.root)
    assert take_over(landed, locale="ko", exchange="XKRX") == []
    assert files(landed.root) == once
    assert pending_corrections(landed.root) == [], "the corrected file in incoming/ is revision 2's input"


def test_a_taken_over_night_is_corrected_as_its_next_revision(landed: DataFolder) -> None:
    take_over(landed, locale="ko", exchange="XKRX")
    work = validated_night(landed.root, "2024-04-03", [sector("반도체", "100.00")], restatement=True)
    render_report(work, locale="ko", run_facts=FACTS)
    revision = publish(work, locale="ko", exchange="XKRX", audit=audit)
    assert revision.number == 2
    assert published_revision(landed, "2024-04-03") == revision
    assert re.search(r'href="\.\./r1/report\.html"', revision.report_html.read_text())
    assert [line["revision"] for line in Revisions.of(revision).history()] == [1, 2]


def test_each_page_is_offered_to_the_viewer_before_its_night_is_published_and_again_if_that_was_cut_short(
    landed: DataFolder,
) -> None:
    offered: list[str] = []

    def serve_then_die_on_the_second_night(moved: TakenOver) -> None:
        night = moved.page.parent.parent.name
        assert published_revision(landed, night) is None, "offered before its pointer is written"
        offered.append(night)
        if night == "2024-04-02":
            raise KeyboardInterrupt("the task was killed")

    with pytest.raises(KeyboardInterrupt):
        take_over(landed, locale="ko", exchange="XKRX", serve=serve_then_die_on_the_second_night)
    assert published_revision(landed, "2024-04-01") is not None
    assert published_revision(landed, "2024-04-02") is None, "cut short: not taken over yet"
    offered.clear()
    take_over(landed, locale="ko", exchange="XKRX", serve=lambda moved: offered.append(moved.page.parent.parent.name))
    assert offered == ["2024-04-02", "2024-04-02", "2024-04-03"], "the night cut short is offered again, whole"
    assert [night.date for night in published_nights(landed)] == ["2024-04-01", "2024-04-02", "2024-04-03"]
