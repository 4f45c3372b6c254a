"""Large scenes in overlapping tiles, and the one rule that merges instances across them.

Each tile (a square of the segmenter's native side, 1008 px for SAM 3, overlapping its
neighbours by ``overlap`` pixels) is segmented alone; every instance is kept as its
bounding box and the mask inside it, so memory grows with the instances, never with the
scene. Then, strongest first, an instance is **merged** into a kept one of the same phrase
when their masks agree where both tiles saw the image: the IoU of the two masks over the
intersection of the two tiles is at least ``merge_iou`` (0.5). An object cut by a tile
edge is seen whole in the overlap by both tiles, so its two pieces agree there and become
one instance (the union of the pieces, the higher score). Two instances found in the same
tile are one when their whole masks have an IoU of at least ``merge_iou`` (mask NMS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..jobs import CancelFlag, ProgressCallback, check_cancel, report

__all__ = ["Instance", "merge_instances", "paint_labels", "segment_tiles"]


@dataclass
class Instance:
    """One instance in full-image pixels.

    Attributes
    ----------
    box : (x0, y0, x1, y1)
        Bounding box of the mask (end exclusive).
    mask : ndarray of bool
        The mask inside ``box`` (``(y1 - y0, x1 - x0)``).
    score : float
    phrase : str
    tiles : list of (x0, y0, x1, y1)
        The tiles it was seen in.
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray
    score: float
    phrase: str
    tiles: list

    @property
    def area(self) -> int:
        return int(self.mask.sum())


def _window(mask: np.ndarray, box: Sequence[int], window: Sequence[int]) -> np.ndarray:
    """``mask`` (inside ``box``) cut or padded to ``window``."""
    x0, y0, x1, y1 = window
    out = np.zeros((y1 - y0, x1 - x0), bool)
    bx0, by0, bx1, by1 = box
    ix0, iy0, ix1, iy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
    if ix0 < ix1 and iy0 < iy1:
        out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = mask[
            iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0
        ]
    return out


def _intersection(a: Sequence[int], b: Sequence[int]) -> tuple[int, int, int, int] | None:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _iou(a: Instance, b: Instance, window: Sequence[int]) -> float:
    ma, mb = _window(a.mask, a.box, window), _window(b.mask, b.box, window)
    union = np.count_nonzero(ma | mb)
    return np.count_nonzero(ma & mb) / union if union else 0.0


def _same(kept: Instance, new: Instance, merge_iou: float) -> bool:
    if kept.phrase != new.phrase or _intersection(kept.box, new.box) is None:
        return False
    for tile in kept.tiles:
        for other in new.tiles:
            seen = _intersection(tile, other)
            if seen is not None and _iou(kept, new, seen) >= merge_iou:
                return True
    return False


def _union(kept: Instance, new: Instance) -> Instance:
    box = (
        min(kept.box[0], new.box[0]),
        min(kept.box[1], new.box[1]),
        max(kept.box[2], new.box[2]),
        max(kept.box[3], new.box[3]),
    )
    mask = _window(kept.mask, kept.box, box) | _window(new.mask, new.box, box)
    return Instance(box, mask, max(kept.score, new.score), kept.phrase, kept.tiles + new.tiles)


def merge_instances(instances: Sequence[Instance], merge_iou: float = 0.5) -> list[Instance]:
    """Merge the pieces of instances cut by tile edges, and drop duplicates (module rule).

    Returns
    -------
    list of Instance
        Strongest first.
    """
    if not 0.0 < float(merge_iou) <= 1.0:
        raise InvalidInputError(f"merge_iou must be in (0, 1], not {merge_iou!r}")
    kept: list[Instance] = []
    for new in sorted(instances, key=lambda i: -i.score):
        for k, old in enumerate(kept):
            if _same(old, new, merge_iou):
                kept[k] = _union(old, new)
                break
        else:
            kept.append(new)
    return sorted(kept, key=lambda i: -i.score)


def paint_labels(instances: Sequence[Instance], shape: Sequence[int]) -> np.ndarray:
    """An int32 label image of ``shape`` (H, W): instance ``i`` has id ``i + 1``; where
    instances overlap the stronger one's id is painted (ties: the earlier)."""
    labels = np.zeros(tuple(int(v) for v in shape[:2]), np.int32)
    order = sorted(range(len(instances)), key=lambda i: (instances[i].score, -i))
    for i in order:
        x0, y0, x1, y1 = instances[i].box
        view = labels[y0:y1, x0:x1]
        view[instances[i].mask] = i + 1
    return labels


