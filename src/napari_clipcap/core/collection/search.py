"""Query a collection by text, by an image, or by a region of an image.

Every query becomes one L2-normalised vector from the collection's own model and is
ranked against the stored vectors by cosine similarity (exactly, or through the tuned
IVF index for large collections).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidInputError
from .store import Collection, Item


@dataclass(frozen=True)
class Hit:
    """One search result."""

    rank: int
    score: float
    item: Item

    def to_dict(self) -> dict:
        return {"rank": self.rank, "score": self.score, **asdict(self.item)}


def _open(collection: Collection | str | os.PathLike) -> tuple[Collection, bool]:
    if isinstance(collection, Collection):
        return collection, False
    return Collection(collection), True


def search_vector(
    collection: Collection | str | os.PathLike, vector: np.ndarray, k: int = 10
) -> list[Hit]:
    """Rank the collection against one query vector (``(D,)`` or ``(1, D)``)."""
    col, owned = _open(collection)
    try:
        q = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0:
            raise InvalidInputError("the query vector is zero or not finite")
        results = col.search(q / norm, k)[0]
    finally:
        if owned:
            col.close()
    return [Hit(r, s, it) for r, (it, s) in enumerate(results, 1)]


def check_encoder(collection: Collection, clip) -> None:
    """Refuse an encoder other than the collection's (vectors would be meaningless)."""
    from .records import model_id_of

    model, weights = collection.model_spec
    wanted = model_id_of(clip, model, weights)
    if collection.model_id is not None:
        collection.bind_model(wanted)


def search_text(
    collection: Collection | str | os.PathLike,
    query: str,
    clip,
    k: int = 10,
    *,
    template: str = "{}",
) -> list[Hit]:
    """Rank by a text query such as ``"a barred spiral galaxy"``.

    Parameters
    ----------
    collection : Collection or path
        The collection (or its folder).
    query : str
        The text; put into ``template`` (``"{}"`` marks where) before encoding.
    clip : object
        The collection's encoder, from ``load_clip(*collection.model_spec)``.
    k : int
        Number of hits.
    template : str
        Prompt template, e.g. ``"a satellite photo of {}"``.
    """
    if not query or not query.strip():
        raise InvalidInputError("the text query is empty")
    if "{}" not in template:
        raise InvalidInputError(f"template {template!r} has no '{{}}' for the query")
    col, owned = _open(collection)
    try:
        check_encoder(col, clip)
        vec = clip.encode_texts([template.format(query.strip())])[0]
        return search_vector(col, vec, k)
    finally:
        if owned:
            col.close()


def region_query(image: np.ndarray, region) -> np.ndarray:
    """The crop a search by ``region`` of ``image`` encodes, cut by the one crops function
    (:func:`~napari_clipcap.core.tasks.crops.cut_regions`): boxes and polygons, clipped
    to the image; a region without any valid pixel is refused."""
    if region is None:
        return image
    from ..tasks.crops import cut_regions

    cut = cut_regions(image, [region])
    if cut.empty[0]:
        raise InvalidInputError(f"the query {cut.problems[0][0]}")
    return cut.parts[0]


def search_image(
    collection: Collection | str | os.PathLike,
    image: np.ndarray,
    clip,
    k: int = 10,
    *,
    region=None,
) -> list[Hit]:
    """Rank by similarity to an image, or to one region of it (a box ``(x0, y0, x1, y1)``
    or a polygon, as every task takes them).

    ``image`` is an ``H x W x 3`` float32 array in ``[0, 1]`` as ``encode_images`` takes.
    """
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidInputError(f"the query image must be H x W x 3, got {arr.shape}")
    col, owned = _open(collection)
    try:
        check_encoder(col, clip)
        vec = clip.encode_images([np.ascontiguousarray(region_query(arr, region))])[0]
        return search_vector(col, vec, k)
    finally:
        if owned:
            col.close()
