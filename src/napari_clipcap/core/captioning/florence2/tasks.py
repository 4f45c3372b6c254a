"""What Florence-2 does beyond captions: region captions, phrase grounding, detection.

>>> cap = build_florence2("florence-community/Florence-2-base")      # doctest: +SKIP
>>> describe_regions(cap, image, [(0, 0, 64, 64)])                   # doctest: +SKIP
[['a white ship in the water']]
>>> detect_phrases(cap, image, "ships, storage tanks", tile=768)     # doctest: +SKIP
[Detection(label='ships', box=(412.3, 80.1, 470.8, 121.5), ...), ...]
>>> grouped(ground_caption(cap, image, "two ships near a harbour"))  # doctest: +SKIP
{'two ships': [(...), (...)], 'a harbour': [(...)]}

Every box is in pixel data coordinates of the whole image, ``(x0, y0, x1, y1)``;
:func:`~napari_clipcap.core.coords.detections.layer_vertices` places them on a
napari layer.
Large images are cut into overlapping tiles (``tile``, ``overlap`` in pixels); boxes
found in several tiles are merged by
:func:`~napari_clipcap.core.coords.detections.merge_detections`. ``progress(done, total)``
counts tiles; ``cancel`` is checked before each tile and each batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...coords.detections import Detection, merge_detections, tile_grid
from ...errors import InvalidInputError
from ...jobs import ProgressCallback, check_cancel, report
from .captioner import Florence2Captioner, check_rgb
from .locations import location_tokens, tile_boxes_to_image

__all__ = ["describe_regions", "detect_phrases", "ground_caption", "grouped", "split_phrases"]

REGION_TASK = "<REGION_TO_DESCRIPTION>"
GROUNDING_TASK = "<CAPTION_TO_PHRASE_GROUNDING>"
DETECTION_TASK = "<OPEN_VOCABULARY_DETECTION>"
#: ``method`` of :func:`detect_phrases` -> task token.
DETECTION_METHODS = {"ovd": DETECTION_TASK, "grounding": GROUNDING_TASK}


def split_phrases(phrases: str | Sequence[str]) -> list[str]:
    """``"ships, storage tanks"`` -> ``["ships", "storage tanks"]`` (no empty, no repeats)."""
    items = phrases.split(",") if isinstance(phrases, str) else list(phrases)
    out = list(dict.fromkeys(" ".join(str(p).split()) for p in items))
    out = [p for p in out if p]
    if not out:
        raise InvalidInputError('no phrases given; e.g. "ships, storage tanks"')
    return out


def describe_regions(
    captioner: Florence2Captioner,
    image: np.ndarray,
    regions: Sequence,
    *,
    beam_size: int = 3,
    max_tokens: int = 67,
    **options,
) -> list[list[str]]:
    """Region captions: ``<REGION_TO_DESCRIPTION>`` with each region's box quantised to
    location tokens on the whole image (the model sees the whole image, not a crop).

    Parameters
    ----------
    captioner : Florence2Captioner
    image : ndarray
        HxWx3 float32 in [0, 1].
    regions : sequence
        Boxes ``(x0, y0, x1, y1)`` or polygons ``(x, y)``; a polygon uses its bounding box,
        a region past the image edge is clipped to it.
    **options
        ``num_captions``, ``seed``, ``batch_size``, ``progress``, ``cancel``, ...

    Returns
    -------
    list of list of str
        Per region, ``num_captions`` texts.
    """
    from ...coords.regions import as_region

    image = check_rgb([image])[0]
    if len(regions) == 0:
        raise InvalidInputError("no regions to describe")
    h, w = image.shape[:2]
    boxes = [as_region(r, image.shape).box for r in regions]
    tasks = [(REGION_TASK, location_tokens(b, (w, h))) for b in boxes]
    return captioner.run(
        [image] * len(boxes), tasks, beam_size=beam_size, max_tokens=max_tokens, **options
    )


def _tiled_input(image: Any) -> Any:
    """``image`` checked as ``H x W x 3``: a lazy model input (a
    :class:`~napari_clipcap.core.scaling.lazy_input.ModelInputView`) as it is, so that
    only the tiles are read and scaled; anything else as a float32 array."""
    if not hasattr(image, "reduced"):
        return check_rgb([image])[0]
    shape = tuple(image.shape)
    if len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < 1:
        raise InvalidInputError(f"image 0 must be H x W x 3, got shape {shape}")
    return image


def _tiled(
    captioner: Florence2Captioner,
    image: np.ndarray,
    tasks: list[tuple[str, str]],
    labels: list[str | None],
    *,
    tile: int | None,
    overlap: int,
    iou: float,
    progress: ProgressCallback | None,
    cancel,
    **options,
) -> list[Detection]:
    """Run location ``tasks`` on every tile; label boxes (``None``: the model's phrase).
    A lazy model input is read one tile at a time."""
    image = _tiled_input(image)
    h, w = image.shape[:2]
    tiles = tile_grid(h, w, tile, overlap)
    found: list[Detection] = []
    for done, t in enumerate(tiles, 1):
        check_cancel(cancel)
        crop = np.asarray(image[t[1] : t[3], t[0] : t[2]], dtype=np.float32)
        located = captioner.locate([crop] * len(tasks), tasks, cancel=cancel, **options)
        for label, pairs in zip(labels, located):
            for text, bins in pairs:
                if label is None and not text:
                    continue
                for box in tile_boxes_to_image(bins, t):
                    box = tuple(float(v) for v in np.clip(box, 0, [w, h, w, h]))
                    found.append(Detection(label or text, box, text=text, tile=tuple(t)))
        report(progress, done, len(tiles))
    return merge_detections(found, (w, h), iou=iou) if len(tiles) > 1 else found


def detect_phrases(
    captioner: Florence2Captioner,
    image: np.ndarray,
    phrases: str | Sequence[str],
    *,
    method: str = "ovd",
    tile: int | None = None,
    overlap: int = 64,
    iou: float = 0.5,
    beam_size: int = 3,
    max_tokens: int = 256,
    progress: ProgressCallback | None = None,
    cancel=None,
    **options,
) -> list[Detection]:
    """Open-vocabulary detection from text: each phrase -> its labelled boxes.

    Parameters
    ----------
    phrases : str or sequence of str
        ``"ships, storage tanks"`` or a list; each is asked for on its own.
    method : {"ovd", "grounding"}
        ``<OPEN_VOCABULARY_DETECTION>`` or ``<CAPTION_TO_PHRASE_GROUNDING>`` per phrase.
    tile, overlap : int, optional
        Tile size and overlap in pixels for large images (``tile=None``: one pass over
        the whole image, which the model sees at its input size, 768 px for the
        released checkpoints).
    iou : float
        Overlap at which boxes of one label found in several tiles are merged.
    **options
        ``batch_size``, ``seed``, ``length_penalty``.

    Returns
    -------
    list of Detection
        ``label`` is the phrase asked for, ``text`` what the model wrote.
    """
    if method not in DETECTION_METHODS:
        raise InvalidInputError(f"unknown detection method {method!r}; use ovd or grounding")
    phrases = split_phrases(phrases)
    tasks = [(DETECTION_METHODS[method], p) for p in phrases]
    return _tiled(
        captioner,
        image,
        tasks,
        list(phrases),
        tile=tile,
        overlap=overlap,
        iou=iou,
        progress=progress,
        cancel=cancel,
        beam_size=beam_size,
        max_tokens=max_tokens,
        **options,
    )


def ground_caption(
    captioner: Florence2Captioner,
    image: np.ndarray,
    caption: str,
    *,
    tile: int | None = None,
    overlap: int = 64,
    iou: float = 0.5,
    beam_size: int = 3,
    max_tokens: int = 256,
    progress: ProgressCallback | None = None,
    cancel=None,
    **options,
) -> list[Detection]:
    """Phrase grounding: the phrases of ``caption`` the model finds, with their boxes.

    Returns
    -------
    list of Detection
        ``label`` is the phrase; :func:`grouped` gives one list of boxes per phrase.
    """
    caption = " ".join(str(caption or "").split())
    if not caption:
        raise InvalidInputError("no caption to ground")
    return _tiled(
        captioner,
        image,
        [(GROUNDING_TASK, caption)],
        [None],
        tile=tile,
        overlap=overlap,
        iou=iou,
        progress=progress,
        cancel=cancel,
        beam_size=beam_size,
        max_tokens=max_tokens,
        **options,
    )


def grouped(detections: Sequence[Detection]) -> dict[str, list[tuple]]:
    """``{label: [box, ...]}`` in the order labels first appear."""
    out: dict[str, list[tuple]] = {}
    for d in detections:
        out.setdefault(d.label, []).append(tuple(d.box))
    return out
