"""On-disk collections: incremental re-indexing, interruption, model mismatch."""

from __future__ import annotations

import os
import sqlite3
import threading

import numpy as np
import pytest

from fixtures.collection_data import ColourEncoder, colour_image, make_image_folder, write_png
from napari_clipcap.core.collection.indexing import index_paths
from napari_clipcap.core.collection.store import Collection, ModelMismatchError
from napari_clipcap.core.errors import Cancelled, InvalidInputError
from napari_clipcap.core.io.sources import decode_png


@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "images")


def _pairs(col_dir):
    db = sqlite3.connect(col_dir / "collection.sqlite")
    rows = db.execute("SELECT path, hdu FROM items").fetchall()
    n_vec = db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    n_thumb = db.execute("SELECT COUNT(*) FROM thumbs").fetchone()[0]
    db.close()
    assert n_vec == n_thumb == len(rows), "vectors, thumbnails and items out of step"
    return rows


def test_index_embeds_every_image_and_fits_hdu(folder, tmp_path):
    enc = ColourEncoder()
    rep = index_paths(tmp_path / "col", [folder], enc, model="m", weights="w", batch_size=4)
    # 10 PNGs + SCI and ERR of the FITS file (empty primary and table HDU skipped)
    assert rep.added == 11 and rep.embedded == 12 and rep.items == 12 and not rep.failed
    with Collection(tmp_path / "col") as col:
        items = col.items()
        fits_items = [it for it in items if it.path.endswith("sky.fits")]
        assert sorted(it.hdu for it in fits_items) == [1, 2]
        assert all(it.hdu is None for it in items if it.path.endswith(".png"))
        assert fits_items[0].width == 30 and fits_items[0].height == 20
        assert len(fits_items[0].hash) == 40 and fits_items[0].model == "colour-a"
        assert decode_png(col.thumbnail(items[0].id)).shape[2] == 3
        assert col.model_spec == ("m", "w") and col.dim == 16
        _, vecs = col.vectors()
        assert vecs.shape == (12, 16) and np.allclose(np.linalg.norm(vecs, axis=1), 1)
    assert (tmp_path / "col" / "vectors.faiss").exists()


