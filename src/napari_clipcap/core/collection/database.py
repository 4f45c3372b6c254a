"""The SQLite file of a collection: its schema, opening it, reading items and vectors.

See :mod:`napari_clipcap.core.collection.store` for what the tables hold.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, InvalidInputError
from .records import Item

__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "iter_vectors",
    "open_database",
    "read_items",
    "read_vectors",
]

DB_NAME = "collection.sqlite"
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


def open_database(folder: Path, *, create: bool = False) -> sqlite3.Connection:
    """Connect to the collection database in ``folder`` (WAL mode, autocommit).

    With ``create`` a missing folder and database are made; the format version is
    recorded in a new database and checked in an existing one.

    Raises
    ------
    InvalidInputError
        If there is no collection (and not ``create``), or the folder is a file.
    FileFormatError
        If the database is unreadable or of another format version.
    """
    path = folder / DB_NAME
    if not path.exists():
        if not create:
            raise InvalidInputError(
                f"{folder} is not a collection (no {DB_NAME}); "
                "build one with `napari-clipcap index PATH... --index DIR`"
            )
        if folder.exists() and not folder.is_dir():
            raise InvalidInputError(
                f"{folder} is a file, not a collection folder; pass a folder "
                "(new or built by `napari-clipcap index`) as --index"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot create the collection folder {folder}: {exc.strerror or exc}"
            ) from exc
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise FileFormatError(f"{path}: not a readable collection database: {exc}") from exc
    if row is None:
        db.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [("format_version", FORMAT_VERSION), ("generation", "0")],
        )
    elif row[0] != FORMAT_VERSION:
        db.close()
        raise FileFormatError(f"{path}: collection format {row[0]} is not supported")
    return db


def read_vectors(
    db: sqlite3.Connection, dim: int, ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, vectors)`` ordered by id, as ``(N,) int64`` and ``(N, dim) float32``.

    All of them, or those of ``ids`` (read in chunks of 5,000 ids).
    """
    if ids is None:
        n = db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        chunks = [db.execute("SELECT id, v FROM vectors ORDER BY id")]
    else:
        wanted = [int(i) for i in np.sort(np.asarray(ids, dtype=np.int64))]
        n = len(wanted)
        chunks = [
            db.execute(
                f"SELECT id, v FROM vectors WHERE id IN ({','.join('?' * len(part))}) ORDER BY id",
                part,
            )
            for part in (wanted[i : i + 5000] for i in range(0, n, 5000))
        ]
    out_ids = np.empty(n, dtype=np.int64)
    out = np.empty((n, dim), dtype=np.float32)
    i = 0
    for rows in chunks:
        for item_id, blob in rows:
            out_ids[i] = item_id
            out[i] = np.frombuffer(blob, dtype=np.float32)
            i += 1
    return out_ids[:i], out[:i]


def iter_vectors(
    db: sqlite3.Connection, dim: int, *, after: int = -1, chunk: int = 20_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream ``(ids, vectors)`` chunks in id order, of ids above ``after``.

    Each chunk is one keyed range query, so memory holds one chunk whatever the size of
    the collection.
    """
    while True:
        rows = db.execute(
            "SELECT id, v FROM vectors WHERE id > ? ORDER BY id LIMIT ?", (int(after), chunk)
        ).fetchall()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
        after = int(ids[-1])
        yield ids, vecs


def read_items(db: sqlite3.Connection, ids: list[int] | None = None) -> list[Item]:
    """Items by id (in the order given; unknown ids left out), or all ordered by id."""
    sql = (
        "SELECT i.id, i.path, i.hdu, i.width, i.height, f.size, f.mtime_ns, f.hash, "
        "i.model FROM items i JOIN files f ON f.path = i.path"
    )
    if ids is None:
        rows = db.execute(sql + " ORDER BY i.id").fetchall()
    else:
        marks = ",".join("?" * len(ids))
        found = {
            r[0]: r for r in db.execute(f"{sql} WHERE i.id IN ({marks})", [int(i) for i in ids])
        }
        rows = [found[int(i)] for i in ids if int(i) in found]
    return [Item(r[0], r[1], None if r[2] < 0 else r[2], *r[3:]) for r in rows]
