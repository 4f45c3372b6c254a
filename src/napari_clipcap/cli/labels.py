"""``napari-clipcap labels``: zero-shot label probabilities for an image or its regions."""

from __future__ import annotations

import argparse

from ._clipargs import add_clip_args, load_model, read_input
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
        "labels",
        help="CLIP zero-shot label probabilities per region",
        description="Per region (or the whole image), a softmax over the labels of "
        "logit_scale * cosine(image, text); --multi-label scores each label on its own.",
    )
    p.add_argument("image", metavar="IMAGE", help="PNG, JPEG, TIFF or FITS file")
    p.add_argument("--labels", required=True, help='comma-separated, e.g. "forest,river,city"')
    add_region_argument(p)
    add_region_file_arguments(p)
    p.add_argument("--multi-label", action="store_true", help="independent cosine scores")
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="show the K best")
    add_clip_args(p)
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.clip.prompts import parse_labels, resolve_templates
    from ..core.tasks.labels import rank_labels, score_regions
    from ..core.tasks.validity import file_valid_mask

    labels = parse_labels(args.labels)
    templates = resolve_templates(args.template, args.templates)
    check_region_file_arguments(args)
    boxes = [parse_box(r) for r in args.region] if args.region else None
    img = read_input(args, lazy=True)  # only the windows used are scaled
    shapes = file_regions(args, img)
    if shapes is not None:
        from ..core.coords.regions import as_region

        to_score = [s.to_region() for s in shapes]
        boxes = used = [as_region(r, img.data.shape).box for r in to_score]
    else:
        used = to_score = fit_boxes(args, boxes, img.data.shape, img.path.name) if boxes else None
    clip = load_model(args)
    scores = score_regions(
        img.data,
        to_score,
        labels,
        clip,
        templates=templates,
        multi_label=args.multi_label,
        top_k=args.top_k,
        batch_size=args.batch_size,
        valid=file_valid_mask(img),
        progress=ProgressBar("labels", quiet=args.json),
    )
    h, w = img.data.shape[:2]
    regions = boxes or [(0, 0, w, h)]
    fitted = used or regions
    ranked = rank_labels(scores, labels, args.top_k)
    data = {
        "image": str(img.path),
        "model": clip.name,
        "mode": "multi-label cosine" if args.multi_label else "softmax",
        "labels": labels,
        "templates": templates,
        "regions": [
            {
                "box": list(box),
                "clipped_to": clipped_to(box, fit),
                "scores": {lab: (None if s != s else float(s)) for lab, s in zip(labels, row)},
                "ranked": [[lab, s] for lab, s in rank],
            }
            for box, fit, row, rank in zip(regions, fitted, scores, ranked)
        ],
    }
    if shapes is not None:
        for r, shape in zip(data["regions"], shapes):
            r.update(region_entry(shape), clipped_to=None)  # "box": its pixels' bounding box
    if img.kind == "geotiff":  # region results carry map and lon/lat coordinates
        from ..core.io.geoexport import geo_metadata_of, region_to_map

        geo = geo_metadata_of(img.path)
        for r, box in zip(data["regions"], fitted if geo else ()):
            r["map"] = region_to_map(box, geo)  # of the pixels scored (after clipping)
    texts = [", ".join(f"{lab} {s:.3f}" for lab, s in r["ranked"][:3]) for r in data["regions"]]
    header = [f"napari-clipcap labels: {clip.name}, {data['mode']}, labels {','.join(labels)}"]
    written = write_out_regions(args, img, shapes, fitted, texts, header)
    if written:
        data["out_regions"] = written
    lines = [f"{img.path.name}  ({clip.name}, {data['mode']})"]
    for r in data["regions"]:
        best = ", ".join(f"{lab} {s:.3f}" for lab, s in r["ranked"]) or "(no finite scores)"
        lines.append(f"  region {','.join(map(str, r['box']))}: {best}")
    emit(args, data, "\n".join(lines))
    return 0