def test_reindex_skips_unchanged_reembeds_changed_drops_deleted(folder, tmp_path):
    col_dir = tmp_path / "col"
    index_paths(col_dir, [folder], ColourEncoder(), batch_size=4)

    enc = ColourEncoder()
    rep = index_paths(col_dir, [folder], enc, batch_size=4)
    assert rep.unchanged == 11 and rep.embedded == 0 and enc.image_calls == 0

    # touched but same content: re-stamped, not re-embedded
    png = folder / "red" / "red_0.png"
    st = os.stat(png)
    os.utime(png, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    # changed content: red_1 becomes blue
    write_png(folder / "red" / "red_1.png", colour_image("blue", seed=99))
    os.remove(folder / "green" / "green_0.png")
    enc = ColourEncoder()
    rep = index_paths(col_dir, [folder], enc, batch_size=4)
    assert (rep.updated, rep.removed, rep.embedded, rep.unchanged) == (1, 1, 1, 9)
    assert enc.images_seen == 1

    rows = _pairs(col_dir)
    assert len(rows) == len(set(rows)) == 11
    assert not any(p.endswith("green_0.png") for p, _ in rows)
    from napari_clipcap.core.collection.search import search_text

    top = search_text(col_dir, "blue", enc, k=3)
    assert any(h.item.path.endswith("red_1.png") for h in top), "changed file kept old vector"
    assert all(h.item.path.endswith(".png") and "green_0" not in h.item.path for h in top)


def test_cancel_keeps_committed_groups_and_resume_finishes_without_duplicates(folder, tmp_path):
    col_dir = tmp_path / "col"
    cancel = threading.Event()

    def progress(done, total):
        if done == 4:
            cancel.set()

    with pytest.raises(Cancelled):
        index_paths(
            col_dir, [folder], ColourEncoder(), batch_size=2, progress=progress, cancel=cancel
        )
    committed = _pairs(col_dir)
    assert 0 < len(committed) < 12

    enc = ColourEncoder()
    rep = index_paths(col_dir, [folder], enc, batch_size=2)
    assert rep.unchanged == len({p for p, _ in committed})
    rows = _pairs(col_dir)
    assert len(rows) == len(set(rows)) == 12
    assert enc.images_seen == 12 - len(committed)


class _CrashingEncoder(ColourEncoder):
    """Fails on its n-th call: a crash in the encoder or, with ``bad_dim``, mid-write."""

    def __init__(self, fail_on: int, bad_dim: bool = False):
        super().__init__()
        self.fail_on, self.bad_dim = fail_on, bad_dim

    def encode_images(self, images, **kw):
        out = super().encode_images(images, **kw)
        if self.image_calls == self.fail_on:
            if not self.bad_dim:
                raise KeyboardInterrupt
            return np.ones((len(images), 3), np.float32) / np.sqrt(3)
        return out


@pytest.mark.parametrize("bad_dim", [False, True])
def test_crash_mid_run_rolls_back_the_open_group_only(folder, tmp_path, bad_dim):
    col_dir = tmp_path / "col"
    exc = ModelMismatchError if bad_dim else KeyboardInterrupt
    with pytest.raises(exc):
        index_paths(col_dir, [folder], _CrashingEncoder(2, bad_dim), batch_size=4)
    first = _pairs(col_dir)
    assert 4 <= len(first) < 12  # the first group only, nothing of the failed one
    index_paths(col_dir, [folder], ColourEncoder(), batch_size=4)
    rows = _pairs(col_dir)
    assert len(rows) == len(set(rows)) == 12


def test_other_model_is_refused_with_a_clear_message(folder, tmp_path):
    col_dir = tmp_path / "col"
    index_paths(col_dir, [folder], ColourEncoder("colour-a"), model="ViT-B-32", weights="x.pt")
    with pytest.raises(ModelMismatchError, match=r"'colour-a'.*'colour-b'.*--clip ViT-B-32"):
        index_paths(col_dir, [folder], ColourEncoder("colour-b"))


def test_stale_faiss_file_is_rebuilt_from_sqlite(folder, tmp_path):
    col_dir = tmp_path / "col"
    index_paths(col_dir, [folder], ColourEncoder(), batch_size=4)
    with Collection(col_dir) as col:
        col.remove_files([it.path for it in col.items() if it.path.endswith("sky.fits")])
    # the saved FAISS file still holds 12 vectors; the collection 10
    with Collection(col_dir) as col:
        assert col.vector_index().ntotal == 10
        hits = col.search(np.ones((1, 16), np.float32) / 4, k=20)[0]
        assert len(hits) == 10 and not any(it.path.endswith(".fits") for it, _ in hits)
    (col_dir / "vectors.faiss").write_bytes(b"garbage")
    with Collection(col_dir) as col:
        assert col.vector_index().ntotal == 10


def test_unreadable_file_is_recorded_not_fatal(folder, tmp_path):
    (folder / "broken.png").write_bytes(b"not a png")
    rep = index_paths(tmp_path / "col", [folder], ColourEncoder())
    assert [f["path"].endswith("broken.png") for f in rep.failed] == [True]
    assert rep.items == 12
    rep = index_paths(tmp_path / "col", [folder], ColourEncoder())
    # still failing, and said so: not counted as unchanged (tests/core/test_index_failures.py)
    assert rep.unchanged == 11 and [f["unchanged"] for f in rep.failed] == [True]


def test_missing_collection_and_paths_are_clear_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="not a collection"):
        Collection(tmp_path / "nothing")
    with pytest.raises(InvalidInputError, match="no such file"):
        index_paths(tmp_path / "col", [tmp_path / "missing"], ColourEncoder())
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(InvalidInputError, match="is a file"):
        index_paths(a_file, [tmp_path], ColourEncoder())


def _fill(col, n, start=0, dim=16, seed=0):
    from napari_clipcap.core.collection.store import FileRecord, NewItem

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    vecs = centres[rng.integers(0, 20, n)] + 0.2 * rng.standard_normal((n, dim))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    col.write_files(
        [
            (FileRecord(f"/data/f{start + i}.png", 1, 1, "h", None),
             [NewItem(None, 8, 8, v.astype(np.float32), b"")])
            for i, v in enumerate(vecs)
        ]
    )  # fmt: skip
    return vecs


def test_ivf_index_is_updated_in_place_when_few_files_change(tmp_path, monkeypatch):
    from napari_clipcap.core.collection import selection as collection_mod

    with Collection(tmp_path / "col", create=True) as col:
        col.bind_model("m")
        _fill(col, 1200)
        first = col.vector_index(approximate=True)
        assert first.kind == "ivf" and first.ntotal == 1200
    builds = []
    real_build = collection_mod.build_index
    monkeypatch.setattr(
        collection_mod, "build_index", lambda *a, **k: builds.append(1) or real_build(*a, **k)
    )
    with Collection(tmp_path / "col") as col:
        col.remove_files([f"/data/f{i}.png" for i in range(100)])
        new = _fill(col, 50, start=5000, seed=1)
    with Collection(tmp_path / "col") as col:  # a fresh process would do the same
        index = col.vector_index(approximate=True)
        assert index.kind == "ivf" and index.ntotal == 1150 and not builds
        (hit, score), *_ = col.search(new[7], k=3)[0]
        assert hit.path == "/data/f5007.png" and score == pytest.approx(1, abs=1e-5)
        paths = {
            it.path for hits in col.search(np.eye(16, dtype=np.float32), 50) for it, _ in hits
        }
        assert not paths & {f"/data/f{i}.png" for i in range(100)}
    with Collection(tmp_path / "col") as col:  # the updated index was saved
        assert col.vector_index(approximate=True).ntotal == 1150 and not builds
        _fill(col, 2000, start=9000, seed=2)  # more than doubled: retrained
        assert col.vector_index(approximate=True).ntotal == 3150 and builds == [1]
