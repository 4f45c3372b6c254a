"""A vision-language model behind the captioner protocol, with a domain prompt.

``caption --captioner vlm --weights FOLDER --prompt "..."`` (and the Caption dock, batch
and evaluation) caption with a VLM by asking it for a description; without a prompt the
domain's (:data:`DOMAIN_PROMPTS`) is used. The prompt is part of the captioner's name, so
provenance records it with every caption.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError
from ..jobs import CancelFlag, ProgressCallback, check_cancel, report

__all__ = ["DOMAIN_PROMPTS", "VlmCaptioner", "build_vlm_captioner"]

#: Questions that make a VLM a domain captioner.
DOMAIN_PROMPTS = {
    "astronomy": "Describe this astronomical image: objects, morphology, artefacts.",
    "satellite": "Describe this satellite image: land cover, objects and their layout.",
    "photo": "Describe this image in one sentence.",
}


class VlmCaptioner:
    """Captions are the answers of a vision-language model to one description prompt."""

    kind = "vlm"

    def __init__(self, vlm, prompt: str):
        if not str(prompt).strip():
            raise InvalidInputError("the captioning prompt is empty")
        self.vlm = vlm
        self.prompt = str(prompt).strip()
        self.name = f"{vlm.name} (prompt: {self.prompt})"
        self.device = vlm.device

    def caption(
        self,
        images: Sequence[np.ndarray],
        *,
        options=None,
        max_tokens: int | None = None,
        num_captions: int = 1,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
        **_ignored,
    ) -> list[list[str]]:
        """One greedy description per image (``num_captions`` > 1 is refused)."""
        from .base import check_images

        images = check_images(images)
        limit = max_tokens or (options.max_tokens if options is not None else 67)
        if int(getattr(options, "num_captions", num_captions) or 1) != 1:
            raise InvalidInputError("a vision-language captioner gives one caption per image")
        out = []
        for i, image in enumerate(images):
            check_cancel(cancel)
            answer = self.vlm.answer(image, self.prompt, max_tokens=int(limit), cancel=cancel)
            out.append([answer.text])
            report(progress, i + 1, len(images))
        return out


def build_vlm_captioner(args: dict, defaults: dict, device: str, precision: str):
    """The captioner :func:`~napari_clipcap.core.captioning.protocol.load_captioner` builds
    for ``kind="vlm"``: ``args["weights"]`` a preset, folder or hub id, ``args["prompt"]``
    (default: the ``args["domain"]`` prompt, else the photo one)."""
    from ..vlm.loading import cached_vlm

    weights = args.get("weights") or defaults.get("weights")
    if not weights:
        raise InvalidInputError("the vlm captioner needs --weights: a preset, folder or hub id")
    prompt = args.get("prompt") or DOMAIN_PROMPTS.get(args.get("domain") or "photo")
    return VlmCaptioner(cached_vlm(weights, device, precision), prompt)
