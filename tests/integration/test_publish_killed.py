"""A publication killed with kill -9 at any step is completed by its retry: the night is published once, its
history has a line for every revision readers may have seen and for no other, the revision readers may have seen is
never rewritten, the index lists it, no temporary file is left behind, and a second retry changes nothing.

Each publication runs in a child process that sends itself SIGKILL right after one step: no ``except``, ``finally``
or ``atexit`` runs, as when the kernel's OOM killer or a lost worker ends the task. The retry runs here, as a retry
of the publish task would, with the index lock the dead process held released by the kernel.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from include.sector_report.layout import DataFolder, RevisionFolder, RunFolder
from include.sector_report.published_nights import pointer_event, published_revision
from include.sector_report.reporting.publish import publish
from include.sector_report.reporting.render import render_report
from include.sector_report.revisions import Revisions
from tests.support import PROJECT_ROOT
from tests.support.nights import FACTS, audit, published_night, sector, validated_night

# The integration tier admits only tests marked with what they start (conftest.py: tier_mismatch), and flink is the
# tier's one marker. These start no JVM, but a real process killed for real, which belongs with the tier's whole
# nights rather than with the unit tests.
pytestmark = pytest.mark.flink

DAY = "2024-03-08"
SECTORS = [sector("semiconductor", "1234567.50", volume=1234, count=6), sector("internet", "1000.00", count=3)]
CORRECTED = [sector("semiconductor", "1234000.00", volume=1230, count=5), sector("internet", "1500.25", count=4)]

# The child: publish the night rendered in the date's work area (or restatement work area), one step wrapped so that
# the process dies by SIGKILL right after it. The step's line is appended (see STEPS).
CHILD = """
import os, signal, sys
from pathlib import Path

from include.sector_report.layout import DataFolder
from include.sector_report.reporting import publish as publishing
from include.sector_report.revisions import Revisions
from tests.support.nights import audit

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def then_die(step):
    def wrapped(*args, **kwargs):
        step(*args, **kwargs)
        die()
    return wrapped

def instead_die(step):
    def wrapped(*args, **kwargs):
        die()
    return wrapped

