"""Flags shared by the CLIP commands (``labels``, ``heatmap``)."""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE, ModelSpec
from ._argtypes import positive_int, template_text
from ._imageargs import add_scaling_arguments

#: What ``--clip`` and ``--clip-weights`` say in every ``--help`` that takes them.
CLIP_HELP = (
    "open_clip architecture, model-config JSON, transformers id/directory or preset "
    f"(default {DEFAULT_CLIP.name}). {RESOLUTION_RULE}"
)
CLIP_WEIGHTS_HELP = (
    "pretrained tag, hf-hub: id or local file; default: the model's published weights "
    f"({DEFAULT_CLIP.weights} for the OpenAI architectures); 'none': random weights "
    "(speed measurements only, warned about)"
)


def add_clip_args(p: argparse.ArgumentParser) -> None:
    """``--clip``, ``--clip-weights``, ``--template(s)``, input scaling and ``--batch-size``."""
    g = p.add_argument_group("model")
    g.add_argument("--clip", default=DEFAULT_CLIP.name, metavar="MODEL", help=CLIP_HELP)
    g.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    g.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    g.add_argument(
        "--batch-size", type=positive_int, default=16, metavar="N", help="crops per pass"
    )
    t = p.add_argument_group("prompts")
    t.add_argument(
        "--template",
        type=template_text,
        default="{}",
        metavar="T",
        help="prompt with {} (default {})",
    )
    t.add_argument(
        "--templates",
        default=None,
        metavar="PRESET",
        help="template ensemble: satellite, astronomy or photo (overrides --template)",
    )
    add_scaling_arguments(p)


def clip_spec(args: argparse.Namespace) -> ModelSpec:
    """The resolved CLIP model ``--clip`` / ``--clip-weights`` ask for (docs/models.md);
    remembered on ``args`` so every part of the command sees the same one."""
    spec = getattr(args, "clip_spec", None)
    if spec is None:
        spec = ModelSpec.from_flags(args).resolve()
        args.clip_spec = spec
    return spec


def clip_weights(args: argparse.Namespace) -> str | None:
    """The weights the CLIP flags resolve to (``"none"``: random)."""
    return clip_spec(args).weights


def load_model(args: argparse.Namespace):
    from ..core.clip.model import load_clip

    return load_clip(clip_spec(args), device=args.device, precision=args.precision)


def read_input(args: argparse.Namespace, *, lazy: bool = False):
    """The command's image, scaled for the model (lazily: see ``read_image``)."""
    from ..core.io.images import read_image

    hdu = int(args.hdu) if args.hdu is not None and args.hdu.isdigit() else args.hdu
    return read_image(
        args.image,
        domain=args.domain,
        interval=args.interval,
        stretch=args.stretch,
        hdu=hdu,
        lazy=lazy,
    )
