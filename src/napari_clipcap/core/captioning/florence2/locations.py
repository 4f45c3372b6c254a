"""Florence-2's location tokens: boxes written as text, and read back from it.

Florence-2 writes a box as four location tokens ``<loc_x0><loc_y0><loc_x1><loc_y1>``,
each one of 1000 bins over the width (x) or height (y) of the image it saw. This module
turns boxes into such tokens and back (the way ``Florence2Processor``'s post-processor
quantises: ``floor(v / (size / 1000))`` clipped to ``0..999``, bin centres on the way
back), parses generated text into phrases with location bins, and maps the bins found
in a tile back to pixel boxes of the whole image. Tiles, merging and napari vertices are
the detections' own (:mod:`napari_clipcap.core.coords.detections`).

Boxes are pixel data coordinates of the image, ``(x0, y0, x1, y1)``, ``x`` the column,
the end exclusive, as floats (a bin is wider than a pixel on large images).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ...coords.detections import check_size
from ...errors import InvalidInputError

__all__ = [
    "BINS",
    "dequantize_boxes",
    "location_tokens",
    "parse_locations",
    "quantize_boxes",
    "strip_locations",
    "tile_boxes_to_image",
]

#: Location bins per axis, as Florence-2 was trained.
BINS = 1000
_LOC = re.compile(r"<loc_(\d+)>")
_OTHER_TAG = re.compile(r"<(?!loc_\d+>)[^<>]*>")  # <s>, </s>, <pad>, <ground>, <obj>, ...
_PHRASE = re.compile(r"([^<]*)((?:<loc_\d+>)+)")


def quantize_boxes(boxes, size: Sequence[float], bins: int = BINS) -> np.ndarray:
    """Quantise pixel boxes into location bins, as Florence-2's post-processor does.

    Parameters
    ----------
    boxes : array-like, shape (N, 4) or (4,)
        ``(x0, y0, x1, y1)`` in pixels of an image of ``size``.
    size : (width, height)
    bins : int

    Returns
    -------
    ndarray of int64, shape (N, 4)
        ``floor(v / (size / bins))`` clipped to ``[0, bins - 1]``.
    """
    w, h = check_size(size)
    b = np.atleast_2d(np.asarray(boxes, dtype=np.float64))
    if b.shape[-1] != 4:
        raise InvalidInputError(f"boxes must have 4 values (x0, y0, x1, y1), got {b.shape}")
    per_bin = np.array([w, h, w, h]) / bins
    return np.clip(np.floor(b / per_bin), 0, bins - 1).astype(np.int64)


def dequantize_boxes(bins_xyxy, size: Sequence[float], bins: int = BINS) -> np.ndarray:
    """Pixel boxes at the centres of location bins (the inverse of :func:`quantize_boxes`
    up to half a bin). Returns float64 ``(N, 4)``."""
    w, h = check_size(size)
    q = np.atleast_2d(np.asarray(bins_xyxy, dtype=np.float64)).reshape(-1, 4)
    return (q + 0.5) * (np.array([w, h, w, h]) / bins)


def location_tokens(box: Sequence[float], size: Sequence[float]) -> str:
    """``<loc_..>`` x 4 for a pixel box on an image of ``size`` (width, height): the
    input of Florence-2's region tasks (``<REGION_TO_DESCRIPTION>``)."""
    return "".join(f"<loc_{int(v)}>" for v in quantize_boxes(box, size)[0])


def parse_locations(text: str, *, allow_empty: bool = False) -> list[tuple[str, np.ndarray]]:
    """Phrases and their location bins in Florence-2's generated text.

    ``"ship<loc_1><loc_2><loc_3><loc_4>tank<loc_5>..."`` gives
    ``[("ship", [[1, 2, 3, 4]]), ("tank", ...)]``. Tags other than location tokens
    (``<s>``, ``</s>``, ``<pad>``, ``<ground>``, ``<obj>``) are dropped; a run of location
    tokens that is not a multiple of four keeps its whole boxes only. Boxes with no
    phrase before them are kept (phrase ``""``) only with ``allow_empty``.

    Returns
    -------
    list of (str, ndarray of int64 with shape (K, 4))
    """
    text = _OTHER_TAG.sub("", text or "")
    out = []
    for phrase, locs in _PHRASE.findall(text):
        values = [int(v) for v in _LOC.findall(locs)]
        values = values[: len(values) // 4 * 4]
        phrase = " ".join(phrase.split())
        if not values or (not phrase and not allow_empty):
            continue
        out.append((phrase, np.asarray(values, dtype=np.int64).reshape(-1, 4)))
    return out


def strip_locations(text: str) -> str:
    """Text without location tokens and tags, spaces collapsed (a caption task's answer)."""
    return " ".join(_LOC.sub(" ", _OTHER_TAG.sub(" ", text or "")).split())


def tile_boxes_to_image(bins_xyxy, tile: Sequence[int]) -> np.ndarray:
    """Location bins found in a tile ``(x0, y0, x1, y1)`` -> pixel boxes of the image.

    Boxes whose end bin lies before their start bin (a model's slip) are dropped; a box
    within one bin keeps zero width there, as the processor's bin centres give it.
    """
    x0, y0, x1, y1 = (float(v) for v in tile)
    bins_xyxy = np.asarray(bins_xyxy, dtype=np.int64).reshape(-1, 4)
    ok = (bins_xyxy[:, 2] >= bins_xyxy[:, 0]) & (bins_xyxy[:, 3] >= bins_xyxy[:, 1])
    boxes = dequantize_boxes(bins_xyxy[ok], (x1 - x0, y1 - y0))
    return boxes + np.array([x0, y0, x0, y0])
