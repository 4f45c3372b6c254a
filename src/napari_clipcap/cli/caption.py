"""``napari-clipcap caption``: captions for images or their regions.

All regions of all images given are captioned as one batch.
"""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import finite_float, fraction, positive_float, positive_int, seed_value
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import (
    ProgressBar,
    add_common,
    add_region_argument,
    emit_result,
    note_clipped,
)
from ._imageargs import add_scaling_arguments
from ._regionfiles import add_region_file_arguments, check_region_file_arguments, region_files


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "caption",
        help="caption images or regions with ClipCap, BLIP, ViT-GPT2, GIT or CoCa",
        description="Caption each image (or each --region of each image). Without --weights, "
        "ClipCap uses the original release's COCO weights (preset clipcap-coco-mlp, "
        "downloaded once into the Hugging Face cache). Other ClipCap checkpoints of the "
        "original release load with --weights FILE.pt (GPT-2 config and tokenizer from "
        "--decoder, default gpt2; CLIP from --clip/--clip-weights, default "
        f"{DEFAULT_CLIP.name}/{DEFAULT_CLIP.weights}).",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS files")
    p.add_argument(
        "--captioner",
        default="clipcap",
        metavar="KIND",
        help="clipcap (default), blip, vit-gpt2, git, coca, or a preset name (see `info`)",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="W",
        help="ClipCap checkpoint (.pt, napari-clipcap folder or hf-hub:org/repo/file; "
        "default: the COCO preset); hub id or folder for BLIP/ViT-GPT2/GIT; pretrained tag "
        "or file for CoCa",
    )
    p.add_argument(
        "--clip",
        default=None,
        metavar="M",
        help="ClipCap's CLIP (default: what a --weights folder recorded, else the preset's; "
        "CoCa: the architecture). " + RESOLUTION_RULE,
    )
    p.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    p.add_argument("--decoder", default=None, metavar="D", help="GPT-2 hub id or folder")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    p.add_argument(
        "--normalize-prefix",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ClipCap: L2-normalise the CLIP embedding before the mapping (default: as the "
        "checkpoint was trained; on for the original transformer mapping, off for the MLP)",
    )
    p.add_argument(
        "--prompt",
        default=None,
        metavar="TEXT",
        help="vlm: the description asked for (default: the image's domain prompt, e.g. "
        "'Describe this astronomical image: objects, morphology, artefacts.' for FITS)",
    )
    g = p.add_argument_group("decoding")
    g.add_argument(
        "--beam", type=positive_int, default=1, metavar="N", help="beam size (1: greedy)"
    )
    g.add_argument(
        "--num", type=positive_int, default=1, metavar="N", help="captions per image/region"
    )
    g.add_argument("--max-tokens", type=positive_int, default=67, metavar="N")
    g.add_argument("--length-penalty", type=finite_float, default=1.0, metavar="A")
    g.add_argument("--top-p", type=fraction, default=None, metavar="P", help="nucleus sampling")
    g.add_argument("--temperature", type=positive_float, default=1.0, metavar="T")
    g.add_argument("--seed", type=seed_value, default=None, help="make sampling repeatable")
    g.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="crops per pass"
    )
    add_region_argument(p)
    add_region_file_arguments(p)
    add_scaling_arguments(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def captioner_spec(args: argparse.Namespace):
    """The resolved captioner the flags ask for; a ClipCap folder's ``clipcap.json``
    (which names its CLIP) is announced on stderr and in ``--json`` first."""
    from pathlib import Path

    from ..core.registry import CLIPCAP_CONFIG, ModelSpec
    from ._collection_model import announce

    asked = ModelSpec.from_flags(args, "captioner")
    weights = Path(str(args.weights or "")).expanduser()
    if args.weights and (weights / CLIPCAP_CONFIG).is_file():
        announce(args, f"ClipCap folder {weights}", asked)
    return asked.resolve()


def run(args: argparse.Namespace) -> int:
    """Flags -> :class:`~napari_clipcap.core.tasks.requests.CaptionRequest` -> outputs
    checked -> run -> printed."""
    from ..core.tasks.requests import CaptionRequest

    request = CaptionRequest.from_args(args)
    check_region_file_arguments(args)
    request.check_outputs()  # before any model runs
    result = request.run(
        progress=ProgressBar("caption", quiet=args.json),
        files=region_files(args),
        before_load=lambda: captioner_spec(args),
    )  # what loads is said before it loads
    if request.regions is not None:
        for image, entry, shape in zip(
            request.images, result.data["images"], result.extra["shapes"]
        ):
            note_clipped(args, entry["regions"], image.name, shape)
    emit_result(args, result)
    return 0
