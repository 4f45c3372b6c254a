"""Asking a vision-language model about the whole image or each region.

Each region is checked like a caption's (no valid data: no answer; little data: a
:class:`~napari_clipcap.core.errors.LowDataWarning`) and shown to the model as its crop
with some context around it, downscaled to at most :data:`MAX_SIDE` pixels when larger
(every family then resizes to its own native resolution); boxes in answers come back in
pixels of the full image.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...jobs import CancelFlag, ProgressCallback, check_cancel, report

__all__ = ["DEFAULT_VLM", "MAX_SIDE", "ask", "ask_image", "context_box"]

#: The model used when none is named: the small CPU-friendly preset.
DEFAULT_VLM = "smolvlm2-256m"
#: Longest side, in pixels, of what a model is shown; larger crops are downscaled.
MAX_SIDE = 1536


def context_box(box: Sequence[int], shape: Sequence[int], context: float) -> tuple[int, ...]:
    """``box`` grown by ``context`` times its size on every side, clipped to ``shape``."""
    if not np.isfinite(context) or context < 0:
        raise InvalidInputError(f"context must be a number >= 0, not {context!r}")
    x0, y0, x1, y1 = (int(v) for v in box)
    dx, dy = round((x1 - x0) * context), round((y1 - y0) * context)
    h, w = int(shape[0]), int(shape[1])
    return max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)


def _shown(part: np.ndarray) -> np.ndarray:
    """``part`` with its longest side at most :data:`MAX_SIDE` (area average; NaN kept)."""
    h, w = part.shape[:2]
    factor = int(np.ceil(max(h, w) / MAX_SIDE))
    if factor <= 1:
        return part
    h2, w2 = h // factor, w // factor
    blocks = part[: h2 * factor, : w2 * factor].reshape(h2, factor, w2, factor, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        return np.nanmean(blocks, axis=(1, 3)).astype(np.float32)


def _shown_window(image: Any, valid: Any, box: tuple[int, int, int, int]) -> np.ndarray:
    """:func:`_shown` of ``image[y0:y1, x0:x1]`` (NaN where ``valid`` is False), read a
    band of blocks at a time from a lazy model input: the same blocks averaged, without
    the window at full size in float32."""
    x0, y0, x1, y1 = box
    factor = int(np.ceil(max(y1 - y0, x1 - x0) / MAX_SIDE))

    def masked(r0: int, r1: int, c1: int) -> np.ndarray:
        part = image[r0:r1, x0:c1]
        if valid is None:
            return part
        return np.where(np.asarray(valid[r0:r1, x0:c1])[..., None], part, np.nan)

    if factor <= 1:
        return masked(y0, y1, x1)
    h2, w2 = (y1 - y0) // factor, (x1 - x0) // factor
    out = np.empty((h2, w2, 3), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        for i in range(h2):
            r = y0 + i * factor
            band = masked(r, r + factor, x0 + w2 * factor).reshape(1, factor, w2, factor, -1)
            out[i] = np.nanmean(band, axis=(1, 3))[0]
    return out


def ask_image(
    vlm: Any,
    image: np.ndarray,
    question: str,
    *,
    regions: Sequence | None = None,
    context: float = 0.25,
    history: Sequence | None = None,
    max_tokens: int = 256,
    valid: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    on_text: Callable[[int, str], None] | None = None,
) -> list:
    """Answer ``question`` about the whole image or each region.

    Parameters
    ----------
    vlm : VisionLanguageModel
        From :func:`~napari_clipcap.core.vlm.loading.load_vlm`.
    image : ndarray
        HxWx3 float32 in [0, 1] (the model input of the other tasks), NaN without data.
    question : str
    regions : sequence, optional
        Boxes ``(x0, y0, x1, y1)`` and/or polygons of ``(x, y)``; None for the whole image.
    context : float
        Each region is shown with this fraction of its size around it (0.25).
    history : sequence, optional
        Per region (or one for the whole image) a list of earlier
        :class:`~napari_clipcap.core.vlm.model.Turn`.
    max_tokens : int
    valid : ndarray of bool, optional
        ``(H, W)``: where the source holds data.
    progress : callable, optional
        ``progress(done, total)`` after each region.
    cancel : CancelFlag, optional
        Checked at every token step.
    on_text : callable, optional
        ``on_text(region_index, piece)`` as each answer is decoded.

    Returns
    -------
    list of Answer or None
        One per region (one for the whole image); None for a region without valid data.
    """
    from ...coords.regions import as_region
    from ..crops import cut_regions

    if regions is not None and len(regions) == 0:
        raise InvalidInputError("no regions given; pass regions=None for the whole image")
    lazy = hasattr(image, "reduced")  # a lazy model input: only the parts asked are read
    image = image if lazy else np.asarray(image, dtype=np.float32)
    empty = cut_regions(image, regions, valid=valid).empty  # validity and low-data warnings
    boxes = [None] if regions is None else [as_region(r, image.shape).box for r in regions]
    histories = list(history) if history is not None else [()] * len(boxes)
    if len(histories) != len(boxes):
        raise InvalidInputError(f"{len(histories)} histories for {len(boxes)} regions")
    answers: list = []
    for i, (box, blank) in enumerate(zip(boxes, empty)):
        check_cancel(cancel)
        if blank:
            answers.append(None)
        else:
            h, w = image.shape[:2]
            x0, y0, x1, y1 = (
                (0, 0, w, h) if box is None else context_box(box, image.shape, context)
            )
            if lazy:
                shown = _shown_window(image, valid, (x0, y0, x1, y1))
            else:
                part = image[y0:y1, x0:x1]
                if valid is not None:
                    part = np.where(np.asarray(valid[y0:y1, x0:x1])[..., None], part, np.nan)
                shown = _shown(part)
            answers.append(
                vlm.answer(
                    shown,
                    question,
                    history=histories[i],
                    max_tokens=max_tokens,
                    offset=(x0, y0),
                    extent=(x1 - x0, y1 - y0),
                    on_text=None if on_text is None else (lambda s, i=i: on_text(i, s)),
                    cancel=cancel,
                )
            )
        report(progress, i + 1, len(boxes))
    return answers


def ask(
    image: Any,
    question: str,
    vlm: Any = DEFAULT_VLM,
    *,
    regions: Sequence | None = None,
    context: float = 0.25,
    max_tokens: int = 256,
    device: str = "auto",
    precision: str = "auto",
    valid: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelFlag | None = None,
    on_text: Callable[[int, str], None] | None = None,
):
    """Ask a vision-language model about an image or each of its regions.

    Parameters
    ----------
    image : ndarray or str
        HxWx3 float32 in [0, 1] (:func:`~napari_clipcap.core.scaling.model_input.to_model_input`
        gives it), or an image file read and scaled as every task reads it.
    question : str
    vlm : VisionLanguageModel or str
        A loaded model, or a preset name, ``save_pretrained`` folder or hub id.
    regions : sequence, optional
        Boxes ``(x0, y0, x1, y1)`` and/or polygons of ``(x, y)``.
    context, max_tokens, device, precision, valid, progress, cancel, on_text
        See :func:`ask_image`.

    Returns
    -------
    Answer or list of (Answer or None)
        The answer about the whole image, or one per region (None without valid data).
    """
    from ...vlm.loading import cached_vlm

    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        from ..requests.base import ImageInput

        img = ImageInput.of(image).load()
        image, valid = img.data, img.valid if valid is None else valid
    model = cached_vlm(vlm, device, precision) if isinstance(vlm, str) else vlm
    answers = ask_image(
        model,
        image,
        question,
        regions=regions,
        context=context,
        max_tokens=max_tokens,
        valid=valid,
        progress=progress,
        cancel=cancel,
        on_text=on_text,
    )
    return answers if regions is not None else answers[0]
