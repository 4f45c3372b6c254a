"""``napari-clipcap ground``: Florence-2 boxes for phrases (detection) or a caption
(phrase grounding), tiled on large images."""

from __future__ import annotations

import argparse

from ._argtypes import fraction, nonnegative_int, positive_int
from ._common import ProgressBar, add_common, emit_result
from ._imageargs import add_scaling_arguments


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "ground",
        help="Florence-2 boxes for phrases or the phrases of a caption",
        description='Open-vocabulary detection (--phrases "ships, storage tanks") or phrase '
        "grounding (--caption TEXT) with Florence-2. Boxes are pixel coordinates "
        "x0,y0,x1,y1 (end exclusive); --tile cuts large images into overlapping tiles and "
        "merges boxes found twice.",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--phrases", metavar="TEXT", help='comma-separated, e.g. "ships, tanks"')
    what.add_argument("--caption", metavar="TEXT", help="a caption whose phrases to ground")
    p.add_argument(
        "--weights",
        default=None,
        metavar="W",
        help="Florence-2 folder (save_pretrained) or hub id "
        "(default florence-community/Florence-2-base)",
    )
    p.add_argument(
        "--method",
        default="ovd",
        choices=("ovd", "grounding"),
        help="--phrases through open-vocabulary detection (default) or grounding",
    )
    p.add_argument(
        "--tile", type=positive_int, default=None, metavar="PX", help="tile size in pixels"
    )
    p.add_argument(
        "--overlap", type=nonnegative_int, default=64, metavar="PX", help="tile overlap (64)"
    )
    p.add_argument("--iou", type=fraction, default=0.5, help="merge boxes across tiles (0.5)")
    p.add_argument("--beam", type=positive_int, default=3, metavar="N", help="beam size (3)")
    p.add_argument("--max-tokens", type=positive_int, default=256, metavar="N")
    p.add_argument(
        "--batch-size", type=positive_int, default=8, metavar="N", help="prompts per pass"
    )
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    p.add_argument(
        "--out-regions",
        metavar="FILE",
        default=None,
        help="write the boxes with their labels to a .reg or .crtf file "
        "(sky coordinates when the image has a celestial WCS)",
    )
    add_scaling_arguments(p)
    add_common(p)
    p.set_defaults(func=run, captioner="florence2")
    return p


def run(args: argparse.Namespace) -> int:
    """Flags -> :class:`~napari_clipcap.core.tasks.requests.GroundRequest` -> outputs
    checked -> run -> printed."""
    from ..core.tasks.requests import GroundRequest
    from ._regionfiles import check_out_regions, region_files

    request = GroundRequest.from_args(args)
    if args.out_regions:
        check_out_regions(args.out_regions, getattr(args, "out_frame", None))
    request.check_outputs()  # before any model runs
    result = request.run(progress=ProgressBar("ground", quiet=args.json), files=region_files(args))
    emit_result(args, result)
    return 0
