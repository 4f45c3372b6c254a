"""Exact and approximate (IVF) FAISS indexes: ids, persistence, tuned recall."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clipcap.core.collection.vectorindex import (
    VectorIndex,
    build_exact,
    build_index,
    recall_at_k,
)


def _clustered(n, d=32, clusters=50, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, clusters, n)] + noise * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_index_returns_ids_and_cosines():
    x = _clustered(200)
    ids = np.arange(200) * 7 + 3
    scores, got = build_exact(x, ids).search(x[:5], 1)
    assert list(got[:, 0]) == list(ids[:5])
    assert np.allclose(scores[:, 0], 1, atol=1e-5)


def test_auto_switches_to_ivf_at_threshold_and_reaches_target_recall(tmp_path):
    x = _clustered(6000)
    ids = np.arange(6000, dtype=np.int64) + 1
    assert build_index(x, ids, threshold=10_000).kind == "exact"
    ivf = build_index(x, ids, threshold=5000)
    assert ivf.kind == "ivf" and 1 <= ivf.nprobe <= ivf.index.nlist
    assert ivf.recall >= 0.95
    queries = _clustered(300, seed=1, noise=0.3)  # fresh queries, not the tuning ones
    _, approx = ivf.search(queries, 10)
    _, exact = build_exact(x, ids).search(queries, 10)
    assert recall_at_k(approx, exact) >= 0.95
    ivf.save(tmp_path / "v.faiss", {"generation": 4})
    loaded, info = VectorIndex.load(tmp_path / "v.faiss")
    assert info["generation"] == 4 and loaded.kind == "ivf" and loaded.nprobe == ivf.nprobe
    assert np.array_equal(loaded.search(queries, 10)[1], approx)


def test_nprobe_grows_until_recall_is_met_on_unstructured_data():
    # uniform random vectors have no clusters: IVF needs many lists to stay accurate
    x = _clustered(4000, clusters=4000, noise=0.0, seed=2)
    ivf = build_index(x, np.arange(4000), approximate=True, target_recall=0.95)
    assert ivf.nprobe > 1 and ivf.recall >= 0.95


def test_recall_at_k():
    assert recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 2, 9]])) == pytest.approx(2 / 3)
