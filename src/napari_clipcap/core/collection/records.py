"""Records of a collection: items, files, items to write, and the write transaction."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidInputError


class ModelMismatchError(InvalidInputError):
    """Vectors from one model were about to be mixed with another model's collection."""


@dataclass(frozen=True)
class Item:
    """One indexed image: a file, or one image HDU of a FITS file."""

    id: int
    path: str
    hdu: int | None
    width: int
    height: int
    size: int
    mtime_ns: int
    hash: str
    model: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FileRecord:
    """What the collection remembers of a file it has seen.

    ``error`` is the message of the run that failed to read it (then it has no items),
    else ``None``; ``hash`` is empty when the file could not even be read for hashing.
    """

    path: str
    size: int
    mtime_ns: int
    hash: str
    error: str | None


@dataclass(frozen=True)
class NewItem:
    """An item about to be written: metadata, its vector and thumbnail."""

    hdu: int | None
    width: int
    height: int
    vector: np.ndarray
    thumbnail: bytes


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on any exception).

    With ``bump``, the collection's generation counter goes up in the same transaction;
    ``bump`` is read at commit, so the block may set it once it knows items changed.
    """

    def __init__(self, db: sqlite3.Connection, bump: bool):
        self.db, self.bump = db, bump

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        db = self.db
        if exc_type is not None:
            db.execute("ROLLBACK")
            return
        if self.bump:
            db.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
            )
        db.execute("COMMIT")


def model_id_of(clip, model: str | None = None, weights: str | None = None) -> str:
    """The id a collection records for an encoder: its ``name``, else ``model/weights``.

    Without an encoder (``clip=None``: the model is loaded elsewhere, on Dask workers or
    by a batch run), the name ``load_clip(model, weights)`` gives its model.
    """
    if clip is None:
        return clip_name(model, weights)
    name = getattr(clip, "name", None)
    if name:
        return str(name)
    return f"{model}/{weights}" if weights else str(model)


def clip_name(model: str | None, weights: str | None) -> str:
    """The ``name`` of ``load_clip(model, weights)`` without loading it (presets resolved)."""
    from ..clip.model import resolve_clip
    from ..registry import RANDOM

    if not model:
        raise InvalidInputError("name the CLIP model (model and weights) to embed with")
    spec = resolve_clip(str(model), weights or None)
    w = None if spec.weights == RANDOM else spec.weights
    return spec.name if w is None else f"{spec.name} ({w})"
