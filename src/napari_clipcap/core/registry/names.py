"""What a model name means: the pieces of the resolution rule (:class:`.spec.ModelSpec`).

No loading here: open_clip's architecture list and pretrained table, the preset table,
and what a ClipCap folder's ``clipcap.json`` records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InvalidInputError
from .presets import _BY_NAME, CAPTIONER_KINDS, Preset, presets

#: The weights value that asks for randomly initialised weights (speed measurements only).
RANDOM = "none"
#: The config file of a ClipCap folder written by napari-clipcap (it records its CLIP).
CLIPCAP_CONFIG = "clipcap.json"

#: How model names resolve, in one paragraph: shown by every ``--help`` that takes a model.
RESOLUTION_RULE = (
    "An architecture name alone (--clip ViT-B-16) means its published default weights "
    "(OpenAI architectures: openai); a preset name means that preset; a file or folder "
    "means itself; random weights only with weights 'none', and then a warning. "
    "See docs/models.md."
)


def weights_value(weights: str | None) -> str | None:
    """``None`` for "not given" (also ``""``), :data:`RANDOM` for ``none``/``random``."""
    if weights is None:
        return None
    text = str(weights).strip()
    if not text:
        return None
    return RANDOM if text.lower() in (RANDOM, "random") else text


def is_local(name: str) -> bool:
    """A local file or folder (existing, or written like a path)."""
    path = Path(name).expanduser()
    return path.exists() or name.startswith(("/", ".", "~")) or name.lower().endswith(".json")


def default_tag(architecture: str) -> str:
    """The published default pretrained tag of an open_clip architecture.

    ``openai`` when open_clip lists it (the OpenAI architectures), else the one tag it
    lists.

    Raises
    ------
    InvalidInputError
        When the architecture has no published weights or several without a single
        default; the message lists the tags and how to choose.
    """
    import open_clip

    tags = list(open_clip.list_pretrained_tags_by_model(architecture))
    if "openai" in tags:
        return "openai"
    if len(tags) == 1:
        return tags[0]
    if not tags:
        raise InvalidInputError(
            f"CLIP architecture {architecture!r} has no published weights: give weights "
            "(--clip-weights FILE, a state dict) or --clip-weights none for random weights"
        )
    raise InvalidInputError(
        f"CLIP architecture {architecture!r} has no single default weights; choose one with "
        f"--clip-weights (Python: weights=): {', '.join(tags)} (or 'none' for random weights)"
    )


def open_clip_architecture(name: str) -> str | None:
    """``name`` as an open_clip architecture (``ViT-B/32`` spelled ``ViT-B-32``), or None."""
    import open_clip

    known = open_clip.list_models()
    for candidate in (name, name.replace("/", "-")):
        if candidate in known:
            return candidate
    return None


def read_clipcap_record(folder: str | os.PathLike) -> dict:
    """What a napari-clipcap ClipCap folder's ``clipcap.json`` records of its models:
    ``clip_model``, ``clip_weights`` and ``decoder`` (those present); ``{}`` for a file, a
    folder without the config, or a config that cannot be read."""
    path = Path(folder).expanduser() / CLIPCAP_CONFIG
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text()).get("meta") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(meta, dict):
        return {}
    return {
        k: str(meta[k]) if meta[k] is not None else None
        for k in ("clip_model", "clip_weights", "decoder")
        if k in meta
    }


def clip_preset(name: str) -> Preset | None:
    preset = _BY_NAME.get(name)
    return preset if preset is not None and preset.kind == "clip" else None


def captioner_preset(name: str) -> Preset:
    """The preset a captioner kind or preset name stands for."""
    if name in CAPTIONER_KINDS:
        return presets(name)[0]
    preset = _BY_NAME.get(name)
    if preset is None or preset.kind not in CAPTIONER_KINDS:
        names = ", ".join(p.name for p in presets("captioner"))
        raise InvalidInputError(
            f"unknown captioner {name!r}; use a kind ({', '.join(CAPTIONER_KINDS)}) or a "
            f"preset ({names})"
        )
    return preset


def takes_weights(name: str) -> bool:
    """Whether ``name`` is built from an architecture (so random weights make sense)."""
    if name.lower().endswith(".json"):
        return True
    if is_local(name) or name.startswith(("hf-hub:", "local-dir:")):
        return False
    return open_clip_architecture(name) is not None
