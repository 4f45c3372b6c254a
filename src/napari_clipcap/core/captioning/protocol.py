"""One captioning protocol over ClipCap and other captioners.

>>> cap = load_captioner("clipcap", "coco_weights.pt")         # doctest: +SKIP
>>> cap.caption([rgb_float32_hxwx3], beam_size=5)              # doctest: +SKIP
[['A dog sitting on a couch.']]
>>> caption_regions(cap, image, [(0, 0, 64, 64), (64, 0, 128, 64)])  # doctest: +SKIP

``kind`` is a captioner kind (``"clipcap"``, ``"blip"``, ``"vit-gpt2"``, ``"git"``,
``"coca"``) or a preset name from :mod:`napari_clipcap.core.registry`. Loaded captioners
are cached per arguments; a load that fails leaves nothing behind in the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..devices import release_memory, resolve_device, resolve_dtype
from ..errors import CheckpointFormatError, InvalidInputError
from ..jobs import ProgressCallback, batched, check_cancel, report

KINDS = ("clipcap", "blip", "vit-gpt2", "git", "coca")
_CACHE: dict[tuple, Captioner] = {}
_LOCK = threading.Lock()


@runtime_checkable
class Captioner(Protocol):
    """What every captioner offers.

    ``caption(images, *, beam_size=1, num_captions=1, max_tokens=67, top_p=None,
    temperature=1.0, seed=None, progress=None, cancel=None) -> list[list[str]]``:
    ``images`` are HxWx3 float32 arrays in [0, 1]; one list of ``num_captions`` captions
    per image. ``top_p`` switches to nucleus sampling; ``beam_size > 1`` (or
    ``num_captions > 1``) to beam search; greedy otherwise.
    """

    kind: str
    name: str

    def caption(self, images: Sequence[np.ndarray], **options: Any) -> list[list[str]]: ...


def check_images(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate a batch of HxWx3 images (a single array is one image)."""
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


class ClipCapCaptioner:
    """CLIP image encoder + ClipCap mapping + GPT-2, decoded in batches with a KV cache."""

    kind = "clipcap"

    def __init__(self, clip, model, name: str, dtype=None):
        if clip.embed_dim != model.mapping_config.clip_dim:
            raise CheckpointFormatError(
                f"the ClipCap mapping takes {model.mapping_config.clip_dim}-d CLIP embeddings "
                f"but {clip.name} gives {clip.embed_dim}-d: pass the CLIP model it was "
                "trained with (clip_model= / --clip)"
            )
        self.clip, self.model, self.name = clip, model, name
        self.device = clip.device

    def caption(
        self,
        images,
        *,
        beam_size=1,
        num_captions=1,
        max_tokens=67,
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
        cancel=None,
        **options,
    ) -> list[list[str]]:
        import torch

        images = check_images(images)
        n, out = len(images), []
        emb = self.clip.encode_images(
            images, normalize=False, batch_size=batch_size, cancel=cancel
        )
        emb = torch.from_numpy(emb).to(self.device)
        for sl in batched(n, batch_size):
            check_cancel(cancel)
            out += self.model.generate(
                emb[sl],
                beam_size=beam_size,
                num_captions=num_captions,
                max_tokens=max_tokens,
                cancel=cancel,
                **options,
            )
            report(progress, sl.stop, n)
        return out


def caption_regions(
    captioner: Captioner, image: np.ndarray, regions=None, *, polygon_mode: str = "mask", **options
) -> list[list[str]]:
    """Caption the whole image (``regions=None``) or each box / polygon, as one batch.

    Parameters
    ----------
    captioner : Captioner
    image : ndarray
        HxWx3 float32 in [0, 1] (as :func:`~napari_clipcap.core.scaling.model_input.to_model_input`
        gives).
    regions : sequence, optional
        Boxes ``(x0, y0, x1, y1)`` (end exclusive) and/or polygons of ``(x, y)``. A
        region reaching past the image edge is clipped to it
        (:func:`~napari_clipcap.core.coords.regions.as_region`).
    **options
        Passed to ``captioner.caption``.

    Raises
    ------
    InvalidInputError
        For an empty region list, or a region that is empty or outside the image.
    """
    from ..coords.regions import crops

    if regions is not None and len(regions) == 0:
        raise InvalidInputError("no regions given; pass regions=None for the whole image")
    image = check_images([image])[0]
    return captioner.caption(crops(image, regions, polygon_mode=polygon_mode), **options)


_CLIPCAP_DEFAULTS = {"clip_model": "ViT-B-32", "clip_weights": "openai", "decoder": "gpt2"}


def _resolve(kind: str, weights, clip_model, clip_weights, decoder):
    """Turn a kind or preset name into ``(kind, weights, clip_model, clip_weights,
    decoder, defaults)``; ``defaults`` fill what neither the user nor the file says."""
    from ..registry import PRESETS

    if kind in KINDS:
        if weights in (None, "") and kind != "clipcap":
            weights = next(p.model for p in PRESETS if p.kind == kind)
        return kind, weights, clip_model, clip_weights, decoder, _CLIPCAP_DEFAULTS
    preset = next((p for p in PRESETS if p.name == kind and p.kind in KINDS), None)
    if preset is None:
        names = ", ".join(p.name for p in PRESETS if p.kind in KINDS)
        raise InvalidInputError(
            f"unknown captioner {kind!r}; use a kind ({', '.join(KINDS)}) or a preset ({names})"
        )
    if preset.kind == "coca":
        return "coca", weights or preset.weights, clip_model or preset.model, None, None, {}
    if preset.kind == "clipcap":
        defaults = {**_CLIPCAP_DEFAULTS, **preset.extra}
        return "clipcap", weights, clip_model, clip_weights, decoder, defaults
    return preset.kind, weights or preset.model, None, None, None, {}


