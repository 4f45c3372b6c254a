"""Which model a (received) collection asks for, read from its ``meta`` table before
anything loads, so the user sees it first (``index`` / ``search`` on stderr and in
``--json``; the Search dock through :func:`describe_collection_model`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import ModelSpec, describe_request
from .database import DB_NAME

__all__ = ["collection_spec", "describe_collection_model"]


def collection_spec(folder: str | os.PathLike) -> ModelSpec | None:
    """The CLIP model the collection in ``folder`` recorded, as recorded (not resolved);
    ``None`` when there is no collection there or it holds no model yet."""
    from .store import Collection

    if not (Path(folder).expanduser() / DB_NAME).is_file():
        return None
    with Collection(folder) as col:
        return col.clip_spec


def describe_collection_model(folder: str | os.PathLike) -> dict | None:
    """What the collection in ``folder`` asks to load (see
    :func:`~napari_clipcap.core.registry.describe_request`: ``text`` is one line for a
    hint line); ``None`` when it asks for nothing yet."""
    spec = collection_spec(folder)
    if spec is None:
        return None
    return describe_request(f"collection {Path(folder).expanduser()}", spec)
