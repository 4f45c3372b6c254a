"""Word relevance: where in a captioned region does the image support one word?

The map is computed off the Qt thread and shown as a float32 image layer with the
source's placement (NaN outside the captioned region), updated in place when the same
word is clicked again.
"""

from __future__ import annotations

import numpy as np

from ...._napari.layers import add_or_update_image
from ...._napari.models.store import STORE


def show_word_relevance(
    widget, image_layer, plane, result: dict, caption_index: int, word: str, captioner_choice
):
    """Start the job for one word of one caption; the layer appears when it is done.

    The map comes from :func:`napari_clipcap.core.tasks.word_relevance.word_relevance` with the
    captioner that wrote the caption: cross- or self-attention for BLIP, ViT-GPT2 and
    GIT, the dense CLIP map of the word for ClipCap and CoCa.
    """
    s = widget.models.settings
    device, precision = s.device, s.precision
    x0, y0, x1, y1 = result["box"]
    caption = result["captions"][caption_index]

    def job(progress, cancel):
        from ....core.tasks.word_relevance import word_relevance

        region = plane.model_input()[y0:y1, x0:x1]
        captioner = STORE.captioner(captioner_choice, device, precision)
        heat = word_relevance(region, caption, word, captioner, progress=progress, cancel=cancel)
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

    return widget.start(job, f"Relevance of '{word}'", done, sources=[image_layer])
