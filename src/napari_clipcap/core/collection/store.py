"""An on-disk image collection: SQLite for metadata and vectors, FAISS for search.

A collection is a folder::

    DIR/collection.sqlite       metadata, vectors and thumbnails (the source of truth)
    DIR/vectors.faiss(.json)    the search index, derived from the SQLite vectors

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
import sqlite3
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from .records import FileRecord, Item, ModelMismatchError, NewItem, Transaction
from .vectorindex import APPROX_THRESHOLD, VectorIndex, build_index, update_ivf

__all__ = ["Collection", "FileRecord", "Item", "ModelMismatchError", "NewItem"]

DB_NAME = "collection.sqlite"
INDEX_NAME = "vectors.faiss"
FORMAT_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS items(
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, hdu INTEGER NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, model TEXT NOT NULL,
    UNIQUE(path, hdu));
CREATE TABLE IF NOT EXISTS vectors(id INTEGER PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS thumbs(id INTEGER PRIMARY KEY, png BLOB NOT NULL);
"""


class Collection:
    """A collection folder, opened for reading and writing.

    Parameters
    ----------
    folder : str or os.PathLike
        The collection folder.
    create : bool
        Create the folder and an empty collection if there is none; otherwise a missing
        collection raises :class:`InvalidInputError`.
    """

    def __init__(self, folder: str | os.PathLike, *, create: bool = False):
        self.folder = Path(folder).expanduser()
        db = self.folder / DB_NAME
        if not db.exists():
            if not create:
                raise InvalidInputError(
                    f"{self.folder} is not a collection (no {DB_NAME}); "
                    "build one with `napari-clipcap index PATH... --index DIR`"
                )
            if self.folder.exists() and not self.folder.is_dir():
                raise InvalidInputError(
                    f"{self.folder} is a file, not a collection folder; pass a folder "
                    "(new or built by `napari-clipcap index`) as --index"
                )
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InvalidInputError(
                    f"cannot create the collection folder {self.folder}: {exc.strerror or exc}"
                ) from exc
        try:
            self._db = sqlite3.connect(
                db, check_same_thread=False, isolation_level=None, timeout=60
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FileFormatError(f"{db}: not a readable collection database: {exc}") from exc
        version = self.meta.get("format_version")
        if version is None:
            self._set_meta(format_version=FORMAT_VERSION, generation="0")
        elif version != FORMAT_VERSION:
            raise FileFormatError(f"{db}: collection format {version} is not supported")
        self._index: VectorIndex | None = None
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
        """``(model, weights)`` the collection was built with, for ``load_clip``."""
        meta = self.meta
        return meta.get("clip_model"), meta.get("clip_weights") or None

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
        sql = (
            "SELECT i.id, i.path, i.hdu, i.width, i.height, f.size, f.mtime_ns, f.hash, "
            "i.model FROM items i JOIN files f ON f.path = i.path"
        )
        if ids is None:
            rows = self._db.execute(sql + " ORDER BY i.id").fetchall()
        else:
            marks = ",".join("?" * len(ids))
            found = {
                r[0]: r
                for r in self._db.execute(f"{sql} WHERE i.id IN ({marks})", [int(i) for i in ids])
            }
            rows = [found[int(i)] for i in ids if int(i) in found]
        return [Item(r[0], r[1], None if r[2] < 0 else r[2], *r[3:]) for r in rows]

    def thumbnail(self, item_id: int) -> bytes | None:
        row = self._db.execute("SELECT png FROM thumbs WHERE id = ?", (int(item_id),)).fetchone()
        return row[0] if row else None

    def item_ids(self) -> np.ndarray:
        """Ids of every stored vector, ascending."""
        rows = self._db.execute("SELECT id FROM vectors ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vectors(self, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` ordered by id, as ``(N,) int64`` and ``(N, D) float32``.

        All of them, or those of ``ids`` (read in chunks, for incremental index updates).
        """
        if ids is None:
            n = self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            chunks = [self._db.execute("SELECT id, v FROM vectors ORDER BY id")]
        else:
            wanted = [int(i) for i in np.sort(np.asarray(ids, dtype=np.int64))]
            n = len(wanted)
            chunks = [
                self._db.execute(
                    f"SELECT id, v FROM vectors WHERE id IN ({','.join('?' * len(part))}) "
                    "ORDER BY id",
                    part,
                )
                for part in (wanted[i : i + 5000] for i in range(0, n, 5000))
            ]
        out_ids = np.empty(n, dtype=np.int64)
        out = np.empty((n, self.dim or 0), dtype=np.float32)
        i = 0
        for rows in chunks:
            for item_id, blob in rows:
                out_ids[i] = item_id
                out[i] = np.frombuffer(blob, dtype=np.float32)
                i += 1
        return out_ids[:i], out[:i]

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
        threshold: int = APPROX_THRESHOLD,
        rebuild: bool = False,
    ) -> VectorIndex:
        """The FAISS index: loaded from disk, or brought up to date from the SQLite vectors.

        A stale IVF index whose size is within a factor of two of the size it was
        trained at is updated in place (vectors removed and added, centroids kept);
        otherwise the index is rebuilt (and an IVF index retrained).
        """
        gen = self.generation
        if not rebuild and self._index is not None and self._index_generation == gen:
            return self._index
        path, n, stamp = self.index_path, len(self), {"generation": gen}
        if not rebuild and path.exists():
            try:
                index, info = VectorIndex.load(path)
            except FileFormatError:
                index, info = None, {}
            if index is not None and info.get("generation") == gen and index.ntotal == n:
                self._index, self._index_generation = index, gen
                return index
            want_ivf = n >= threshold if approximate == "auto" else bool(approximate)
            trained = int(info.get("trained_on") or 0)
            if (
                index is not None
                and index.kind == "ivf"
                and want_ivf
                and (trained / 2 <= n <= 2 * trained)
            ):
                # a few files came or went: update the lists, keep the trained centroids
                update_ivf(index, self.item_ids(), lambda ids: self.vectors(ids)[1])
                return self._keep(index, {**stamp, "trained_on": trained})
        ids, vecs = self.vectors()
        index = build_index(vecs, ids, approximate=approximate, threshold=threshold)
        del vecs
        return self._keep(index, {**stamp, "trained_on": index.ntotal})

    def _keep(self, index: VectorIndex, stamp: dict) -> VectorIndex:
        try:
            index.save(self.index_path, stamp)
        except OSError:
            pass  # a read-only collection still searches; it rebuilds next time
        self._index, self._index_generation = index, stamp["generation"]
        return index

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[tuple[Item, float]]]:
        """Top ``k`` items for each query vector, best first, with cosine scores."""
        if k < 1:
            raise InvalidInputError(f"k must be positive, got {k}")
        if len(self) == 0:
            return [[] for _ in np.atleast_2d(queries)]
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if self.dim is not None and q.shape[1] != self.dim:
            raise ModelMismatchError(
                f"query vectors are {q.shape[1]}-d but collection {self.folder} holds "
                f"{self.dim}-d vectors from {self.model_id!r}; use the collection's model"
            )
        scores, ids = self.vector_index().search(q, min(k, len(self)))
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
