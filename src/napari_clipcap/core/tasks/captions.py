"""Captions of an image or of its regions, as one batch, through the one crops function."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..captioning.base import Captioner, check_images
from ..errors import InvalidInputError
from .crops import cut_regions

__all__ = ["caption_regions"]


def caption_regions(
    captioner: Captioner,
    image: np.ndarray,
    regions: Any = None,
    *,
    polygon_mode: str = "mask",
    valid: np.ndarray | None = None,
    **options: Any,
) -> list[list[str]]:
    """Caption the whole image (``regions=None``) or each box / polygon, as one batch.

    Parameters
    ----------
    captioner : Captioner
    image : ndarray
        HxWx3 float32 in [0, 1] (as
        :func:`~napari_clipcap.core.scaling.model_input.to_model_input` gives).
    regions : sequence, optional
        Boxes ``(x0, y0, x1, y1)`` (end exclusive), polygons of ``(x, y)``, regions or
        region-file shapes (:func:`~napari_clipcap.core.tasks.crops.cut_regions`). A
        region reaching past the image edge is clipped to it.
    polygon_mode : {"mask", "context"}
        What to do with the pixels of a polygon's box outside the polygon.
    valid : ndarray of bool, optional
        ``(H, W)``: where the source holds data.
    **options
        Passed to ``captioner.caption`` (``options=DecodeOptions(...)`` or single settings).

    Returns
    -------
    list of list of str
        Per region its captions; ``[]`` for a region without any valid pixel. Regions
        with little data (mostly NaN or nodata, or tiny) are captioned with a
        :class:`~napari_clipcap.core.errors.LowDataWarning`.

    Raises
    ------
    InvalidInputError
        For an empty region list, a region that is empty or outside the image, or an
        image without any valid pixel.
    """
    if regions is not None and len(regions) == 0:
        raise InvalidInputError("no regions given; pass regions=None for the whole image")
    image = check_images([image])[0]
    cut = cut_regions(image, regions, valid=valid, polygon_mode=polygon_mode)
    kept = cut.kept
    return cut.fill(captioner.caption(kept, **options) if kept else [], gap=[])
