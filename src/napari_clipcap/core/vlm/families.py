"""What differs between vision-language model families, as data.

A family is picked from the ``model_type`` of the model's config. It says how a question
becomes the prompt the processor takes (a chat template, or PaliGemma's task prefixes),
whether the model keeps a conversation, and how the boxes it writes are read back
(:mod:`~napari_clipcap.core.vlm.boxes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CheckpointFormatError

__all__ = ["FAMILIES", "Family", "family_of"]


@dataclass(frozen=True)
class Family:
    """One family of vision-language models.

    Attributes
    ----------
    name : str
        Shown with every answer (``"qwen2.5-vl"``).
    model_types : tuple of str
        The config ``model_type`` values of the family.
    chat : bool
        True when the processor has a chat template and the model keeps a conversation;
        False for single-turn prompt formats (PaliGemma), where each question stands alone.
    split_option : str or None
        The processor option that cuts large images into tiles (SmolVLM's
        ``do_image_splitting``): turned off for images no larger than one tile, whose
        native resolution tiling cannot add to.
    box_format : str or None
        ``"qwen-absolute"`` (JSON ``bbox_2d`` in pixels of the processor's resized input),
        ``"qwen-relative"`` (JSON ``bbox_2d`` on a 0-1000 grid), ``"paligemma-loc"``
        (``<locYYYY>`` tokens, 1024 bins, y before x) or None (no boxes).
    """

    name: str
    model_types: tuple[str, ...]
    chat: bool
    box_format: str | None
    split_option: str | None = None


FAMILIES: tuple[Family, ...] = (
    Family("qwen2.5-vl", ("qwen2_5_vl",), chat=True, box_format="qwen-absolute"),
    Family("qwen2-vl", ("qwen2_vl",), chat=True, box_format="qwen-absolute"),
    Family("qwen3-vl", ("qwen3_vl", "qwen3_vl_moe"), chat=True, box_format="qwen-relative"),
    Family("paligemma", ("paligemma",), chat=False, box_format="paligemma-loc"),
    Family(
        "smolvlm",
        ("smolvlm", "idefics3"),
        chat=True,
        box_format=None,
        split_option="do_image_splitting",
    ),
    Family("internvl", ("internvl",), chat=True, box_format=None),
)


def family_of(model_type: str) -> Family:
    """The family of a config's ``model_type``.

    Raises
    ------
    CheckpointFormatError
        For a model type no family covers; the message lists those that are.
    """
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    known = ", ".join(t for f in FAMILIES for t in f.model_types)
    raise CheckpointFormatError(
        f"vision-language model type {model_type!r} is not supported; supported: {known}"
    )
