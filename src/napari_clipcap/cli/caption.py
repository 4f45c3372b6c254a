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
    clipped_to,
    emit,
    fit_boxes,
    parse_box,
)
from ._regionfiles import (
    add_region_file_arguments,
    check_region_file_arguments,
    file_regions,
    region_entry,
    write_out_regions,
)


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
    s = p.add_argument_group("input scaling")
    s.add_argument("--domain", default=None, help="astronomy, satellite or photo")
    s.add_argument("--interval", default=None, help="e.g. zscale, minmax, percentile")
    s.add_argument("--stretch", default=None, help="e.g. asinh, linear, log, sqrt")
    s.add_argument("--hdu", default=None, help="FITS HDU index or name")
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
    from ..core.captioning.protocol import check_images, load_captioner
    from ..core.coords.regions import as_region
    from ..core.decoding.options import DecodeOptions
    from ..core.errors import InvalidInputError
    from ..core.io.images import read_image
    from ..core.tasks.input_checks import checked_crops
    from ..core.tasks.validity import file_valid_mask

    check_region_file_arguments(args)
    if args.out_regions and len(args.images) > 1:
        raise InvalidInputError("--out-regions writes one file: give one image")
    boxes = [parse_box(r) for r in args.region] if args.region else None
    hdu = int(args.hdu) if args.hdu is not None and args.hdu.isdigit() else args.hdu
    files = [
        read_image(  # lazily: only the regions cut out are scaled (issue 21 item 15)
            path,
            domain=args.domain,
            interval=args.interval,
            stretch=args.stretch,
            hdu=hdu,
            lazy=True,
        )
        for path in args.images
    ]
    parts, where, shapes_of = [], [], {}
    for f in files:
        h, w = f.data.shape[:2]
        shapes = shapes_of[f.path] = file_regions(args, f)
        if shapes is not None:
            used = [s.to_region() for s in shapes]
            asked = fitted = [as_region(r, f.data.shape).box for r in used]
        else:
            used = fit_boxes(args, boxes, f.data.shape, f.path.name) if boxes else None
            asked, fitted = boxes or [(0, 0, w, h)], used or [(0, 0, w, h)]
        cropped, empty = checked_crops(f.data, used, valid=file_valid_mask(f))
        for i, (box, fit, part, blank) in enumerate(zip(asked, fitted, cropped, empty)):
            shape = shapes[i] if shapes is not None else None
            where.append((f, box, fit, shape, blank))
            if not blank:
                parts.append(part)
    options = DecodeOptions(  # checked before any model loads
        beam_size=args.beam,
        num_captions=args.num,
        max_tokens=args.max_tokens,
        length_penalty=args.length_penalty,
        top_p=args.top_p,
        temperature=args.temperature,
        seed=args.seed,
    )
    args.captioner_spec = captioner_spec(args)  # what loads, said before it loads
    captioner = load_captioner(
        args.captioner,
        args.weights,
        clip_model=args.clip,
        clip_weights=args.clip_weights,
        decoder=args.decoder,
        normalize_prefix=args.normalize_prefix,
        device=args.device,
        precision=args.precision,
    )
    made = iter(
        captioner.caption(
            check_images(parts),
            options=options,
            batch_size=args.batch_size,
            progress=ProgressBar("caption", quiet=args.json),
        )
        if parts
        else []
    )
    captions = [[] if blank else next(made) for *_, blank in where]
    data = {"captioner": captioner.name, "images": []}
    lines = [f"captioner: {captioner.name}"]
    for f in files:
        regions = []
        for (g, box, fitted, shape, blank), caps in zip(where, captions):
            if g is not f:
                continue
            entry = {"box": list(box), "clipped_to": clipped_to(box, fitted), "captions": caps}
            if shape is not None:
                entry.update(region_entry(shape), clipped_to=None)
            if blank:
                entry["no_data"] = True
            regions.append(entry)
        data["images"].append({"image": str(f.path), "regions": regions})
        for r in regions:
            label = f"{f.path.name}" + (f" [{','.join(map(str, r['box']))}]" if boxes else "")
            text = " | ".join(r["captions"]) or "(no data: not captioned)"
            lines.append(f"{label}: {text}")
    if args.out_regions:
        f = files[0]
        texts = [" | ".join(r["captions"]) for r in data["images"][0]["regions"]]
        fitted = [fit for g, _, fit, _, _ in where if g is f]
        header = [f"napari-clipcap caption: {captioner.name}"]
        data["out_regions"] = write_out_regions(args, f, shapes_of[f.path], fitted, texts, header)
    emit(args, data, "\n".join(lines))
    return 0
