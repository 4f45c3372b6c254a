"""Checking an open_clip model config's numbers before a model is built from it.

open_clip builds whatever a config describes: a negative width fails deep inside torch
("negative dimension"), and a config asking for a 100,000-wide vision tower allocates
for many seconds and gigabytes before failing. :func:`check_architecture` names the
bad value, or the memory the model would need, in one line, before anything is built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import CheckpointFormatError

__all__ = ["check_architecture", "estimated_parameters"]

#: Keys that must be whole numbers of at least 1 where a config gives them.
_POSITIVE_INTS = {
    "": ("embed_dim",),
    "vision_cfg": ("layers", "width", "patch_size", "image_size", "head_width"),
    "text_cfg": ("context_length", "vocab_size", "width", "heads", "layers"),
}
#: Refuse a model above this many parameters whatever memory is free (40x ViT-bigG).
MAX_PARAMETERS = 100_000_000_000


def _tower_parameters(layers: Any, width: Any, tokens: int, mlp_ratio: Any) -> int:
    layers = layers if isinstance(layers, int) else sum(layers)  # ResNet: list of stages
    return int(layers * (4 + 2 * float(mlp_ratio)) * width * width + tokens * width)


def estimated_parameters(cfg: Mapping[str, Any]) -> int:
    """About how many parameters an open_clip config builds (transformer towers)."""
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    image, patch = vision.get("image_size", 224), vision.get("patch_size", 16)
    image = max(image) if isinstance(image, (list, tuple)) else image
    grid = math.ceil(image / patch) ** 2 if patch else 1
    total = _tower_parameters(
        vision.get("layers", 12), vision.get("width", 768), grid, vision.get("mlp_ratio", 4)
    )
    total += _tower_parameters(
        text.get("layers", 12),
        text.get("width", 512),
        text.get("vocab_size", 49408) + text.get("context_length", 77),
        text.get("mlp_ratio", 4),
    )
    return total + int(cfg.get("embed_dim", 512)) * (
        vision.get("width", 768) + text.get("width", 512)
    )


def _bad_value(cfg: Mapping[str, Any]) -> str | None:
    for section, keys in _POSITIVE_INTS.items():
        part = cfg.get(section, {}) if section else cfg
        if not isinstance(part, Mapping):
            return f"{section} is {type(part).__name__}, not an object"
        for key in keys:
            if key not in part:
                continue
            value = part[key]
            if key == "image_size" and isinstance(value, (list, tuple)) and value:
                value = min(value) if all(isinstance(v, int) for v in value) else value
            if key == "layers" and isinstance(value, (list, tuple)) and value:
                value = min(value) if all(isinstance(v, int) for v in value) else value
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                where = f"{section}.{key}" if section else key
                return f"{where} = {part[key]!r} must be a whole number of at least 1"
        ratio = part.get("mlp_ratio", 4)
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < 1e4:
            return f"{section}.mlp_ratio = {ratio!r} must be a positive number"
    return None


def check_architecture(cfg: Any, where: str, free_bytes: int | None = None) -> None:
    """Refuse a config whose numbers cannot build a model, or one too big to build.

    Parameters
    ----------
    cfg : dict
        An open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``).
    where : str
        Names the config in messages.
    free_bytes : int, optional
        Memory available for the model (default: what the machine has free now).

    Raises
    ------
    CheckpointFormatError
        A value that is not a positive whole number, or a model whose float32
        parameters would not fit ``free_bytes`` (or exceed :data:`MAX_PARAMETERS`).
    """
    if not isinstance(cfg, Mapping):
        raise CheckpointFormatError(
            f"model config {where} holds a JSON {type(cfg).__name__}, not an object with "
            "embed_dim, vision_cfg and text_cfg"
        )
    problem = _bad_value(cfg)
    if problem:
        raise CheckpointFormatError(f"model config {where}: {problem}")
    params = estimated_parameters(cfg)
    if free_bytes is None:
        import psutil

        free_bytes = int(psutil.virtual_memory().available)
    need = params * 4
    if params > MAX_PARAMETERS or need > free_bytes:
        raise CheckpointFormatError(
            f"model config {where} describes a model of about {params / 1e9:,.1f} billion "
            f"parameters ({need / 2**30:,.1f} GiB as float32), more than the "
            f"{free_bytes / 2**30:,.1f} GiB of memory free; not built (are its widths "
            "and layers right?)"
        )
