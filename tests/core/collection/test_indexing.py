"""Re-indexing around failures: unreadable files, files gone from disk, other folders."""

from __future__ import annotations

import os
import sqlite3

import pytest

from fixtures.collection_data import ColourEncoder, colour_image, make_image_folder, write_png
from napari_clipcap.core.collection import indexing
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.collection.store import Collection


@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "images")


def _generation(col_dir) -> int:
    with Collection(col_dir) as col:
        return col.generation


def _counts(rep) -> tuple[int, int, int, int]:
    return rep.added, rep.updated, rep.unchanged, len(rep.failed)


def test_failed_file_is_reported_again_then_indexed_once_fixed(folder, tmp_path):
    col_dir, broken = tmp_path / "col", folder / "broken.png"
    broken.write_bytes(b"not a png")
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (11, 0, 0, 1) and rep.files == 12 and rep.items == 12
    assert rep.failed[0]["path"] == str(broken.resolve())
    assert "not an image" in rep.failed[0]["error"] and rep.failed[0]["unchanged"] is False
    generation = _generation(col_dir)

    # unchanged on disk: still a failure (not "unchanged"), flagged as a repeat
    enc = ColourEncoder()
    rep = index_paths(col_dir, [folder], enc)
    assert _counts(rep) == (0, 0, 11, 1) and rep.files == 12 and rep.embedded == 0
    assert rep.failed[0]["path"] == str(broken.resolve()) and rep.failed[0]["unchanged"]
    assert "not an image" in rep.failed[0]["error"] and enc.image_calls == 0
    assert _generation(col_dir) == generation  # nothing changed: the FAISS file stays valid

    # touched, same bytes: still the same failure
    st = os.stat(broken)
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (0, 0, 11, 1) and rep.failed[0]["unchanged"]

    # fixed: indexed, counted as added (it had no entries), no longer failing
    write_png(broken, colour_image("blue", seed=7))
    enc = ColourEncoder()
    rep = index_paths(col_dir, [folder], enc)
    assert _counts(rep) == (1, 0, 11, 0) and rep.embedded == 1 and rep.items == 13
    with Collection(col_dir) as col:
        assert col.file_record(str(broken.resolve())).error is None
        assert any(it.path == str(broken.resolve()) for it in col.items())
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (0, 0, 12, 0)


def test_failure_that_goes_away_without_a_content_change_is_picked_up(folder, tmp_path):
    """A file unchanged on disk is retried: a fixed permission or codec needs no touch."""
    col_dir, png = tmp_path / "col", folder / "red" / "red_0.png"
    real_loader = indexing.load_unit

    def refusing_loader(path, hdu):
        if path == str(png.resolve()):
            from napari_clipcap.core.errors import FileFormatError

            raise FileFormatError(f"{path}: no decoder for this compression")
        return real_loader(path, hdu)

    rep = index_paths(col_dir, [folder], ColourEncoder(), loader=refusing_loader)
    assert _counts(rep) == (10, 0, 0, 1) and rep.items == 11
    rep = index_paths(col_dir, [folder], ColourEncoder())  # same bytes, now readable
    assert _counts(rep) == (1, 0, 10, 0) and rep.items == 12


def test_indexed_file_that_becomes_corrupt_is_dropped_and_reported(folder, tmp_path):
    col_dir, png = tmp_path / "col", folder / "red" / "red_0.png"
    index_paths(col_dir, [folder], ColourEncoder())
    png.write_bytes(b"\x89PNG truncated")
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (0, 0, 10, 1) and rep.items == 11
    assert rep.failed[0]["unchanged"] is False  # a new failure, not a repeat
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (0, 0, 10, 1) and rep.failed[0]["unchanged"]


