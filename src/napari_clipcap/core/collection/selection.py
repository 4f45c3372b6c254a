"""Which search index a collection gets, and keeping it up to date with SQLite.

A collection's vectors are searched from memory while that fits its memory budget: an
exact ``IndexFlatIP`` below the approximate threshold, a tuned ``IndexIVFFlat`` above
it. Building either holds the vectors twice (the array read from SQLite and the index),
so past half the budget the collection switches to the memory-mapped IVF-PQ index of
:mod:`.ivfpq`, streamed from SQLite in chunks and never held whole.

Both kinds carry the collection's generation. A stale index is brought up to date
incrementally while the collection is within a factor of two of the size the index was
trained at (for IVF-PQ also while under a quarter of its rows are removed); otherwise it
is rebuilt and retrained. The index of the kind no longer used is deleted.
"""

from __future__ import annotations

import shutil

import numpy as np

from ..errors import FileFormatError
from .ivfpq.build import build_ivfpq, extend_ivfpq
from .ivfpq.index import FOLDER_NAME, IvfPqIndex
from .vectorindex import VectorIndex, build_index, update_ivf

__all__ = ["MIN_IVFPQ", "current_index", "in_memory_bytes"]

#: Below this many vectors an in-memory index always fits, whatever the budget.
MIN_IVFPQ = 1000


def in_memory_bytes(n: int, dim: int) -> int:
    """Peak bytes of building an in-memory index: the float32 vectors held twice."""
    return 2 * n * dim * 4


def _wants_ivfpq(col, n: int) -> bool:
    return n >= MIN_IVFPQ and in_memory_bytes(n, col.dim or 0) > col.memory_budget


def current_index(col, gen: int, approximate, threshold: int, rebuild: bool):
    """The up-to-date index of collection ``col`` at generation ``gen`` (saved to disk)."""
    n = len(col)
    if _wants_ivfpq(col, n):
        _discard(col.index_path, col.index_path.with_name(col.index_path.name + ".json"))
        return _ivfpq(col, gen, n, rebuild)
    shutil.rmtree(col.folder / FOLDER_NAME, ignore_errors=True)
    return _in_memory(col, gen, n, approximate, threshold, rebuild)


def _discard(*paths) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _ivfpq(col, gen: int, n: int, rebuild: bool) -> IvfPqIndex:
    folder, stamp = col.folder / FOLDER_NAME, {"generation": gen}
    index = None
    if not rebuild:
        try:
            index = IvfPqIndex.open(folder)
        except FileFormatError:
            index = None
    have = index.item_ids() if index is not None else None
    if index is not None and (
        not index.info.get("dim") == col.dim == index.dim or len(np.unique(have)) != len(have)
    ):
        index = None  # another dimension, or one item twice: not this collection's index
    if index is not None:
        if index.info.get("generation") == gen and index.ntotal == n:
            if np.array_equal(have, col.item_ids()):
                return index
        trained = _trained_on(index.info)
        if trained / 2 <= n <= 2 * trained and len(index.removed) < index.rows / 4:
            ids = col.item_ids()
            gone = np.setdiff1d(have, ids, assume_unique=True)
            after = int(have[-1]) if len(have) else -1
            if not len(np.setdiff1d(ids[ids <= after], have, assume_unique=True)):
                # new items always have larger ids (AUTOINCREMENT): stream only those
                new = col.iter_vectors(after=after)
                try:
                    return extend_ivfpq(folder, new, gone, stamp=stamp)
                except FileFormatError:
                    pass  # a trained index or shard not of the project's: rebuild
    chunks = col.iter_vectors()
    return build_ivfpq(folder, chunks, col.dim, memory_budget=col.memory_budget, stamp=stamp)


def _trained_on(info: dict) -> int:
    try:
        return max(0, int(info.get("trained_on") or 0))
    except (TypeError, ValueError):
        return 0


def _load_in_memory(col, path) -> tuple[VectorIndex | None, dict]:
    """The saved index if it is one the project writes and holds the collection's
    dimension; ``(None, {})`` otherwise (it is then rebuilt from SQLite)."""
    try:
        index, info = VectorIndex.load(path)
    except FileFormatError:
        return None, {}
    return (index, info) if index.dim == col.dim else (None, {})


def _in_memory(col, gen: int, n: int, approximate, threshold: int, rebuild: bool):
    path, stamp = col.index_path, {"generation": gen}
    if not rebuild and (path.exists() or path.is_symlink()):
        index, info = _load_in_memory(col, path)
        if index is not None and info.get("generation") == gen and index.ntotal == n:
            if np.array_equal(index.ids(), col.item_ids()):
                return index
            index = None  # says it is current, holds other items: rebuild
        want_ivf = n >= threshold if approximate == "auto" else bool(approximate)
        trained = _trained_on(info)
        if (
            index is not None
            and index.kind == "ivf"
            and want_ivf
            and (trained / 2 <= n <= 2 * trained)
        ):
            # a few files came or went: update the lists, keep the trained centroids
            ids = col.item_ids()
            update_ivf(index, ids, lambda new: col.vectors(new)[1])
            if np.array_equal(index.ids(), ids):
                return _keep(col, index, {**stamp, "trained_on": trained})
    ids, vecs = col.vectors()
    index = build_index(vecs, ids, approximate=approximate, threshold=threshold)
    del vecs
    return _keep(col, index, {**stamp, "trained_on": index.ntotal})


def _keep(col, index: VectorIndex, stamp: dict) -> VectorIndex:
    try:
        index.save(col.index_path, stamp)
    except OSError:
        pass  # a read-only collection still searches; it rebuilds next time
    return index
