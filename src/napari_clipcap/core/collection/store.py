"""An on-disk image collection: SQLite for metadata and vectors, FAISS for search.

A collection is a folder::

    DIR/collection.sqlite       metadata, vectors and thumbnails (the source of truth)
    DIR/vectors.faiss(.json)    the search index, derived from the SQLite vectors
    DIR/vectors.ivfpq/          ... or, past the memory budget, the memory-mapped one
    DIR/index.lock              held while an indexing run writes (one writer at a time)

SQLite holds everything in transactions: an item's metadata row, its vector and its
thumbnail are written (or deleted) together, so a crash or Ctrl-C between batches loses
nothing already committed and leaves no half-written item; ``UNIQUE(path, hdu)`` rules
out duplicates. The FAISS file carries the collection's *generation* (a counter bumped by
every write); when it does not match, the index is rebuilt from the SQLite vectors on
first use. So FAISS can never disagree with the metadata for long, and deleting the
``.faiss`` file is always safe.

Each collection belongs to one embedding model; adding vectors from another model raises
:class:`ModelMismatchError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..registry import RANDOM, ModelSpec
from ..registry.names import takes_weights
from .database import DB_NAME, iter_vectors, open_database, read_items, read_vectors
from .ivfpq.index import default_memory_budget
from .records import FileRecord, Item, ModelMismatchError, NewItem, Transaction
from .vectorindex import APPROX_THRESHOLD

__all__ = ["DB_NAME", "Collection", "FileRecord", "Item", "ModelMismatchError", "NewItem"]

INDEX_NAME = "vectors.faiss"


class Collection:
    """A collection folder, opened for reading and writing.

    Parameters
    ----------
    folder : str or os.PathLike
        The collection folder.
    create : bool
        Create the folder and an empty collection if there is none; otherwise a missing
        collection raises :class:`InvalidInputError`.
    memory_budget : int, optional
        Bytes the search index may hold in memory (default: a quarter of the RAM);
        past it the index is the memory-mapped IVF-PQ of :mod:`.ivfpq`.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        create: bool = False,
        memory_budget: int | None = None,
    ):
        self.folder = Path(folder).expanduser()
        self.memory_budget = int(memory_budget or default_memory_budget())
        self._db = open_database(self.folder, create=create)
        self._index = None
        self._index_generation = -1

    # -- metadata -----------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def _set_meta(self, **values: str) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [(k, str(v)) for k, v in values.items()],
        )

    @property
    def generation(self) -> int:
        return int(self.meta.get("generation", "0"))

    @property
    def model_id(self) -> str | None:
        return self.meta.get("model_id")

    @property
    def model_spec(self) -> tuple[str | None, str | None]:
        """``(model, weights)`` the collection was built with, for ``load_clip``
        (weights ``"none"``: random ones; see :attr:`clip_spec`)."""
        spec = self.clip_spec
        return (spec.name, spec.weights) if spec is not None else (None, None)

    @property
    def clip_spec(self) -> ModelSpec | None:
        """The CLIP model its ``meta`` table asks for, as given there (resolve it for what
        loads; ``None`` while it holds no model). A collection that recorded an
        architecture with no weights and a bare id was built with random weights (before
        they were recorded as ``"none"``)."""
        meta = self.meta
        model, weights = meta.get("clip_model") or None, meta.get("clip_weights") or None
        if model is None:
            return None
        if weights is None and meta.get("model_id") == model and takes_weights(model):
            weights = RANDOM
        return ModelSpec.for_clip(model, weights)

    def bind_model(
        self, model_id: str, model: str | None = None, weights: str | None = None
    ) -> None:
        """Record the collection's model, or check that ``model_id`` is the recorded one.

        Raises
        ------
        ModelMismatchError
            If the collection was built with another model.
        """
        current = self.model_id
        if current is None:
            self._set_meta(model_id=model_id, clip_model=model or "", clip_weights=weights or "")
        elif current != model_id:
            cm, cw = self.model_spec
            hint = f"--clip {cm}" + (f" --clip-weights {cw}" if cw else "") if cm else ""
            raise ModelMismatchError(
                f"collection {self.folder} was built with model {current!r}, not "
                f"{model_id!r}; its vectors cannot be compared. Use the same model"
                + (f" ({hint})" if hint else "")
                + " or another --index folder."
            )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    @property
    def dim(self) -> int | None:
        value = self.meta.get("dim")
        return int(value) if value else None

    def file_record(self, path: str) -> FileRecord | None:
        row = self._db.execute(
            "SELECT path, size, mtime_ns, hash, error FROM files WHERE path = ?", (path,)
        ).fetchone()
        return FileRecord(*row) if row else None

    def file_records(self) -> dict[str, FileRecord]:
        """Every file the collection has seen, by path (one query, for planning a run)."""
        rows = self._db.execute("SELECT path, size, mtime_ns, hash, error FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def file_paths(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT path FROM files ORDER BY path")]

    def items(self, ids: list[int] | None = None) -> list[Item]:
        """Items by id (in the order given), or all items ordered by id."""
        return read_items(self._db, ids)

    def thumbnail(self, item_id: int) -> bytes | None:
        row = self._db.execute("SELECT png FROM thumbs WHERE id = ?", (int(item_id),)).fetchone()
        return row[0] if row else None

    def thumbnails(self, ids: list[int]) -> dict[int, bytes]:
        """PNG thumbnails of the given items, in one query (items without one left out)."""
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self._db.execute(f"SELECT id, png FROM thumbs WHERE id IN ({marks})", ids))

    def item_ids(self) -> np.ndarray:
        """Ids of every stored vector, ascending."""
        rows = self._db.execute("SELECT id FROM vectors ORDER BY id")
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def vectors(self, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` ordered by id, as ``(N,) int64`` and ``(N, D) float32``.

        All of them, or those of ``ids`` (read in chunks, for incremental index updates).
        """
        return read_vectors(self._db, self.dim or 0, ids)

    def iter_vectors(self, *, after: int = -1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stream ``(ids, vectors)`` chunks in id order, of the ids above ``after``; memory
        holds one chunk whatever the collection's size (for building search indexes)."""
        return iter_vectors(self._db, self.dim or 0, after=after)

    # -- writing ------------------------------------------------------------------------
    def write_files(self, records: list[tuple[FileRecord, list[NewItem]]]) -> None:
        """Replace the given files' items with new ones in one transaction.

        The generation goes up only when items were deleted or added: recording a file
        that failed again leaves the saved search index valid.
        """
        model = self.model_id or ""
        tx = self._transaction(bump=False)
        with tx:
            for rec, new in records:
                if self._delete_path(rec.path, keep_file=True) or new:
                    tx.bump = True
                self._db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                    (rec.path, rec.size, rec.mtime_ns, rec.hash, rec.error),
                )
                for it in new:
                    vec = np.ascontiguousarray(it.vector, dtype=np.float32).ravel()
                    self._check_dim(len(vec))
                    cur = self._db.execute(
                        "INSERT INTO items(path, hdu, width, height, model) VALUES (?,?,?,?,?)",
                        (rec.path, -1 if it.hdu is None else it.hdu, it.width, it.height, model),
                    )
                    self._db.execute(
                        "INSERT INTO vectors VALUES (?, ?)", (cur.lastrowid, vec.tobytes())
                    )
                    if it.thumbnail:  # imported embeddings may come without one
                        self._db.execute(
                            "INSERT INTO thumbs VALUES (?, ?)", (cur.lastrowid, it.thumbnail)
                        )

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new size and time for a file whose content hash did not change."""
        with self._transaction(bump=False):
            self._db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path)
            )

    def remove_files(self, paths: list[str]) -> None:
        """Drop files and their items, vectors and thumbnails."""
        if paths:
            tx = self._transaction(bump=False)
            with tx:
                for p in paths:
                    if self._delete_path(p, keep_file=False):
                        tx.bump = True

    def _check_dim(self, dim: int) -> None:
        current = self.dim
        if current is None:
            self._set_meta(dim=str(dim))
        elif current != dim:
            raise ModelMismatchError(
                f"collection {self.folder} holds {current}-d vectors, got {dim}-d ones"
            )

    def _delete_path(self, path: str, keep_file: bool) -> int:
        """Delete a file's items (and its record unless ``keep_file``); return how many."""
        sub = "(SELECT id FROM items WHERE path = ?)"
        self._db.execute(f"DELETE FROM vectors WHERE id IN {sub}", (path,))
        self._db.execute(f"DELETE FROM thumbs WHERE id IN {sub}", (path,))
        n = self._db.execute("DELETE FROM items WHERE path = ?", (path,)).rowcount
        if not keep_file:
            self._db.execute("DELETE FROM files WHERE path = ?", (path,))
        return n

    def _transaction(self, bump: bool = True):
        return Transaction(self._db, bump)

    # -- search index -------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.folder / INDEX_NAME

    def vector_index(
        self,
        *,
        approximate: bool | str = "auto",
        threshold: int | None = None,
        rebuild: bool = False,
    ):
        """The search index, loaded from disk or brought up to date from SQLite.

        In memory (exact, or IVF from ``threshold`` vectors, default
        :data:`APPROX_THRESHOLD`) while that fits the
        collection's ``memory_budget``; past it, the memory-mapped IVF-PQ index of
        :mod:`.ivfpq`. Stale indexes are updated in place when the collection has not
        doubled or halved since training, else rebuilt (see :mod:`.selection`).
        """
        from .selection import current_index

        threshold = APPROX_THRESHOLD if threshold is None else int(threshold)
        gen = self.generation
        if not rebuild and self._index is not None and self._index_generation == gen:
            return self._index
        self._index = current_index(self, gen, approximate, threshold, rebuild)
        self._index_generation = gen
        return self._index

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[tuple[Item, float]]]:
        """Top ``k`` items for each query vector, best first, with cosine scores."""
        if k < 1:
            raise InvalidInputError(f"k must be positive, got {k}")
        if self._db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None:
            return [[] for _ in np.atleast_2d(queries)]  # (COUNT(*) would scan every row)
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if self.dim is not None and q.shape[1] != self.dim:
            raise ModelMismatchError(
                f"query vectors are {q.shape[1]}-d but collection {self.folder} holds "
                f"{self.dim}-d vectors from {self.model_id!r}; use the collection's model"
            )
        index = self.vector_index()
        scores, ids = index.search(q, max(1, min(k, index.ntotal)))
        out = []
        for srow, irow in zip(scores, ids):
            keep = [(int(i), float(s)) for i, s in zip(irow, srow) if i >= 0]
            by_id = {it.id: it for it in self.items([i for i, _ in keep])}
            out.append([(by_id[i], s) for i, s in keep if i in by_id])
        return out

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
