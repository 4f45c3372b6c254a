"""What every captioner shares: the protocol, image checks, and loading CLIP for one.

The captioner modules (ClipCap, transformers, CoCa) build on this module only; the
front door :mod:`~napari_clipcap.core.captioning.protocol` imports them, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InvalidInputError

__all__ = ["Captioner", "check_images", "with_clip"]


@runtime_checkable
class Captioner(Protocol):
    """What every captioner offers.

    ``caption(images, *, options=None, beam_size=1, num_captions=1, max_tokens=67,
    batch_size=..., progress=None, cancel=None, **decoding) -> list[list[str]]``:
    ``images`` are HxWx3 float32 arrays in [0, 1]; one list of ``num_captions`` captions
    per image. ``options`` is a :class:`~napari_clipcap.core.decoding.options.DecodeOptions`;
    single settings may be given as keywords instead (``beam_size=5``), over it.
    """

    kind: str
    name: str

    def caption(self, images: Sequence[np.ndarray], **options: Any) -> list[list[str]]: ...


def check_images(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate a batch of HxWx3 images (a single array is one image).

    Raises
    ------
    InvalidInputError
        For an empty batch or an image that is not H x W x 3.
    """
    if isinstance(images, np.ndarray) and images.ndim in (2, 3):
        images = [images]
    images = list(images)
    if not images:
        raise InvalidInputError("no images to caption")
    for i, im in enumerate(images):
        a = np.asarray(im)
        if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
            raise InvalidInputError(f"image {i} must be H x W x 3, got shape {a.shape}")
    return images


def with_clip(model, weights, device: str, precision: str, build: Callable):
    """``build(load_clip(...))``; if ``build`` fails, a CLIP model loaded only for it is
    unloaded again, so a failed captioner load leaves nothing in the model cache."""
    from ..clip import model as clip_mod

    before = set(clip_mod.loaded_models())
    clip = clip_mod.load_clip(model, weights, device, precision=precision)
    try:
        return build(clip)
    except Exception:
        if set(clip_mod.loaded_models()) - before:
            clip_mod.unload_clip(model, weights, device, precision)
        raise
