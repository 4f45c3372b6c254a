"""``napari-clipcap segment``: every instance of a phrase (or of example boxes) as a label
image, outlines and a table; boxes to masks with SAM."""

from __future__ import annotations

import argparse

from ._common import (
    ProgressBar,
    add_common,
    add_region_argument,
    emit,
    parse_box,
    warn,
)
from ._imageargs import add_scaling_arguments


def _boxes_argument(p: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    p.add_argument(
        flag, action="extend", nargs="+", default=None, metavar="x0,y0,x1,y1", help=help_text
    )


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ..core.tasks.segment import DEFAULT_SEGMENTER

    p = sub.add_parser(
        "segment",
        help="every instance of a phrase as masks: a label image, outlines and a table",
        description="Find every instance of one or more phrases (SAM 3: --segmenter sam3, "
        "gated on the hub, or a save_pretrained folder) over the whole image or each "
        "--region, in overlapping tiles whose instances are merged (docs/segment.md); or "
        "turn --box boxes into masks with SAM or SAM 2 (--segmenter sam-vit-base or "
        "sam2.1-hiera-tiny). Writes an int32 "
        "label image (--out: GeoTIFF/FITS keep georeferencing/WCS), the outlines "
        "(--out-regions: DS9/CRTF, GeoJSON over a GeoTIFF) and the table (--out-table).",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF/GeoTIFF or FITS file")
    p.add_argument("--phrases", default="", metavar="P1,P2", help="what to find, comma-separated")
    p.add_argument(
        "--segmenter",
        default=DEFAULT_SEGMENTER,
        metavar="MODEL",
        help=f"preset (napari-clipcap info), save_pretrained folder or hub id "
        f"(default {DEFAULT_SEGMENTER})",
    )
    _boxes_argument(p, "--exemplar", "SAM 3 example box (repeatable): find more like it")
    _boxes_argument(
        p,
        "--negative-exemplar",
        "SAM 3 counter-example box (repeatable): not like this (with --phrases or --exemplar)",
    )
    _boxes_argument(p, "--box", "a box to turn into a mask with SAM (repeatable)")
    add_region_argument(p)
    p.add_argument("--tile", type=int, default=None, metavar="PX", help="tile side (model's)")
    p.add_argument("--overlap", type=int, default=None, metavar="PX", help="tile overlap")
    p.add_argument("--threshold", type=float, default=0.5, help="score to keep (0.5)")
    p.add_argument("--merge-iou", type=float, default=0.5, help="merge rule's IoU (0.5)")
    p.add_argument("--out", default=None, metavar="FILE", help="label image .tif/.fits/.npy")
    p.add_argument("--out-regions", default=None, metavar="FILE", help=".reg/.crtf/.geojson")
    p.add_argument("--out-table", default=None, metavar="FILE", help="instance table .csv")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    _instance_arguments(p)
    add_scaling_arguments(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def _instance_arguments(p: argparse.ArgumentParser) -> None:
    """``--labels``/``--caption`` and their models: the tasks run on each instance."""
    from ._argtypes import positive_int, template_text
    from ._clipargs import CLIP_HELP, CLIP_WEIGHTS_HELP

    g = p.add_argument_group(
        "each instance",
        "label and caption every instance, its outline as the polygon region (as "
        "`labels`/`caption` --region would)",
    )
    g.add_argument("--labels", default=None, metavar="L1,L2", help="labels scored with CLIP")
    g.add_argument("--template", type=template_text, default="{}", metavar="T")
    g.add_argument("--templates", default=None, metavar="PRESET", help="template ensemble")
    g.add_argument("--clip", default=None, metavar="MODEL", help=CLIP_HELP)
    g.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    g.add_argument("--caption", action="store_true", help="caption every instance")
    g.add_argument("--captioner", default="clipcap", metavar="KIND", help="as caption's")
    g.add_argument("--captioner-weights", default=None, metavar="W", help="caption --weights")
    g.add_argument("--decoder", default=None, metavar="D", help="ClipCap's GPT-2")
    g.add_argument("--max-tokens", type=positive_int, default=67, metavar="N")
    g.add_argument("--batch-size", type=positive_int, default=16, metavar="N")


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..core.tasks.requests.base import request_record
    from ..core.tasks.segment import SegmentRequest
    from ..core.tasks.segment.exports import write_outputs

    for flag in ("exemplar", "negative_exemplar", "box", "region"):
        values = getattr(args, flag)
        setattr(args, flag, [parse_box(v) for v in values] if values else None)
    request = SegmentRequest.from_args(args)
    request.check_outputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kept in the result and reported once below
        result = request.run(progress=ProgressBar("segment", quiet=args.json))
    for message in result.warnings:
        warn(args, message)
    provenance = request_record(request)  # its command: request.to_argv()
    provenance["segmenter"] = {"name": request.segmenter, "loaded": result.model}
    if result.models:
        provenance["instance_models"] = result.models
    data = result.to_json()
    data["segmenter"] = request.segmenter
    data.update(write_outputs(result, provenance))
    data["provenance"] = provenance
    emit(args, data, _text(result, data))
    return 0


def _text(result, data: dict) -> str:
    lines = [f"{len(result.rows)} instances ({result.model})"]
    for r in result.rows:
        area = f"{r['area_px']} px"
        if r["area_world"] is not None:
            area += f", {r['area_world']:.6g} {r['area_unit']}"
        line = f"{r['id']}: {r['phrase']} {r['score']:.3f} {area} box {r['box']}"
        if r.get("label"):
            line += f" label {r['label']} {r['probabilities'][r['label']]:.3f}"
        if r.get("caption"):
            line += f" caption: {r['caption']}"
        lines.append(line)
    for flag in ("out", "out_regions", "out_table"):
        if flag in data:
            lines.append(f"wrote {data[flag]}")
    return "\n".join(lines)
