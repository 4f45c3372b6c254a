"""The memory-budget switch to the memory-mapped IVF-PQ index, at small sizes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.collection import selection
from napari_clipcap.core.collection.ivfpq import build as ivfpq_build
from napari_clipcap.core.collection.ivfpq.index import (
    FOLDER_NAME,
    IvfPqIndex,
    exact_topk,
    parse_bytes,
)
from napari_clipcap.core.collection.store import Collection, FileRecord, NewItem
from napari_clipcap.core.collection.vectorindex import recall_at_k
from napari_clipcap.core.errors import InvalidInputError

D = 32
BUDGET = 200_000  # bytes: 4,000 x 32-d float32 held twice is 1 MB, far past it


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(0).standard_normal((40, D))
    x = c[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, D))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _fill(col: Collection, n: int, start: int = 0, seed: int = 0) -> np.ndarray:
    vecs = _vectors(n, seed)
    col.write_files(
        [
            (FileRecord(f"/d/f{start + i}.png", 1, 1, "h", None), [NewItem(None, 8, 8, v, b"")])
            for i, v in enumerate(vecs)
        ]
    )
    return vecs


def _exact(col: Collection, q: np.ndarray) -> np.ndarray:
    ids, vecs = col.vectors()
    return exact_topk(q, [(ids, vecs)], 10)[1]


@pytest.fixture
def big(tmp_path):
    with Collection(tmp_path / "col", create=True) as col:
        col.bind_model("m")
        _fill(col, 4000)
    return tmp_path / "col"


def test_past_the_budget_the_index_is_ivfpq_with_recall_and_bounded_memory(big):
    with Collection(big, memory_budget=BUDGET) as col:
        index = col.vector_index()
        assert index.kind == "ivfpq" and index.ntotal == 4000
        assert index.resident_bytes() < BUDGET and index.recall >= 0.95
        assert (big / FOLDER_NAME / "manifest.json").exists()
        assert not col.index_path.exists()
        q = _vectors(200, seed=9)
        _, found = index.search(q, 10)
        assert recall_at_k(found, _exact(col, q)) >= 0.95
        (item, score), *_ = col.search(col.vectors(np.array([17]))[1], k=3)[0]
        assert item.id == 17 and score == pytest.approx(1, abs=2e-3)
    with Collection(big) as col:  # the default budget (a quarter of RAM) fits in memory
        assert col.vector_index().kind == "exact"
        assert not (big / FOLDER_NAME).exists()


def test_ivfpq_grows_incrementally_and_retrains_when_doubled(big, monkeypatch):
    with Collection(big, memory_budget=BUDGET) as col:
        col.vector_index()
    builds = []
    real = selection.build_ivfpq
    monkeypatch.setattr(
        selection, "build_ivfpq", lambda *a, **k: builds.append(1) or real(*a, **k)
    )
    with Collection(big, memory_budget=BUDGET) as col:
        col.remove_files([f"/d/f{i}.png" for i in range(300)])
        new = _fill(col, 500, start=10_000, seed=3)
        index = col.vector_index()
        assert index.kind == "ivfpq" and index.ntotal == 4200 and not builds
        (item, score), *_ = col.search(new[5], k=1)[0]
        assert item.path == "/d/f10005.png" and score == pytest.approx(1, abs=2e-3)
        paths = {it.path for hits in col.search(_vectors(50, 4), 100) for it, _ in hits}
        assert not paths & {f"/d/f{i}.png" for i in range(300)}
        q = _vectors(200, seed=9)
        assert recall_at_k(index.search(q, 10)[1], _exact(col, q)) >= 0.95
    with Collection(big, memory_budget=BUDGET) as col:  # saved: nothing to do
        assert col.vector_index().ntotal == 4200 and not builds
        _fill(col, 5000, start=20_000, seed=5)  # more than doubled: retrained
        assert col.vector_index().ntotal == 9200 and builds == [1]


def test_a_failed_extension_leaves_the_previous_index(big, monkeypatch):
    with Collection(big, memory_budget=BUDGET) as col:
        col.vector_index()
        _fill(col, 100, start=10_000, seed=3)

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ivfpq_build, "_merge", killed)
    with Collection(big, memory_budget=BUDGET) as col, pytest.raises(KeyboardInterrupt):
        col.vector_index()
    assert IvfPqIndex.open(big / FOLDER_NAME).ntotal == 4000  # the last complete one
    monkeypatch.undo()
    with Collection(big, memory_budget=BUDGET) as col:
        assert col.vector_index().ntotal == 4100


def test_memory_sizes_parse_or_are_refused():
    assert parse_bytes("512M") == 512 * 2**20 and parse_bytes("4G") == 4 * 2**30
    assert parse_bytes("1.5GB") == int(1.5 * 2**30) and parse_bytes(1000) == 1000
    assert parse_bytes("2GiB") == 2 * 2**30
    for bad in ("", "lots", "-1G", "0"):
        with pytest.raises(InvalidInputError, match="not a positive size"):
            parse_bytes(bad)
