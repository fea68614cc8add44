"""The watcher on incoming/: which dropped files are corrections, and taking one up for a restatement."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.sector_report.corrections import (
    CannotLook,
    Hashes,
    check_landed_as_taken_up,
    corrections_waiting,
    pending_corrections,
    take_up,
)
from include.sector_report.errors import ReportError
from include.sector_report.layout import DataFolder
from include.sector_report.revisions import Revisions
from tests.support.nights import SECTORS, drop, published_from, published_night


def test_a_different_file_for_a_published_date_is_a_correction_and_the_same_file_is_not(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    drop(data, "transactions_2024-03-08.csv", "original\n", age=120)
    published_from(data, "2024-03-08", "original\n")
    assert pending_corrections(tmp_path) == []
    path, sha = drop(data, "transactions_20240308_corrected.csv", "corrected\n")
    [correction] = pending_corrections(tmp_path)
    assert (correction.date, correction.path, correction.file.sha256) == ("2024-03-08", path, sha)
    assert corrections_waiting(str(tmp_path)) == [{"key": f"2024-03-08:{sha}", **correction.to_json()}]
    # The original dropped again (newest again): the file the published revision was made from.
    drop(data, "transactions_2024-03-08.csv", "original\n", age=31)
    assert pending_corrections(tmp_path) == []


def test_a_file_for_a_date_never_published_or_still_being_written_is_no_correction(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    drop(data, "transactions_2024-03-11.csv", "the night's own input\n")
    assert pending_corrections(tmp_path) == []
    published_from(data, "2024-03-08", "original\n")
    drop(data, "transactions_2024-03-08.csv", "still being written", age=1)
    assert pending_corrections(tmp_path) == []
    drop(data, "transactions_2024-03-08.ctl.json", "{}", age=1)  # the sender's control file: complete
    assert [c.date for c in pending_corrections(tmp_path)] == ["2024-03-08"]


def test_a_correction_is_taken_up_once_and_again_only_by_the_run_that_took_it(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    published_from(data, "2024-03-07", "original 7\n")
    drop(data, "transactions_2024-03-08.csv", "corrected 8\n")
    drop(data, "transactions_2024-03-07.csv", "corrected 7\n")
    first = take_up(tmp_path, run_id="run-1")
    assert first is not None
    assert first.date == "2024-03-07", "the oldest date first"
    assert take_up(tmp_path, run_id="run-1") == first, "its tasks cleared, the run restates the same file"
    second = take_up(tmp_path, run_id="run-2")
    assert second is not None
    assert second.date == "2024-03-08"
    assert take_up(tmp_path, run_id="run-3") is None
    with pytest.raises(
        ReportError, match=r"No corrected file for 2024-03-08 waits in .*incoming.*taken up for it before"
    ):
        take_up(tmp_path, run_id="run-4", date="2024-03-08")
    assert [c["run_id"] for c in map(json.loads, Revisions(data.revisions("2024-03-08")).claims_jsonl.open())] == [
        "run-2"
    ]


def test_a_restatement_refuses_a_file_written_over_after_it_was_taken_up(tmp_path: Path) -> None:
    run = published_night(tmp_path, "2024-03-08", SECTORS)
    kept = tmp_path / "corrections" / "2024-03-08" / "0123456789abcdef" / "transactions_2024-03-08.csv"
    check_landed_as_taken_up(run, "0" * 64, kept)
    with pytest.raises(ReportError, match=f"changed after it was taken up .* move {kept} back into incoming/"):
        check_landed_as_taken_up(run, "1" * 64, kept)


def test_a_night_whose_input_digest_was_never_recorded_is_corrected_by_a_file_dropped_after_it(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    drop(data, "transactions_2024-03-08.csv", "original\n", age=600)
    revision = published_night(tmp_path, "2024-03-08", SECTORS)
    # As an older release left it: no digest recorded, published 5 minutes ago.
    manifest = json.loads(revision.control_json.read_text())
    revision.control_json.write_text(json.dumps({**manifest, "input_files": []}))
    five_minutes_ago = dt.datetime.fromtimestamp(time.time() - 300, dt.UTC).isoformat(timespec="seconds")
    line = {**Revisions.of(revision).history()[0], "input_files": [], "published_at": five_minutes_ago}
    for record in (Revisions.of(revision).history_jsonl, data.pointer("2024-03-08")):
        record.write_text(json.dumps(line) + "\n")
    assert pending_corrections(tmp_path) == [], "its own file, dropped before it was published"
    _, sha = drop(data, "transactions_2024-03-08.csv", "corrected\n", age=31)
    correction = take_up(tmp_path, run_id="run-1")
    assert correction is not None
    assert correction.file.sha256 == sha


def test_what_the_watcher_hashed_is_kept_for_the_next_process_while_the_file_stays_as_it_was(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    path, sha = drop(data, "transactions_2024-03-08.csv", "corrected\n")
    assert [c.file.sha256 for c in pending_corrections(tmp_path)] == [sha]
    kept = data.root / ".watcher" / "hashes.json"
    entry = json.loads(kept.read_text())[str(path)]
    assert entry["sha256"] == sha
    # A fresh process trusts what was kept (it does not read the file again): shown with a made-up hash.
    kept.write_text(json.dumps({str(path): {**entry, "sha256": "f" * 64}}))
    assert [c.file.sha256 for c in pending_corrections(tmp_path)] == ["f" * 64]
    _, rewritten = drop(data, "transactions_2024-03-08.csv", "Corrected\n")  # same size, written again
    assert [c.file.sha256 for c in pending_corrections(tmp_path)] == [rewritten]
    path.unlink()
    assert pending_corrections(tmp_path) == []
    assert json.loads(kept.read_text()) == {}, "files gone from incoming/ are forgotten"


def test_a_file_that_cannot_be_read_holds_back_its_date_for_one_look_and_other_dates_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-07", "original 7\n")
    published_from(data, "2024-03-08", "original 8\n")
    drop(data, "transactions_2024-03-07.csv", "corrected 7\n")
    # A regular file that even root cannot read (reading it fails with EIO); its control file says it is complete.
    unreadable = data.incoming / "transactions_2024-03-08.csv"
    unreadable.symlink_to("/proc/self/mem")
    drop(data, "transactions_2024-03-08.ctl.json", "{}")
    assert [c.date for c in pending_corrections(tmp_path)] == ["2024-03-07"]
    assert f"No correction for 2024-03-08 is taken up this look: [Errno 5] Input/output error: '{unreadable}'" in (
        caplog.text
    )
    unreadable.unlink()
    drop(data, "transactions_2024-03-08.csv", "corrected 8\n")
    assert [c.date for c in pending_corrections(tmp_path)] == ["2024-03-07", "2024-03-08"], "looked at again"


def test_what_is_named_like_a_days_file_but_is_no_regular_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    drop(data, "transactions_2024-03-08.csv", "corrected\n")
    (data.incoming / "transactions_2024-03-08_a.csv").mkdir()
    (data.incoming / "transactions_2024-03-08_b.csv").symlink_to(tmp_path / "gone.csv")
    os.mkfifo(data.incoming / "transactions_2024-03-08_c.csv")
    assert [c.path.name for c in pending_corrections(tmp_path)] == ["transactions_2024-03-08.csv"]
    for name in "abc":
        assert (
            f"Skipped {data.incoming}/transactions_2024-03-08_{name}.csv this look: not a regular file" in caplog.text
        )


def test_a_file_that_vanishes_before_it_is_hashed_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="gone.csv"):
        Hashes.load(DataFolder(tmp_path)).of(tmp_path / "gone.csv")


def test_an_incoming_folder_that_cannot_be_listed_is_one_item_that_fires_once_and_fails_the_take_up(
    tmp_path: Path,
) -> None:
    data = DataFolder(tmp_path)
    assert pending_corrections(tmp_path) == [], "no incoming/ yet: nothing was ever dropped"
    data.incoming.write_text("a file where the folder should be")
    with pytest.raises(CannotLook, match=r"cannot list .*incoming \(NotADirectoryError: .*SECTOR_REPORT_INCOMING"):
        pending_corrections(tmp_path)
    [item] = corrections_waiting(str(tmp_path))
    assert (item["key"], item["refire"]) == ("cannot-look:NotADirectoryError", False)
    assert item["error"].startswith(f"The corrections watcher cannot list {data.incoming}")
    with pytest.raises(CannotLook):
        take_up(tmp_path, run_id="run-1")
    [item] = corrections_waiting(str(tmp_path / "unmounted"))
    assert item["key"] == "cannot-look:FileNotFoundError", "the data folder itself is gone"


def test_a_file_taken_up_is_moved_out_of_incoming_with_its_control_file_and_kept_with_its_sha256(
    tmp_path: Path,
) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    older, _ = drop(data, "transactions_2024-03-08_old.csv", "an older export\n", age=600)
    dropped, sha = drop(data, "transactions_2024-03-08.csv", "corrected\n", age=1)
    drop(data, "transactions_2024-03-08.ctl.json", "{}", age=1)
    modified = dropped.stat().st_mtime_ns
    correction = take_up(tmp_path, run_id="run-1")
    assert correction is not None
    kept = data.corrections("2024-03-08") / sha[:16] / "transactions_2024-03-08.csv"
    assert (correction.path, correction.file.sha256) == (kept, sha)
    assert kept.read_text() == "corrected\n"
    assert kept.stat().st_mtime_ns == modified
    assert kept.with_name("transactions_2024-03-08.ctl.json").is_file()
    assert sorted(p.name for p in data.incoming.iterdir()) == [older.name], "the control file went with it"
    [claim] = map(json.loads, Revisions(data.revisions("2024-03-08")).claims_jsonl.open())
    assert (claim["sha256"], claim["dropped_path"], claim["kept_path"]) == (sha, str(dropped), str(kept))
    assert pending_corrections(tmp_path) == [], "the older file left in incoming/ is not the newest: no correction"
    assert take_up(tmp_path, run_id="run-1") == correction, "its tasks cleared, the run restates the kept file"


def test_a_run_cleared_midway_through_taking_up_finishes_claiming_and_moving(tmp_path: Path) -> None:
    data = DataFolder(tmp_path)
    published_from(data, "2024-03-08", "original\n")
    dropped, _ = drop(data, "transactions_2024-03-08.csv", "corrected\n")
    correction = take_up(tmp_path, run_id="run-1")
    assert correction is not None
    # As if it stopped after recording what it took up: not claimed, not moved.
    Revisions(data.revisions("2024-03-08")).claims_jsonl.unlink()
    correction.path.rename(dropped)
    assert take_up(tmp_path, run_id="run-1") == correction
    assert correction.path.is_file()
    assert not dropped.exists()
    assert [c["run_id"] for c in map(json.loads, Revisions(data.revisions("2024-03-08")).claims_jsonl.open())] == [
        "run-1"
    ]
    # As if a copy across volumes stopped before removing the original: removed now, the kept copy stays.
    shutil.copy2(correction.path, dropped)
    assert take_up(tmp_path, run_id="run-1") == correction
    assert not dropped.exists()
    assert correction.path.is_file()
    correction.path.unlink()
    with pytest.raises(
        ReportError,
        match=rf"neither in .*incoming as transactions_2024-03-08.csv nor kept at .*put it back at {dropped}",
    ):
        take_up(tmp_path, run_id="run-1")


@pytest.fixture
def other_volume() -> Iterator[Path]:
    """A folder on another file system than tmp_path (a tmpfs), where incoming/ may be mounted."""
    folder = Path(tempfile.mkdtemp(dir="/dev/shm"))
    yield folder
    shutil.rmtree(folder)


def test_a_file_taken_up_from_incoming_on_another_volume_is_copied_whole_then_removed(
    tmp_path: Path, other_volume: Path
) -> None:
    data = DataFolder(tmp_path)
    if other_volume.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system as the tests' folder here")
    data.incoming.symlink_to(other_volume)
    published_from(data, "2024-03-08", "original\n")
    dropped, sha = drop(data, "transactions_2024-03-08.csv", "corrected\n")
    modified = dropped.stat().st_mtime_ns
    correction = take_up(tmp_path, run_id="run-1")
    assert correction is not None
    assert correction.path.read_text() == "corrected\n"
    assert correction.path.stat().st_mtime_ns == modified
    assert list(other_volume.iterdir()) == []
    assert [p.name for p in correction.path.parent.iterdir() if p.name.startswith(".")] == [], "no partial copy left"
