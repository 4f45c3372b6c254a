"""The compressed, memory-mapped index of collections larger than the memory budget.

Past the budget, a collection's search index is a folder ``DIR/vectors.ivfpq/``::

    manifest.json           what the index holds; written last, so it is the commit
    trained.faiss           the trained, empty IVF-PQ index (centroids, PQ codebooks)
    shard-NNNN.faiss        one encoded shard of vectors (rows of the float16 file)
    shard-NNNN.f16.npy      the shard's exact vectors as float16, read memory-mapped
    shard-NNNN.ids.npy      the shard's collection item ids (int64)
    merged-TOKEN.faiss      every shard's inverted lists merged into one file ...
    merged-TOKEN.ivfdata    ... whose lists live here, memory-mapped (``OnDiskInvertedLists``)
    removed-TOKEN.npy       rows whose items left the collection (skipped by searches)

A query visits ``nprobe`` inverted lists of the IVF-PQ index (FAISS's index factory,
``IVFn_HNSW32,PQm``), takes the best ``rerank`` candidates by their compressed codes,
and re-ranks them by the exact cosine of their float16 vectors, so recall@10 against
exact search is that of the IVF probe, not of the 16-fold compression. Only the
centroids, codebooks and the pages a query touches are ever resident: the memory of a
search does not grow with the collection.

Files other than the manifest are never overwritten: every change writes new files and
then a new manifest, so a kill leaves the last complete index in place (and orphans
that the next change removes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...errors import FileFormatError, InvalidInputError
from ..faissfiles import (
    UntrustedIndexError,
    check_plain_file,
    check_plain_folder,
    read_ondisk_index,
)
from .manifest import checked_manifest, load_npy, read_manifest

__all__ = ["FOLDER_NAME", "IvfPqIndex", "default_memory_budget", "exact_topk", "parse_bytes"]

FOLDER_NAME = "vectors.ivfpq"
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def default_memory_budget() -> int:
    """A quarter of the machine's physical memory, in bytes (4 GiB if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def parse_bytes(text: str | int) -> int:
    """``"512M"``, ``"4G"``, ``"1.5GB"`` or a plain number of bytes, as an int.

    Raises
    ------
    InvalidInputError
        If the text is not a positive size.
    """
    s = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _UNITS and not s[-1:].isdigit() else ""
    try:
        value = float(s[: len(s) - len(unit)]) * _UNITS[unit]
    except ValueError:
        value = -1
    if not value > 0:
        raise InvalidInputError(
            f"memory size {text!r} is not a positive size; give bytes or e.g. 512M, 4G"
        )
    return int(value)


