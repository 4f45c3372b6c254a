"""FAISS indexes over L2-normalised vectors: exact for small sets, IVF for large ones.

Scores are inner products, i.e. cosine similarities for the L2-normalised CLIP
embeddings the collection stores. Every vector carries an int64 id (the SQLite row id
of its collection item), so hits map back to metadata without a second lookup table.

The approximate index is an inverted file (``IndexIVFFlat``) with about ``sqrt(N)``
lists. Its ``nprobe`` (how many lists a query visits) is not a guess: after building,
:func:`build_ivf` measures recall@10 against exact search on sample queries near and
far from stored vectors and takes the smallest ``nprobe`` that reaches the target recall
for each kind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from ..jobs import ProgressCallback, report

#: Collections with at least this many vectors get an approximate (IVF) index.
APPROX_THRESHOLD = 100_000
#: Recall@10 against exact search that the approximate index is tuned to reach.
TARGET_RECALL = 0.95


@dataclass
class VectorIndex:
    """A FAISS index with its search settings.

    Attributes
    ----------
    index : faiss.Index
        ``IndexIDMap2(IndexFlatIP)`` (exact) or ``IndexIVFFlat`` (approximate).
    kind : str
        ``"exact"`` or ``"ivf"``.
    nprobe : int
        Lists visited per query (IVF only; 0 for exact).
    recall : float or None
        Recall@10 against exact search measured when the index was built (IVF only).
    """

    index: object
    kind: str
    nprobe: int = 0
    recall: float | None = None

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, ids)``, each ``(Q, k)``; missing hits have id ``-1``."""
        q = _as_matrix(queries, self.dim)
        if self.kind == "ivf":
            self.index.nprobe = self.nprobe
        return self.index.search(q, int(k))

    def save(self, path: str | os.PathLike, stamp: dict | None = None) -> None:
        """Write the index to ``path`` (atomically) and its settings to ``path + '.json'``."""
        import faiss

        from ..io.atomic import atomic_path, write_json

        path = Path(path)
        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        info = {
            "kind": self.kind,
            "nprobe": self.nprobe,
            "recall": self.recall,
            "ntotal": self.ntotal,
            **(stamp or {}),
        }
        write_json(path.with_name(path.name + ".json"), info, indent=None)

    def ids(self) -> np.ndarray:
        """Every id the index holds, ascending."""
        import faiss

        if self.kind == "ivf":
            return np.sort(ivf_ids(self.index))
        return np.sort(faiss.vector_to_array(self.index.id_map).astype(np.int64))

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[VectorIndex, dict]:
        """Read an index written by :meth:`save`; returns it and its settings.

        Only the structures :meth:`save` writes are read (exact or IVF-flat, lists in
        the file), read-only and without opening any file the index names
        (:mod:`.faissfiles`); the kind comes from the index itself, not the settings.

        Raises
        ------
        FileFormatError
            For anything else: the caller rebuilds the index from the collection.
        """
        from .faissfiles import check_plain_file, read_index

        path = Path(path)
        settings = path.with_name(path.name + ".json")
        try:
            info = json.loads(check_plain_file(settings).read_text())
            if not isinstance(info, dict):
                raise ValueError("not a JSON object")
            recall = info.get("recall")
            recall = None if recall is None else float(recall)
            nprobe = int(info.get("nprobe") or 1)
        except (OSError, ValueError, TypeError) as exc:
            raise FileFormatError(f"cannot read vector index settings {settings}: {exc}") from exc
        index, kind = read_index(path, ("exact", "ivf"))
        nprobe = 0 if kind == "exact" else int(np.clip(nprobe, 1, index.nlist))
        return cls(index, kind, nprobe, recall), info


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise InvalidInputError(
            f"vectors must have shape (N, {dim or 'D'}), got {tuple(np.shape(vectors))}"
        )
    return x


def build_exact(vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
    """Exact inner-product index (``IndexIDMap2`` over ``IndexFlatIP``)."""
    import faiss

    x = _as_matrix(vectors)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(x.shape[1]))
    if len(x):
        index.add_with_ids(x, np.asarray(ids, dtype=np.int64))
    return VectorIndex(index, "exact")


#: Noise added to stored vectors to make tuning queries: cosine to the vector ~0.9
#: (a near-duplicate image), ~0.55 (a similar image) and ~0.32 (a text prompt).
CALIBRATION_SCALES = (0.5, 1.5, 3.0)


def calibration_queries(
    vectors: np.ndarray, n: int = 300, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sample tuning queries around stored vectors; returns ``(queries, group)``.

    Real queries (other images, text prompts) are not stored vectors; perturbing stored
    ones at the distances of :data:`CALIBRATION_SCALES` stands in for each kind, and
    ``group`` (0, 1, 2) says which distance a query has.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(vectors), size=min(n, len(vectors)), replace=False))
    base = np.asarray(vectors[rows], dtype=np.float32)
    noise = rng.standard_normal(base.shape).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    group = np.arange(len(base)) % len(CALIBRATION_SCALES)
    scale = np.asarray(CALIBRATION_SCALES, dtype=np.float32)[group][:, None]
    q = base + scale * noise
    return q / np.linalg.norm(q, axis=1, keepdims=True), group


def recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean fraction of the exact top-k ids that the approximate top-k also holds."""
    k = exact_ids.shape[1]
    hits = [len(set(a[a >= 0]) & set(e[e >= 0])) for a, e in zip(approx_ids, exact_ids)]
    return float(np.mean(hits) / k) if hits else 1.0


def tune_nprobe(
    index,
    queries: np.ndarray,
    exact_ids: np.ndarray,
    target: float = TARGET_RECALL,
    *,
    groups: np.ndarray | None = None,
    floor: float = 0.0,
) -> tuple[int, float]:
    """Smallest ``nprobe`` (steps of x1.5) reaching ``target`` mean recall@k on ``queries``.

    With ``groups``, every group's own recall must also reach ``floor``, so that queries
    far from the stored vectors (text prompts) are not traded for easy near ones.
    """
    nprobe = 1
    while True:
        index.nprobe = nprobe
        _, ids = index.search(queries, exact_ids.shape[1])
        recall = recall_at_k(ids, exact_ids)
        worst = (
            recall
            if groups is None
            else min(
                recall_at_k(ids[groups == g], exact_ids[groups == g]) for g in np.unique(groups)
            )
        )
        if (recall >= target and worst >= floor) or nprobe >= index.nlist:
            return nprobe, recall
        nprobe = min(max(nprobe + 1, int(np.ceil(nprobe * 1.5))), index.nlist)


def build_ivf(
    vectors: np.ndarray,
    ids: np.ndarray,
    *,
    nlist: int | None = None,
    target_recall: float = TARGET_RECALL,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> VectorIndex:
    """Approximate inner-product index (``IndexIVFFlat``) with a measured ``nprobe``.

    Parameters
    ----------
    vectors : (N, D) float32 ndarray
        L2-normalised vectors.
    ids : (N,) int ndarray
        Their ids.
    nlist : int, optional
        Number of inverted lists; default ``sqrt(N)`` (at most ``N / 40``, the training
        sample k-means needs) clipped to ``[16, 16384]``.
    target_recall : float
        Recall@10 against exact search that ``nprobe`` is tuned to reach on queries at
        each distance of :data:`CALIBRATION_SCALES`; the mean must exceed it by 0.02
        because tuning queries are not the user's queries.
    seed : int
        Seed of the training sample and tuning queries (builds are reproducible).
    progress : callable, optional
        ``progress(done, total)`` over the vectors added.
    """
    import faiss

    x = _as_matrix(vectors)
    n, d = x.shape
    nlist = int(nlist or np.clip(min(round(np.sqrt(n)), n // 40), 16, 16384))
    if n < 40 * nlist:
        raise InvalidInputError(f"an IVF index with {nlist} lists needs {40 * nlist} vectors")
    rng = np.random.default_rng(seed)
    train = x[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(train)
    del train
    ids = np.asarray(ids, dtype=np.int64)
    step = 65536
    for start in range(0, n, step):
        index.add_with_ids(x[start : start + step], ids[start : start + step])
        report(progress, min(start + step, n), n)
    queries, groups = calibration_queries(x, seed=seed)
    _, exact = faiss.knn(queries, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    exact = np.where(exact >= 0, ids[np.clip(exact, 0, None)], -1)
    nprobe, recall = tune_nprobe(
        index, queries, exact, min(0.995, target_recall + 0.02), groups=groups,
        floor=target_recall,
    )  # fmt: skip
    vi = VectorIndex(index, "ivf", nprobe, recall)
    vi._quantizer = quantizer  # keep the Python object alive with the index
    return vi


def ivf_ids(index) -> np.ndarray:
    """Every id stored in an IVF index's inverted lists."""
    import faiss

    invlists, parts = index.invlists, []
    for lst in range(index.nlist):
        size = invlists.list_size(lst)
        if size:
            parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def update_ivf(
    vi: VectorIndex, ids: np.ndarray, fetch: Callable[[np.ndarray], np.ndarray]
) -> tuple[int, int]:
    """Make an IVF index hold exactly ``ids``, keeping its trained centroids and nprobe.

    Parameters
    ----------
    vi : VectorIndex
        An ``"ivf"`` index.
    ids : (N,) int ndarray
        The ids it should hold.
    fetch : callable
        ``fetch(new_ids) -> (M, D)`` vectors of ids it lacks, in ascending id order.

    Returns
    -------
    (removed, added) : tuple of int
    """
    have = ivf_ids(vi.index)
    gone = np.setdiff1d(have, ids)
    new = np.setdiff1d(ids, have)
    if len(gone):
        vi.index.remove_ids(gone.astype(np.int64))
    if len(new):
        vi.index.add_with_ids(_as_matrix(fetch(new), vi.dim), new.astype(np.int64))
    return len(gone), len(new)


def build_index(
    vectors: np.ndarray,
    ids: np.ndarray,
    *,
    approximate: bool | str = "auto",
    threshold: int = APPROX_THRESHOLD,
    target_recall: float = TARGET_RECALL,
    progress: ProgressCallback | None = None,
) -> VectorIndex:
    """Exact index below ``threshold`` vectors, IVF from there (or as ``approximate`` says).

    Parameters
    ----------
    approximate : {"auto", True, False}
        ``"auto"`` picks IVF when ``len(vectors) >= threshold``.
    """
    n = len(vectors)
    use_ivf = n >= threshold if approximate == "auto" else bool(approximate)
    if use_ivf and n >= 40 * 16:
        return build_ivf(vectors, ids, target_recall=target_recall, progress=progress)
    vi = build_exact(vectors, ids)
    report(progress, n, n)
    return vi
