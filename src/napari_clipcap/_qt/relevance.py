"""Word relevance: where in a captioned region does the image support one word?

The map is computed off the Qt thread and shown as a float32 image layer lying exactly
over the captioned region of the source (the source's placement, shifted by the
region's offset), updated in place when the same word is clicked again.
"""

from __future__ import annotations

import numpy as np

from .layers import add_or_update_image
from .model_store import STORE
from .worker import start_job


def _relevance_map(region_image: np.ndarray, word: str, caption: str, clip, progress, cancel):
    """Relevance of ``word`` over ``region_image``, float32 ``H x W``.

    Uses :func:`napari_clipcap.core.attribution.word_relevance` when that module
    exists, else a CLIP sliding-window text-match map of the word (windows of half
    the region, stride a quarter).
    """
    try:
        from ..core import attribution
    except ImportError:
        attribution = None
    if attribution is not None and hasattr(attribution, "word_relevance"):
        return attribution.word_relevance(
            region_image, caption, word, clip, progress=progress, cancel=cancel
        )
    from ..core.heatmap import text_heatmap

    h, w = region_image.shape[:2]
    window = max(8, min(h, w) // 2)
    return text_heatmap(
        region_image, word, clip, mode="sliding", window=window,
        stride=max(1, window // 4), progress=progress, cancel=cancel,
    )  # fmt: skip


def show_word_relevance(widget, image_layer, plane, result: dict, caption_index: int, word: str):
    """Start the job for one word of one caption; the layer appears when it is done."""
    s = widget.models.settings
    clip_choice, device, precision = s.clip, s.device, s.precision
    x0, y0, x1, y1 = result["box"]
    caption = result["captions"][caption_index]

    def job(progress, cancel):
        region = plane.model_input()[y0:y1, x0:x1]
        clip = STORE.clip(clip_choice, device, precision)
        heat = _relevance_map(region, word, caption, clip, progress, cancel)
        return np.asarray(heat, dtype=np.float32)

    def done(heat):
        full = np.full((plane.height, plane.width), np.nan, np.float32)
        full[y0:y1, x0:x1] = heat
        lo, hi = float(np.nanmin(heat)), float(np.nanmax(heat))
        info = {"word": word, "caption": caption, "region": result["region"], "box": result["box"]}
        add_or_update_image(
            widget.viewer, f"relevance: {word}", full, image_layer, ("relevance", info),
            colormap="magma", opacity=0.6, blending="additive",
            contrast_limits=(lo, hi if hi > lo else lo + 1e-6),
        )  # fmt: skip
        widget.job_panel.set_status(f"Relevance of '{word}' shown.")

    return widget.job_panel.watch(start_job(job, f"Relevance of '{word}'", done, parent=widget))