def _tile_instance(found, tile: Sequence[int], valid) -> Instance | None:
    """A segmenter's tile mask as an :class:`Instance` cropped to its box."""
    x0, y0 = tile[0], tile[1]
    mask = np.asarray(found.mask, bool)
    if valid is not None:
        mask = mask & np.asarray(valid[y0 : tile[3], x0 : tile[2]], bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    box = (int(x0 + c0), int(y0 + r0), int(x0 + c1), int(y0 + r1))
    return Instance(box, mask[r0:r1, c0:c1].copy(), found.score, found.phrase, [tuple(tile)])


def _tile_exemplars(exemplars, labels, tile) -> tuple[list, list]:
    """Exemplar boxes that overlap ``tile``, clipped to it, in its pixels."""
    boxes, kept = [], []
    for box, label in zip(exemplars, labels):
        cut = _intersection([round(float(v)) for v in box], tile)
        if cut is not None:
            boxes.append([cut[0] - tile[0], cut[1] - tile[1], cut[2] - tile[0], cut[3] - tile[1]])
            kept.append(int(label))
    return boxes, kept


def segment_tiles(
    segmenter,
    image: np.ndarray,
    phrases: Sequence[str],
    *,
    tile: int | None = None,
    overlap: int | None = None,
    areas: Sequence[Sequence[int]] | None = None,
    exemplars: Sequence[Sequence[float]] = (),
    exemplar_labels: Sequence[int] | None = None,
    threshold: float = 0.5,
    merge_iou: float = 0.5,
    valid: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
) -> list[Instance]:
    """Every instance of ``phrases`` (and exemplars) in ``image``, tiled and merged.

    Parameters
    ----------
    segmenter : PhraseSegmenter
    image : ndarray
        HxWx3 float32 in [0, 1] (or a lazy model input sliced per tile).
    phrases : sequence of str
    tile, overlap : int, optional
        Tile side (default the segmenter's native side) and overlap (default tile / 8).
    areas : sequence of boxes, optional
        Boxes ``(x0, y0, x1, y1)`` to segment (drawn regions, the view); None: the image.
    exemplars, exemplar_labels
        Example boxes in image pixels, labels 1 (example, the default) or 0 (counter);
        each tile is given the exemplars that overlap it.
    threshold, merge_iou : float
    valid : ndarray of bool, optional
        Where the image holds data; masks are cleared elsewhere.
    progress, cancel
        ``progress(done, total)`` after each tile; ``cancel`` is checked before each
        tile and between phrases.
    """
    from ..coords.detections import tile_grid

    if not phrases and not exemplars:
        raise InvalidInputError("give at least one phrase or one exemplar box")
    h, w = int(image.shape[0]), int(image.shape[1])
    side = int(tile or segmenter.tile_size)
    step_overlap = side // 8 if overlap is None else int(overlap)
    labels = list(exemplar_labels) if exemplar_labels is not None else [1] * len(exemplars)
    tiles = []
    for area in areas or [(0, 0, w, h)]:
        ax0, ay0, ax1, ay1 = (int(v) for v in area)
        ax0, ay0, ax1, ay1 = max(0, ax0), max(0, ay0), min(w, ax1), min(h, ay1)
        if ax0 >= ax1 or ay0 >= ay1:
            raise InvalidInputError(f"the area {tuple(area)} lies outside the image")
        for t in tile_grid(ay1 - ay0, ax1 - ax0, side, min(step_overlap, side - 1)):
            tiles.append((t[0] + ax0, t[1] + ay0, t[2] + ax0, t[3] + ay0))
    found: list[Instance] = []
    for done, box in enumerate(tiles, start=1):
        check_cancel(cancel)
        boxes, box_labels = _tile_exemplars(exemplars, labels, box)
        if phrases or 1 in box_labels:  # counter-examples alone find nothing
            pixels = np.asarray(image[box[1] : box[3], box[0] : box[2]], dtype=np.float32)
            for hit in segmenter.segment(
                pixels,
                phrases,
                exemplars=boxes,
                exemplar_labels=box_labels,
                threshold=threshold,
                cancel=cancel,
            ):
                inst = _tile_instance(hit, box, valid)
                if inst is not None:
                    found.append(inst)
        report(progress, done, len(tiles))
    return merge_instances(found, merge_iou)
