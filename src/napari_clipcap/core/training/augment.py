"""Augmentations for contrastive CLIP fine-tuning on overhead and sky images.

Where "up" means nothing, an image may be cropped, flipped and turned by 90 degrees
(:func:`augment_batch`); captions may be swapped for the image's label or wrapped in a
prompt template (:func:`captions_for`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InvalidInputError

__all__ = ["AUGMENTATIONS", "CAPTION_TEMPLATES", "augment_batch", "captions_for"]

AUGMENTATIONS = ("crop", "flip", "rot90")
CAPTION_TEMPLATES = (
    "{}",
    "an aerial photograph of {}",
    "a satellite image of {}",
    "an image of {}",
    "a photo of {}",
)


def augment_batch(x, ops: Sequence[str], crop_scale=(0.6, 1.0), generator=None):
    """Randomly crop, flip and rotate a ``(B, 3, H, W)`` float batch (square images).

    Each image gets its own crop (area share drawn from ``crop_scale``, resized back),
    horizontal and vertical flip (each with probability 1/2) and ``k * 90`` degree turn.
    """
    import torch
    import torch.nn.functional as F

    unknown = set(ops) - set(AUGMENTATIONS)
    if unknown:
        raise InvalidInputError(f"unknown augmentations {sorted(unknown)}; use {AUGMENTATIONS}")
    b, _, h, w = x.shape
    out = []
    for i in range(b):
        img = x[i : i + 1]
        r = torch.rand(6, generator=generator).tolist()
        if "crop" in ops:
            s = (crop_scale[0] + r[0] * (crop_scale[1] - crop_scale[0])) ** 0.5
            ch, cw = max(1, round(h * s)), max(1, round(w * s))
            top, left = int(r[1] * (h - ch + 1)), int(r[2] * (w - cw + 1))
            img = img[..., top : top + ch, left : left + cw]
            if (ch, cw) != (h, w):
                img = F.interpolate(img, size=(h, w), mode="bilinear", align_corners=False)
        if "flip" in ops:
            img = torch.flip(img, dims=[-1]) if r[3] < 0.5 else img
            img = torch.flip(img, dims=[-2]) if r[5] < 0.5 else img
        if "rot90" in ops and h == w:
            img = torch.rot90(img, k=int(r[4] * 4), dims=(-2, -1))
        out.append(img)
    return torch.cat(out)


def captions_for(records, rng, caption_augment: bool) -> list[str]:
    """One caption per record, drawn with ``rng`` (and maybe a label or template)."""
    texts = []
    for rec in records:
        options = list(rec.captions) + ([rec.label] if caption_augment and rec.label else [])
        text = options[rng.integers(len(options))]
        if caption_augment and rng.random() < 0.3:
            text = CAPTION_TEMPLATES[rng.integers(len(CAPTION_TEMPLATES))].format(
                text.rstrip(".").lower()
            )
        texts.append(text)
    return texts