def _build_clipcap(weights, clip_model, clip_weights, decoder, device, precision, defaults):
    from .clipcap import is_own_format, load_clipcap_checkpoint

    if weights in (None, ""):
        raise InvalidInputError(
            "ClipCap needs its checkpoint: weights= (--weights) a .pt file of the original "
            "release or a folder written by napari-clipcap"
        )
    # precedence: the caller, then what an own-format folder recorded, then the defaults
    own = is_own_format(weights)
    decoder = decoder or (None if own else defaults["decoder"])
    model = load_clipcap_checkpoint(weights, decoder, device=device)
    model.to(resolve_dtype(device, precision))
    # a CLIP model named without weights gets the weights recorded (or defaulted) for that
    # model, never random ones
    recorded = model.meta.get("clip_model")
    if clip_model is None:
        clip_model = recorded or defaults["clip_model"]
    if clip_weights is None:
        if recorded and clip_model == recorded:
            clip_weights = model.meta.get("clip_weights")
        elif clip_model == defaults["clip_model"]:
            clip_weights = defaults["clip_weights"]
    name = f"clipcap:{Path(str(weights)).name}"
    return with_clip(
        clip_model,
        clip_weights,
        device,
        precision,
        lambda clip: ClipCapCaptioner(clip, model, name),
    )


def with_clip(model, weights, device, precision, build):
    """``build(load_clip(...))``; if ``build`` fails, a CLIP model loaded only for it is
    unloaded again, so a failed captioner load leaves nothing in any cache."""
    from ..clip import model as clip_mod

    before = set(clip_mod.loaded_models())
    clip = clip_mod.load_clip(model, weights, device, precision=precision)
    try:
        return build(clip)
    except Exception:
        if set(clip_mod.loaded_models()) - before:
            clip_mod.unload_clip(model, weights, device, precision)
        raise


def load_captioner(
    kind: str,
    weights: str | None = None,
    *,
    clip_model: str | None = None,
    clip_weights: str | None = None,
    decoder: str | None = None,
    device: str = "auto",
    precision: str = "auto",
) -> Captioner:
    """Load (or fetch from the cache) a captioner.

    Parameters
    ----------
    kind : str
        ``"clipcap"``, ``"blip"``, ``"vit-gpt2"``, ``"git"``, ``"coca"`` or a preset name.
    weights : str, optional
        ClipCap: checkpoint file (original release) or napari-clipcap folder. BLIP,
        ViT-GPT2, GIT: hub id or local folder (default: the kind's first preset). CoCa:
        open_clip pretrained tag or weights file.
    clip_model, clip_weights : str, optional
        ClipCap: the CLIP image encoder (default ViT-B-32 / openai, or what the own
        format recorded). CoCa: ``clip_model`` is the open_clip architecture or config.
    decoder : str, optional
        ClipCap: GPT-2 hub id or local folder with config + tokenizer.
    device, precision : str
        See :mod:`napari_clipcap.core.devices`.

    Raises
    ------
    InvalidInputError
        Unknown kind or preset, missing ClipCap checkpoint.
    CheckpointFormatError, ModelNotFoundError
        From the loaders; nothing is cached then.
    """
    kind, weights, clip_model, clip_weights, decoder, defaults = _resolve(
        str(kind), weights, clip_model, clip_weights, decoder
    )
    dev = resolve_device(device)
    key = (kind, str(weights), clip_model, clip_weights, str(decoder), dev, precision)
    with _LOCK:
        if key not in _CACHE:
            if kind == "clipcap":
                args = (clip_model, clip_weights, decoder, dev, precision, defaults)
                _CACHE[key] = _build_clipcap(weights, *args)
            else:
                from .transformers_captioners import build_hf_captioner

                _CACHE[key] = build_hf_captioner(kind, weights, clip_model, dev, precision)
        return _CACHE[key]


def loaded_captioners() -> list[tuple]:
    """Keys of the captioners held in memory."""
    with _LOCK:
        return list(_CACHE)


def unload_captioner(captioner: Captioner) -> bool:
    """Drop one captioner from the cache; returns whether it was there."""
    with _LOCK:
        keys = [k for k, v in _CACHE.items() if v is captioner]
        for k in keys:
            del _CACHE[k]
    if keys:
        release_memory(keys[0][5])
    return bool(keys)


def unload_captioners() -> int:
    """Drop every cached captioner and release memory; returns how many were dropped."""
    with _LOCK:
        devices = {k[5] for k in _CACHE}
        n = len(_CACHE)
        _CACHE.clear()
    for dev in devices:
        release_memory(dev)
    return n
