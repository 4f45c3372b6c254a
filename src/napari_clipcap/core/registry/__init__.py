"""Models as data: the preset table (:mod:`.presets`) and the one model description
(:mod:`.spec`, :class:`ModelSpec`) with the rule that resolves what a name means."""

from .names import CLIPCAP_CONFIG, RANDOM, RESOLUTION_RULE, default_tag, read_clipcap_record
from .presets import CAPTIONER_KINDS, PRESETS, Preset, get_preset, presets
from .spec import DEFAULT_CLIP, ModelSpec, describe_request

__all__ = [
    "CAPTIONER_KINDS",
    "CLIPCAP_CONFIG",
    "DEFAULT_CLIP",
    "PRESETS",
    "RANDOM",
    "RESOLUTION_RULE",
    "ModelSpec",
    "Preset",
    "default_tag",
    "describe_request",
    "get_preset",
    "presets",
    "read_clipcap_record",
]
