"""The front door of captioning: load a captioner, caption images or regions.

>>> cap = load_captioner("clipcap")                            # doctest: +SKIP
>>> cap.caption([rgb_float32_hxwx3], beam_size=5)              # doctest: +SKIP
[['A dog sitting on a couch.']]

``kind`` is a captioner kind (:data:`~napari_clipcap.core.registry.CAPTIONER_KINDS`) or a
captioner preset name from :mod:`napari_clipcap.core.registry`; a kind stands for its
first preset, whose row fills every argument the caller leaves out. Loaded captioners
are held in :mod:`napari_clipcap.core.model_cache` under ``"captioner"``; a load that
fails leaves nothing behind.
"""

from __future__ import annotations

from .. import model_cache
from ..devices import resolve_device
from ..errors import InvalidInputError
from ..registry import CAPTIONER_KINDS, get_preset, presets
from .base import Captioner, check_images
from .clipcap.captioner import build_clipcap
from .coca import build_coca
from .transformers_captioners import build_hf_captioner

__all__ = [
    "Captioner",
    "check_images",
    "load_captioner",
    "loaded_captioners",
    "unload_captioner",
    "unload_captioners",
]


def _builder(kind: str):
    """The loader of a kind (the transformers one unless the kind has its own)."""
    builders = {
        "clipcap": build_clipcap,
        "coca": build_coca,
        "florence2": _build_florence2,
        "vlm": _build_vlm,
    }
    return builders.get(kind, build_hf_captioner)


def _build_vlm(args: dict, defaults: dict, device: str, precision: str):
    """A vision-language model asked for a description (:mod:`napari_clipcap.core.vlm`)."""
    from .vlm import build_vlm_captioner

    return build_vlm_captioner(args, defaults, device, precision)


def _build_florence2(args: dict, defaults: dict, device: str, precision: str):
    """Florence-2 from ``args["weights"]`` (a ``save_pretrained`` folder or a hub id)."""
    from .florence2.captioner import build_florence2

    return build_florence2(args.get("weights"), device, precision)


def _preset_for(kind: str):
    """The preset a kind or preset name stands for."""
    if kind in CAPTIONER_KINDS:
        return presets(kind)[0]
    try:
        preset = get_preset(kind)
    except InvalidInputError:
        preset = None
    if preset is None or preset.kind not in CAPTIONER_KINDS:
        names = ", ".join(p.name for p in presets("captioner"))
        raise InvalidInputError(
            f"unknown captioner {kind!r}; use a kind ({', '.join(CAPTIONER_KINDS)}) or a "
            f"preset ({names})"
        )
    return preset


def load_captioner(
    kind: str,
    weights: str | None = None,
    *,
    clip_model: str | None = None,
    clip_weights: str | None = None,
    decoder: str | None = None,
    normalize_prefix: bool | None = None,
    prompt: str | None = None,
    device: str = "auto",
    precision: str = "auto",
) -> Captioner:
    """Load (or fetch from the model cache) a captioner.

    Parameters
    ----------
    kind : str
        ``"clipcap"``, ``"blip"``, ``"vit-gpt2"``, ``"git"``, ``"coca"`` or a preset name.
    weights : str, optional
        ClipCap: checkpoint file (original release), napari-clipcap folder or
        ``hf-hub:org/repo/file`` (default: the COCO weights of the original release,
        downloaded once into the Hugging Face cache). BLIP, ViT-GPT2, GIT: hub id or
        local folder. CoCa: open_clip pretrained tag or weights file. Default: the
        preset's.
    clip_model, clip_weights : str, optional
        ClipCap: the CLIP image encoder (default: what an own-format folder recorded,
        else the preset's). CoCa: ``clip_model`` is the open_clip architecture or config.
    decoder : str, optional
        ClipCap: GPT-2 hub id or local folder with config + tokenizer.
    normalize_prefix : bool, optional
        ClipCap: L2-normalise CLIP embeddings before the mapping. ``None`` follows the
        checkpoint: on for the original transformer mapping, off for the MLP.
    prompt : str, optional
        ``vlm``: the description asked for (default: the photo domain's prompt).
    device, precision : str
        See :mod:`napari_clipcap.core.devices`.

    Raises
    ------
    InvalidInputError
        Unknown kind or preset, missing ClipCap checkpoint.
    CheckpointFormatError, ModelNotFoundError
        From the loaders; nothing is cached then.
    """
    preset = _preset_for(str(kind))
    defaults = preset.load_args()
    given = {
        "clip_model": clip_model,
        "clip_weights": clip_weights,
        "decoder": decoder,
        "normalize_prefix": normalize_prefix,
        "prompt": prompt,
    }
    args = {
        **given,
        "kind": preset.kind,
        "name": preset.name if kind == preset.name or not weights else preset.kind,
        "weights": weights if weights not in (None, "") else defaults["weights"],
    }
    dev = resolve_device(device)
    key = (preset.kind, str(args["weights"]), clip_model, clip_weights, str(decoder))
    key += (normalize_prefix, prompt, dev, precision)
    build = _builder(preset.kind)
    return model_cache.get_or_load(
        "captioner", key, lambda: build(args, defaults, dev, precision), dev
    )


def loaded_captioners() -> list[tuple]:
    """Keys of the captioners held in memory (kind and weights first)."""
    return model_cache.loaded("captioner")


def unload_captioner(captioner: Captioner) -> bool:
    """Drop one captioner from the model cache; returns whether it was there."""
    return model_cache.unload_model(captioner)


def unload_captioners() -> int:
    """Drop every cached captioner and release memory; returns how many were dropped."""
    return model_cache.unload_all("captioner")