def test_file_that_cannot_be_read_at_all_is_a_failure_not_a_crash(folder, tmp_path, monkeypatch):
    col_dir, png = tmp_path / "col", folder / "red" / "red_0.png"
    real_hash = indexing.file_hash

    def hash_or_refuse(path, *a, **k):
        if str(path) == str(png.resolve()):
            raise PermissionError(13, "Permission denied", str(path))
        return real_hash(path, *a, **k)

    monkeypatch.setattr(indexing, "file_hash", hash_or_refuse)
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (10, 0, 0, 1) and rep.items == 11
    assert (
        "Permission denied" in rep.failed[0]["error"]
        and str(png.resolve()) in (rep.failed[0]["error"])
    )
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (0, 0, 10, 1) and rep.failed[0]["unchanged"]
    monkeypatch.setattr(indexing, "file_hash", real_hash)  # permission fixed, bytes unchanged
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert _counts(rep) == (1, 0, 10, 0) and rep.items == 12
    with Collection(col_dir) as col:
        assert len(col.file_record(str(png.resolve())).hash) == 40


def test_files_gone_from_disk_are_dropped_only_under_the_paths_indexed(tmp_path):
    """Indexing folder B must not drop folder A's entries (A on an unmounted drive, say)."""
    col_dir = tmp_path / "col"
    a = make_image_folder(tmp_path / "a", per_colour=1)
    b = make_image_folder(tmp_path / "b", per_colour=1)
    index_paths(col_dir, [a], ColourEncoder())
    rep = index_paths(col_dir, [b], ColourEncoder())
    assert rep.items == 14 and rep.removed == 0

    os.remove(a / "red" / "red_0.png")
    os.remove(b / "red" / "red_0.png")
    rep = index_paths(col_dir, [b], ColourEncoder())
    assert (rep.removed, rep.unchanged, rep.items) == (1, 5, 13)
    assert rep.missing == 1  # a's file: kept, and said so
    with Collection(col_dir) as col:
        paths = {it.path for it in col.items()}
    assert str((a / "red" / "red_0.png").resolve()) in paths
    assert str((b / "red" / "red_0.png").resolve()) not in paths

    rep = index_paths(col_dir, [a], ColourEncoder())  # A's own run drops it
    assert (rep.removed, rep.missing, rep.items) == (1, 0, 12)
    # a single file given as PATH scopes nothing else
    rep = index_paths(col_dir, [b / "green" / "green_0.png"], ColourEncoder())
    assert (rep.removed, rep.unchanged, rep.files) == (0, 1, 1)


def test_failed_file_removed_from_disk_is_dropped(folder, tmp_path):
    col_dir, broken = tmp_path / "col", folder / "broken.png"
    broken.write_bytes(b"not a png")
    index_paths(col_dir, [folder], ColourEncoder())
    broken.unlink()
    rep = index_paths(col_dir, [folder], ColourEncoder())
    assert (rep.removed, len(rep.failed), rep.unchanged) == (1, 0, 11)
    db = sqlite3.connect(col_dir / "collection.sqlite")
    assert db.execute("SELECT COUNT(*) FROM files WHERE error IS NOT NULL").fetchone() == (0,)
    db.close()


def test_cancel_is_honoured_while_files_are_hashed(folder, tmp_path, monkeypatch):
    """Planning reads every new file (its hash): a cancel must not wait for all of them."""
    import threading

    from napari_clipcap.core.errors import Cancelled

    col_dir = tmp_path / "col"
    index_paths(col_dir, [folder / "red"], ColourEncoder())
    generation = _generation(col_dir)
    cancel, hashed, real_hash = threading.Event(), [], indexing.file_hash

    def hash_then_cancel(path, *a, **k):
        hashed.append(path)
        cancel.set()
        return real_hash(path, *a, **k)

    monkeypatch.setattr(indexing, "file_hash", hash_then_cancel)
    with pytest.raises(Cancelled):
        index_paths(col_dir, [folder], ColourEncoder(), cancel=cancel)
    assert len(hashed) == 1
    with Collection(col_dir) as col:
        assert len(col) == 2 and col.generation == generation
