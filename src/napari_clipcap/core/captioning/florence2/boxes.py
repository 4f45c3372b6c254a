"""Boxes of grounded captions and detections: location tokens, tiles, merging, layers.

Florence-2 writes a box as four location tokens ``<loc_x0><loc_y0><loc_x1><loc_y1>``,
each one of 1000 bins over the width (x) or height (y) of the image it saw. This module
turns boxes into such tokens and back (the way ``Florence2Processor``'s post-processor
quantises: ``floor(v / (size / 1000))`` clipped to ``0..999``, bin centres on the way
back), parses generated text into phrases with pixel boxes, cuts large images into
overlapping tiles, maps tile boxes back to the image, and merges the boxes found twice
where tiles overlap (non-maximum suppression that knows about tile edges).

Boxes are pixel data coordinates of the image, ``(x0, y0, x1, y1)``, ``x`` the column,
the end exclusive, as floats (a bin is wider than a pixel on large images).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ...coords.geometry import apply_affine
from ...errors import InvalidInputError

__all__ = [
    "BINS",
    "Detection",
    "dequantize_boxes",
    "layer_vertices",
    "location_tokens",
    "merge_detections",
    "nms",
    "parse_locations",
    "quantize_boxes",
    "strip_locations",
    "tile_boxes_to_image",
    "tile_grid",
]

#: Location bins per axis, as Florence-2 was trained.
BINS = 1000
_LOC = re.compile(r"<loc_(\d+)>")
_OTHER_TAG = re.compile(r"<(?!loc_\d+>)[^<>]*>")  # <s>, </s>, <pad>, <ground>, <obj>, ...
_PHRASE = re.compile(r"([^<]*)((?:<loc_\d+>)+)")


def _size(size: Sequence[float]) -> tuple[float, float]:
    w, h = (float(v) for v in size)
    if not (w > 0 and h > 0):
        raise InvalidInputError(f"image size must be positive (width, height), got {size}")
    return w, h


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
    w, h = _size(size)
    b = np.atleast_2d(np.asarray(boxes, dtype=np.float64))
    if b.shape[-1] != 4:
        raise InvalidInputError(f"boxes must have 4 values (x0, y0, x1, y1), got {b.shape}")
    per_bin = np.array([w, h, w, h]) / bins
    return np.clip(np.floor(b / per_bin), 0, bins - 1).astype(np.int64)


def dequantize_boxes(bins_xyxy, size: Sequence[float], bins: int = BINS) -> np.ndarray:
    """Pixel boxes at the centres of location bins (the inverse of :func:`quantize_boxes`
    up to half a bin). Returns float64 ``(N, 4)``."""
    w, h = _size(size)
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


def tile_grid(height: int, width: int, tile: int | None, overlap: int = 0) -> list[tuple]:
    """Boxes ``(x0, y0, x1, y1)`` of square tiles covering an image, overlapping by
    ``overlap`` pixels; the last row and column end at the image edge. ``tile=None`` (or a
    tile as large as the image) gives one tile, the whole image.

    Raises
    ------
    InvalidInputError
        For a tile smaller than 16 px or an overlap outside ``[0, tile)``.
    """
    if tile is None or (tile >= height and tile >= width):
        return [(0, 0, int(width), int(height))]
    tile, overlap = int(tile), int(overlap)
    if tile < 16:
        raise InvalidInputError(f"tiles must be at least 16 px, got {tile}")
    if not 0 <= overlap < tile:
        raise InvalidInputError(f"the overlap must be in [0, tile = {tile}), got {overlap}")

    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        s = list(range(0, n - tile, tile - overlap))
        return [*s, n - tile]

    return [
        (x, y, min(x + tile, width), min(y + tile, height))
        for y in starts(int(height))
        for x in starts(int(width))
    ]


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


@dataclass
class Detection:
    """One labelled box.

    Attributes
    ----------
    label : str
        The phrase asked for (detection) or the phrase grounded (grounding).
    box : tuple of 4 float
        ``(x0, y0, x1, y1)`` in pixel data coordinates of the image.
    text : str
        What the model wrote before the box (may differ from ``label``).
    tile : tuple of 4 int or None
        The tile the box was found in, as a box of the image.
    score : float or None
        A confidence, when the caller has one; NMS prefers higher scores.
    """

    label: str
    box: tuple[float, float, float, float]
    text: str = ""
    tile: tuple[int, int, int, int] | None = None
    score: float | None = None
    meta: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready: box values rounded to 0.01 px."""
        out = {"label": self.label, "box": [round(float(v), 2) for v in self.box]}
        out["text"] = self.text
        if self.tile is not None:
            out["tile"] = [int(v) for v in self.tile]
        if self.score is not None:
            out["score"] = float(self.score)
        return out


