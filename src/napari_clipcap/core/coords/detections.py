"""Labelled boxes found on an image: tiles to look in, merging what tiles found twice,
and the boxes as napari Shapes vertices.

Detectors (Florence-2's grounding and detection, a VLM's answer boxes) give
:class:`Detection` objects; large images are looked at in overlapping tiles
(:func:`tile_grid`), and :func:`merge_detections` merges the boxes found twice where
tiles overlap (non-maximum suppression that knows about tile edges).

Boxes are pixel data coordinates of the image, ``(x0, y0, x1, y1)``, ``x`` the column,
the end exclusive, as floats (a detector's box may be finer or coarser than a pixel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInputError
from .geometry import apply_affine

__all__ = [
    "Detection",
    "box_iou",
    "check_size",
    "layer_vertices",
    "merge_detections",
    "nms",
    "tile_grid",
]


def check_size(size: Sequence[float]) -> tuple[float, float]:
    """``(width, height)`` as floats; both must be positive."""
    w, h = (float(v) for v in size)
    if not (w > 0 and h > 0):
        raise InvalidInputError(f"image size must be positive (width, height), got {size}")
    return w, h


def tile_grid(height: int, width: int, tile: int | None, overlap: int = 0) -> list[tuple]:
    """Boxes ``(x0, y0, x1, y1)`` of square tiles covering an image, overlapping by
    ``overlap`` pixels; the last row and column end at the image edge. ``tile=None`` (or a
    tile as large as the image) gives one tile, the whole image.

    Raises
    ------
    InvalidInputError
        For a tile smaller than 16 px or an overlap outside ``[0, tile)``.
    """
    if int(overlap) < 0:
        raise InvalidInputError(f"the tile overlap must be 0 or more pixels, got {overlap}")
    if tile is not None:
        if int(tile) < 16:
            raise InvalidInputError(f"tiles must be at least 16 px, got {tile}")
        if not int(overlap) < int(tile):
            raise InvalidInputError(f"the overlap must be in [0, tile = {tile}), got {overlap}")
    if tile is None or (tile >= height and tile >= width):
        return [(0, 0, int(width), int(height))]
    tile, overlap = int(tile), int(overlap)

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
    bins: int = 1000,
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
        How near (px) a tile edge counts as touching it; default one ``bins``-th of the
        largest tile (a Florence-2 location bin) plus one pixel.
    bins : int
        Location bins per tile axis of the detector (Florence-2: 1000).

    Returns
    -------
    list of Detection
        In the order of their labels' first appearance, best first within a label.
    """
    for name, value in (("iou", iou), ("contained", contained)):
        if not 0 < value <= 1:  # also refuses NaN
            raise InvalidInputError(f"{name} must be a fraction in (0, 1], got {value}")
    w, h = check_size(image_size)
    dets = list(detections)
    if edge_tol is None:
        sizes = [max(d.tile[2] - d.tile[0], d.tile[3] - d.tile[1]) for d in dets if d.tile]
        edge_tol = (max(sizes) / bins if sizes else 0.0) + 1.0
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