root, day, area = sys.argv[1:]
data = DataFolder(Path(root))
work = data.restatement(day) if area == "restatement" else data.run(day)
{patch}
publishing.publish(work, locale="en", exchange="XKRX", audit=audit)
sys.exit("published: the step wrapped was never reached")
"""

# Each step of publication: the wrapping that kills the child right after it, and where the child died, as
# (the pointer moved, the index lists the revision, its history line is written): the retry's starting point.
STEPS = [
    pytest.param("Revisions.keep = then_die(Revisions.keep)", (False, False, False), id="after-revision-written"),
    # _put_in_place's first call is in `pointing`, right after the pointer was replaced: dying instead of it is dying
    # after the pointer moved, with the index pages still written beside their places.
    pytest.param(
        "publishing._put_in_place = instead_die(publishing._put_in_place)",
        (True, False, False),
        id="after-pointer-moved",
    ),
    pytest.param(
        "publishing._put_in_place = then_die(publishing._put_in_place)", (True, True, False), id="after-index"
    ),
    pytest.param("Revisions.record = then_die(Revisions.record)", (True, True, True), id="after-history-line"),
]


def rendered_night(data_root: Path, sectors: list[dict], **kwargs) -> RunFolder:
    """A night validated and rendered in its work area, not yet published: what ``publish`` starts from."""
    run = validated_night(data_root, DAY, sectors, **kwargs)
    render_report(run, locale="en", run_facts=FACTS)
    return run


def publish_en(run: RunFolder) -> RevisionFolder:
    return publish(run, locale="en", exchange="XKRX", audit=audit)


def killed_publication(work: RunFolder, patch: str) -> subprocess.CompletedProcess[str]:
    area = "restatement" if work.root.parent.name == "restatements" else "run"
    script = CHILD.format(patch=patch)
    return subprocess.run(
        [sys.executable, "-c", script, str(work.data_folder.root), DAY, area],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},  # the package imports as include.sector_report
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listed(data: DataFolder) -> list[tuple[str, int]]:
    """The nights the index links to, as (date, revision); none before a first publication put it in place."""
    index = data.index_html.read_text() if data.index_html.is_file() else ""
    found = re.findall(r'href="revisions/(\d{4}-\d{2}-\d{2})/r(\d+)/report\.html"', index)
    return [(day, int(number)) for day, number in found]


def lines(data: DataFolder) -> list[tuple[str, int]]:
    return [(line.get("event", "published"), line["revision"]) for line in Revisions(data.revisions(DAY)).history()]


def revision_files(data: DataFolder, number: int) -> dict[str, tuple[bytes, int, int]]:
    """Revision ``number``'s files: their bytes, inode and modification time, which change if a file is rewritten
    even with the same bytes."""
    root = data.revision(DAY, number).root
    return {
        str(f.relative_to(root)): (f.read_bytes(), f.stat().st_ino, f.stat().st_mtime_ns)
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


def everything(data: DataFolder) -> dict[str, object]:
    """Every file of the data folder: its bytes, and for the revisions' folder (the revisions, the history) its inode
    and modification time too. The index pages are put in place anew by each publish of a published revision (new
    inode, same bytes): their bytes are what readers see."""
    files = sorted(f for f in data.root.rglob("*") if f.is_file() and f.name != ".index.lock")
    return {
        str(f.relative_to(data.root)): (
            (f.read_bytes(), f.stat().st_ino, f.stat().st_mtime_ns)
            if f.is_relative_to(data.revisions_root)
            else f.read_bytes()
        )
        for f in files
    }


def temporaries(data: DataFolder) -> list[str]:
    return sorted(str(p.relative_to(data.root)) for p in data.root.rglob(".*") if p.name != ".index.lock")


@pytest.mark.parametrize("first", [pytest.param(True, id="revision-1"), pytest.param(False, id="revision-2")])
@pytest.mark.parametrize(("patch", "died_at"), STEPS)
def test_a_publication_killed_after_any_step_is_completed_by_its_retry(
    tmp_path: Path, patch: str, died_at: tuple[bool, bool, bool], first: bool
) -> None:
    data = DataFolder(tmp_path)
    if first:  # the night's first publication
        work, number = rendered_night(tmp_path, SECTORS), 1
    else:  # a restatement of a published night: revision 1 is what readers see until revision 2's pointer moves
        published_night(tmp_path, DAY, SECTORS)
        work, number = rendered_night(tmp_path, CORRECTED, restatement=True, input_sha256="c" * 64), 2
    earlier = {n: revision_files(data, n) for n in range(1, number)}

    child = killed_publication(work, patch)
    assert child.returncode == -signal.SIGKILL, f"the child was not killed: {child.returncode}\n{child.stderr}"
    # The child died where it was meant to: the retry starts from that step's state.
    pointed = (pointer_event(data, DAY) or {}).get("revision") == number
    recorded = ("published", number) in lines(data)
    assert (pointed, (DAY, number) in listed(data), recorded) == died_at
    assert data.revision(DAY, number).report_html.is_file(), "every step comes after the revision is written"
    kept = revision_files(data, number)

    assert publish_en(work) == data.revision(DAY, number)  # the retry

    assert published_revision(data, DAY) == data.revision(DAY, number), "published, as the revision rendered"
    assert lines(data) == [("published", n) for n in range(1, number + 1)], "one line per revision readers saw"
    assert pointer_event(data, DAY) == Revisions(data.revisions(DAY)).history()[-1]
    assert data.revision(DAY, number).report_html.read_bytes() == work.staged_report_html.read_bytes()
    if pointed:  # readers may have seen it: the retry found it as it was, and left it so
        assert revision_files(data, number) == kept
    assert {n: revision_files(data, n) for n in range(1, number)} == earlier, "earlier revisions untouched"
    assert listed(data) == [(DAY, number)], "the index lists the night once, as the revision published"
    assert f"url=revisions/{DAY}/r{number}/report.html" in data.latest_html.read_text()
    assert temporaries(data) == [], "nothing left beside its place by the killed try"

    after = everything(data)
    assert publish_en(work) == data.revision(DAY, number)  # a second retry: nothing left to do
    assert everything(data) == after
