"""Flags shared by the CLIP commands (``labels``, ``heatmap``)."""

from __future__ import annotations

import argparse

from ._argtypes import positive_int, template_text

#: The reference zero-shot model.
DEFAULT_CLIP = ("ViT-B-32", "openai")


def add_clip_args(p: argparse.ArgumentParser) -> None:
    """``--clip``, ``--clip-weights``, ``--template(s)``, input scaling and ``--batch-size``."""
    g = p.add_argument_group("model")
    g.add_argument(
        "--clip",
        default=DEFAULT_CLIP[0],
        metavar="MODEL",
        help="open_clip architecture, model-config JSON, transformers id/directory or "
        f"preset (default {DEFAULT_CLIP[0]})",
    )
    g.add_argument(
        "--clip-weights",
        default=None,
        metavar="W",
        help=f"pretrained tag, hf-hub: id or local file (default {DEFAULT_CLIP[1]} for "
        f"{DEFAULT_CLIP[0]}, none otherwise)",
    )
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
    s = p.add_argument_group("input scaling")
    s.add_argument("--domain", default=None, help="astronomy, satellite or photo")
    s.add_argument("--interval", default=None, help="e.g. zscale, minmax, percentile")
    s.add_argument("--stretch", default=None, help="e.g. asinh, linear, log, sqrt")
    s.add_argument("--hdu", default=None, help="FITS HDU index or name")


def clip_weights(args: argparse.Namespace) -> str | None:
    if args.clip_weights is not None:
        return args.clip_weights or None
    return DEFAULT_CLIP[1] if args.clip == DEFAULT_CLIP[0] else None


def load_model(args: argparse.Namespace):
    from ..core.clip.model import load_clip

    return load_clip(args.clip, clip_weights(args), args.device, precision=args.precision)


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