def box_iou(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection over union and intersection over the smaller box."""
    a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(inter / union), np.nan_to_num(inter / smaller)


def nms(boxes, scores, iou: float = 0.5) -> np.ndarray:
    """Plain non-maximum suppression: indices kept, highest score first."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    overlap, _ = box_iou(boxes, boxes)
    keep: list[int] = []
    for i in order:
        if all(overlap[i, j] < iou for j in keep):
            keep.append(int(i))
    return np.asarray(keep, dtype=np.int64)


def _cut(det: Detection, image_wh: tuple[float, float], tol: float) -> bool:
    """Whether a box touches an edge of its tile that is not an edge of the image (the
    object may go on in the next tile)."""
    if det.tile is None:
        return False
    (bx0, by0, bx1, by1), (tx0, ty0, tx1, ty1) = det.box, det.tile
    w, h = image_wh
    return (
        (tx0 > 0 and bx0 - tx0 <= tol)
        or (ty0 > 0 and by0 - ty0 <= tol)
        or (tx1 < w and tx1 - bx1 <= tol)
        or (ty1 < h and ty1 - by1 <= tol)
    )


def merge_detections(
    detections: Sequence[Detection],
    image_size: Sequence[float],
    *,
    iou: float = 0.5,
    contained: float = 0.7,
    edge_tol: float | None = None,
) -> list[Detection]:
    """Merge the boxes of overlapping tiles: per label, non-maximum suppression.

    Boxes cut by an inner tile edge rank below whole boxes, then higher scores, then
    larger boxes. A box is dropped when it overlaps a kept box of its label by ``iou``
    or more, or when it comes from another tile, is cut by that tile's edge, and lies
    ``contained`` or more inside a kept box (the part of an object a tile's edge cut off:
    its IoU with the whole object can be small).

    Parameters
    ----------
    detections : sequence of Detection
    image_size : (width, height)
    iou, contained : float
    edge_tol : float, optional
        How near (px) a tile edge counts as touching it; default half a location bin
        of the largest tile plus one pixel.

    Returns
    -------
    list of Detection
        In the order of their labels' first appearance, best first within a label.
    """
    w, h = _size(image_size)
    dets = list(detections)
    if edge_tol is None:
        sizes = [max(d.tile[2] - d.tile[0], d.tile[3] - d.tile[1]) for d in dets if d.tile]
        edge_tol = (max(sizes) / BINS if sizes else 0.0) + 1.0
    out: list[Detection] = []
    for label in dict.fromkeys(d.label for d in dets):
        group = [d for d in dets if d.label == label]
        cut = [_cut(d, (w, h), edge_tol) for d in group]
        boxes = np.array([d.box for d in group], dtype=float)
        area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
        score = [d.score if d.score is not None else 0.0 for d in group]
        order = sorted(range(len(group)), key=lambda i: (cut[i], -score[i], -area[i]))
        overlap, inside = box_iou(boxes, boxes)
        keep: list[int] = []
        for i in order:
            if any(
                overlap[i, j] >= iou
                or (cut[i] and group[i].tile != group[j].tile and inside[i, j] >= contained)
                for j in keep
            ):
                continue
            keep.append(i)
        out += [group[i] for i in keep]
    return out


def layer_vertices(
    boxes,
    *,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
    affine: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Rectangle vertices of pixel boxes for a napari Shapes layer.

    Without a transform the vertices are the image layer's data coordinates
    ``(row, col)`` (pixel ``i`` spans ``[i - 0.5, i + 0.5)``), right for a Shapes layer
    given the image layer's own scale and translate. With the image layer's ``scale`` and
    ``translate`` (``(row, col)`` order, as napari gives them) or its ``(3, 3)``
    data-to-world ``affine``, they are world coordinates, for a Shapes layer without a
    transform.

    Returns
    -------
    list of ndarray, shape (4, 2)
    """
    out = []
    m = np.eye(3) if affine is None else np.asarray(affine, dtype=float)
    if affine is None:
        m[:2, :2] = np.diag(np.asarray(scale if scale is not None else (1, 1), float)[-2:])
        m[:2, 2] = np.asarray(translate if translate is not None else (0, 0), float)[-2:]
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=float).reshape(-1, 4) - 0.5:
        corners = np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]])
        out.append(apply_affine(corners, m))
    return out
