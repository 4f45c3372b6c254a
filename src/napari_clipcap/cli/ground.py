"""``napari-clipcap ground``: Florence-2 boxes for phrases (detection) or a caption
(phrase grounding), tiled on large images."""

from __future__ import annotations

import argparse

from ._argtypes import fraction, nonnegative_int, positive_int
from ._common import ProgressBar, add_common, emit


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
    s = p.add_argument_group("input scaling")
    s.add_argument("--domain", default=None, help="astronomy, satellite or photo")
    s.add_argument("--interval", default=None, help="e.g. zscale, minmax, percentile")
    s.add_argument("--stretch", default=None, help="e.g. asinh, linear, log, sqrt")
    s.add_argument("--hdu", default=None, help="FITS HDU index or name")
    add_common(p)
    p.set_defaults(func=run, captioner="florence2")
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.captioning.florence2.captioner import build_florence2
    from ..core.captioning.florence2.tasks import detect_phrases, ground_caption, split_phrases
    from ..core.coords.detections import tile_grid
    from ._clipargs import read_input
    from ._regionfiles import write_out_regions

    if args.out_regions:
        from ._regionfiles import check_out_regions

        check_out_regions(args.out_regions)  # an unknown suffix fails before any work
    phrases = split_phrases(args.phrases) if args.phrases is not None else None
    img = read_input(args)
    h, w = img.data.shape[:2]
    tiles = tile_grid(h, w, args.tile, args.overlap)  # bad tiles fail before loading
    model = build_florence2(args.weights, args.device, args.precision)
    options = {
        "tile": args.tile,
        "overlap": args.overlap,
        "iou": args.iou,
        "beam_size": args.beam,
        "max_tokens": args.max_tokens,
        "batch_size": args.batch_size,
        "progress": ProgressBar("ground", quiet=args.json),
    }
    if phrases is not None:
        dets = detect_phrases(model, img.data, phrases, method=args.method, **options)
    else:
        dets = ground_caption(model, img.data, args.caption, **options)
    data = {
        "image": str(img.path),
        "model": model.name,
        "mode": "detection" if phrases is not None else "grounding",
        "phrases": phrases,
        "caption": args.caption,
        "tiles": len(tiles),
        "detections": [d.as_dict() for d in dets],
    }
    data["grounded"] = [
        {"phrase": label, "boxes": [d["box"] for d in data["detections"] if d["label"] == label]}
        for label in dict.fromkeys(d.label for d in dets)
    ]
    if img.kind == "geotiff":
        from ..core.io.geoexport import geo_metadata_of, region_to_map

        geo = geo_metadata_of(img.path)
        for entry, d in zip(data["detections"], dets if geo else ()):
            entry["map"] = region_to_map(tuple(round(v) for v in d.box), geo)
    header = [f"napari-clipcap ground: {model.name}, {data['mode']}"]
    written = write_out_regions(
        args, img, None, [d.box for d in dets], [d.label for d in dets], header
    )
    if written:
        data["out_regions"] = written
    lines = [f"{img.path.name}  ({model.name}, {data['mode']}, {len(tiles)} tile(s))"]
    for d in dets:
        lines.append(f"  {d.label}: {','.join(f'{v:.1f}' for v in d.box)}")
    if not dets:
        lines.append("  (no boxes)")
    emit(args, data, "\n".join(lines))
    return 0