def exact_topk(
    queries: np.ndarray, blocks: Iterable[tuple[np.ndarray, np.ndarray]], k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products over ``(ids, vectors)`` blocks: brute force in chunks.

    Returns ``(scores, ids)``, each ``(Q, k)``, best first.
    """
    import faiss

    q = np.ascontiguousarray(queries, dtype=np.float32)
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(q), k), -1, dtype=np.int64)
    for ids, x in blocks:
        s, i = faiss.knn(
            q, np.ascontiguousarray(x), min(k, len(x)), metric=faiss.METRIC_INNER_PRODUCT
        )
        i = np.where(i >= 0, np.asarray(ids)[np.clip(i, 0, None)], -1)
        all_s, all_i = np.hstack([best_s, s]), np.hstack([best_i, i])
        order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(all_s, order, 1)
        best_i = np.take_along_axis(all_i, order, 1)
    return best_s, best_i


def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows: no pread
    return os.read(fd, size)


class RowFile:
    """Rows of a 2-D ``.npy`` file read with ``pread``, one call per run of adjacent rows.

    Unlike a memory map, reads leave no pages mapped in the process: the operating
    system's cache keeps what is hot, and the process's resident memory stays small.
    """

    def __init__(self, path: Path):
        path = check_plain_file(path)
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0
            if major != 1:
                read = np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            self.offset = f.tell()
        self.shape, self.dtype = shape, np.dtype(dtype)
        self.row_bytes = int(shape[1]) * self.dtype.itemsize
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
        self.fd = os.open(path, flags)

    def __len__(self) -> int:
        return int(self.shape[0])

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The given rows (ascending), as an ``(n, dim)`` array of the file's dtype."""
        out = bytearray(len(rows) * self.row_bytes)
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        at = 0
        for run in np.split(rows, breaks):
            if not len(run):
                continue
            size = len(run) * self.row_bytes
            chunk = _pread(self.fd, size, self.offset + int(run[0]) * self.row_bytes)
            out[at : at + size] = chunk
            at += size
        return np.frombuffer(out, dtype=self.dtype).reshape(len(rows), self.shape[1])

    def __del__(self) -> None:
        try:
            os.close(self.fd)
        except (OSError, AttributeError):
            pass


def read_shard_rows(
    row_files: list[RowFile], starts: np.ndarray, rows: np.ndarray, dim: int
) -> np.ndarray:
    """Exact vectors (float32) of global ``rows`` of float16 shard files.

    ``starts[i]`` is the first global row of shard ``i`` (``starts[-1]`` the row count);
    rows are read shard by shard, in file order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), int(dim)), dtype=np.float32)
    shard = np.searchsorted(starts, rows, side="right") - 1
    for s in np.unique(shard):
        sel = shard == s
        local = rows[sel] - starts[s]
        order = np.argsort(local)  # read in file order
        block = np.empty((len(local), int(dim)), dtype=np.float32)
        block[order] = row_files[s].rows(local[order])
        out[sel] = block
    return out


class IvfPqIndex:
    """An IVF-PQ index with on-disk inverted lists and float16 re-ranking.

    Open one with :meth:`open`; build or extend one with
    :mod:`napari_clipcap.core.collection.ivfpq.build`.

    Attributes
    ----------
    kind : str
        ``"ivfpq"``.
    nprobe : int
        Inverted lists visited per query (tuned at build time for the target recall).
    rerank : int
        Candidates re-ranked with exact vectors per query (at least ``k``).
    recall : float or None
        Recall@10 against exact search measured when the index was built.
    """

    kind = "ivfpq"

    def __init__(self, folder: Path, manifest: dict):
        self.folder = check_plain_folder(folder)
        self.manifest = manifest = checked_manifest(manifest)
        self.nprobe = int(manifest["nprobe"])
        self.rerank = int(manifest["rerank"])
        self.recall = manifest.get("recall")
        merged = folder / manifest["merged"]
        try:
            self.index = read_ondisk_index(merged, merged.with_suffix(".ivfdata"))
            shards = manifest["shards"]
            self._f16 = [RowFile(folder / s["f16"]) for s in shards]
            self._ids = [load_npy(folder / s["ids"], mmap_mode="r") for s in shards]
            removed = manifest.get("removed")
            self.removed = load_npy(folder / removed) if removed else np.empty(0, dtype=np.int64)
        except (OSError, ValueError, RuntimeError) as exc:
            raise FileFormatError(f"cannot read vector index {folder}: {exc}") from exc
        self._starts = np.cumsum([0] + [len(x) for x in self._ids])
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Every file agrees with the manifest and the index (a received folder may lie)."""
        dim, rows = int(self.manifest["dim"]), self.rows
        bad = [
            f"{s['name']}" for s, f16, ids in zip(self.manifest["shards"], self._f16, self._ids)
            if f16.shape != (len(ids), dim) or f16.dtype != np.float16
            or ids.ndim != 1 or ids.dtype != np.int64 or len(ids) != int(s["rows"])
        ]  # fmt: skip
        removed = self.removed
        if (
            bad
            or self.dim != dim
            or int(self.index.ntotal) != rows
            or removed.ndim != 1
            or removed.dtype != np.int64
            or (len(removed) and (removed.min() < 0 or removed.max() >= rows))
        ):
            raise UntrustedIndexError(
                f"vector index {self.folder} does not match its manifest"
                + (f" ({', '.join(bad)})" if bad else "")
            )

    @classmethod
    def open(cls, folder: str | os.PathLike) -> IvfPqIndex | None:
        """The complete index in ``folder``, or None when there is none."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        return None if manifest is None else cls(folder, manifest)

    @property
    def info(self) -> dict:
        """The manifest's stamp (generation, trained_on, ...)."""
        return self.manifest

    @property
    def rows(self) -> int:
        """Rows in the index, removed ones included."""
        return int(self._starts[-1])

    @property
    def ntotal(self) -> int:
        """Vectors searched (rows less removed ones)."""
        return self.rows - len(self.removed)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def resident_bytes(self) -> int:
        """Memory a search holds: centroids, their HNSW graph, codebooks, removed rows.

        Inverted lists, ids and float16 vectors are memory-mapped: a query touches the
        pages of ``nprobe`` lists and ``rerank`` rows, a few megabytes at most.
        """
        import faiss

        ivf = faiss.extract_index_ivf(self.index)
        d, nlist = self.dim, int(ivf.nlist)
        quantizer = nlist * (d * 4 + 32 * 2 * 4 + 16)
        pq = faiss.downcast_index(self.index).pq if hasattr(self.index, "pq") else None
        books = int(pq.M * pq.ksub * pq.dsub * 4) if pq is not None else 0
        lists = nlist * 64  # list sizes and pointers
        return int(quantizer + books + lists + self.removed.nbytes)

    def item_ids(self) -> np.ndarray:
        """The collection ids the index searches (removed rows left out), ascending."""
        ids = self.row_ids()
        keep = np.ones(len(ids), dtype=bool)
        keep[self.removed] = False
        return np.sort(ids[keep]).astype(np.int64)

    def vectors_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Exact vectors (float32) of global rows, read from the float16 files."""
        return read_shard_rows(self._f16, self._starts, rows, self.dim)

    def row_ids(self) -> np.ndarray:
        """The collection id of every row, in row order (removed rows included)."""
        return np.concatenate([np.asarray(x) for x in self._ids]) if self._ids else np.empty(0)

    def ids_of_rows(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        shard = np.searchsorted(self._starts, rows, side="right") - 1
        out = np.empty(len(rows), dtype=np.int64)
        for s in np.unique(shard):
            sel = shard == s
            out[sel] = self._ids[s][rows[sel] - self._starts[s]]
        return out

    def set_probe(self, nprobe: int) -> None:
        import faiss

        faiss.ParameterSpace().set_index_parameter(self.index, "nprobe", int(nprobe))
        try:
            ef = max(64, 2 * int(nprobe))
            faiss.ParameterSpace().set_index_parameter(self.index, "quantizer_efSearch", ef)
        except RuntimeError:
            pass  # a flat quantizer

    def search(
        self, queries: np.ndarray, k: int, *, nprobe: int | None = None, rerank: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, ids)``, each ``(Q, k)``; missing hits have id ``-1``.

        ``scores`` are exact cosines (of the float16 vectors); ``ids`` collection ids.
        """
        q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise InvalidInputError(f"queries must have shape (N, {self.dim}), got {q.shape}")
        k = int(k)
        self.set_probe(nprobe or self.nprobe)
        kc = max(k, int(rerank or self.rerank)) + len(self.removed)
        kc = min(kc, max(self.rows, 1), 4096 + k)
        _, cand = self.index.search(q, kc)
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        for i, rows in enumerate(cand):
            rows = rows[(rows >= 0) & (rows < self.rows)]
            if len(self.removed):
                rows = rows[~np.isin(rows, self.removed)]
            if not len(rows):
                continue
            s = self.vectors_of_rows(rows) @ q[i]
            top = np.argsort(-s, kind="stable")[:k]
            scores[i, : len(top)] = s[top]
            ids[i, : len(top)] = self.ids_of_rows(rows[top])
        return scores, ids
