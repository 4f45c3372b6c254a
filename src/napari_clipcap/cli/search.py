"""``napari-clipcap search``: rank a collection by a text or image query."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_common, clipped_to, emit, fit_boxes, parse_box


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "search",
        help="find images in a collection by text or by image",
        description="Rank the images of a collection (built with `index`) against a text "
        "or an image query, with the collection's own CLIP model.",
    )
    p.add_argument("--index", required=True, metavar="DIR", help="collection folder")
    query = p.add_mutually_exclusive_group(required=True)
    query.add_argument("--text", metavar="Q", help='text query, e.g. "a barred spiral galaxy"')
    query.add_argument("--image", metavar="FILE", help="image query (FITS, PNG, JPEG, TIFF)")
    p.add_argument("-k", type=int, default=10, help="number of hits (10)")
    p.add_argument("--hdu", type=int, default=None, help="FITS HDU of --image")
    p.add_argument(
        "--region",
        default=None,
        metavar="x0,y0,x1,y1",
        help="part of --image, in its full-size pixel coordinates (x = column, end "
        "exclusive); a box reaching past the image edge is clipped to it (a warning, and "
        "clipped_to in JSON)",
    )
    p.add_argument("--template", default="{}", help='text template, e.g. "a photo of {}"')
    p.add_argument(
        "--index-memory",
        default=None,
        metavar="SIZE",
        help="memory the search index may hold, e.g. 2G (default: a quarter of the RAM); "
        "past it the compressed, memory-mapped IVF-PQ index is searched",
    )
    add_common(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.clip.model import load_clip
    from ..core.collection.ivfpq.index import parse_bytes
    from ..core.collection.search import search_image, search_text
    from ..core.collection.store import Collection
    from ..core.errors import InvalidInputError
    from ..core.io.sources import MAX_SIDE, list_units, load_unit, shrink
    from ._collection_model import announce_collection_model

    budget = parse_bytes(args.index_memory) if args.index_memory else None
    with Collection(args.index, memory_budget=budget) as col:
        asked = col.clip_spec
        if asked is None:
            raise InvalidInputError(f"collection {args.index} holds no images yet")
        # a received collection decides the model: say which, then apply the one rule
        announce_collection_model(args, args.index, asked)
        args.clip_spec = asked.resolve()
        clip = load_clip(args.clip_spec, device=args.device)
        if args.text is not None:
            hits = search_text(col, args.text, clip, args.k, template=args.template)
            query = {"text": args.text}
        else:
            units = [args.hdu] if args.hdu is not None else list_units(args.image)
            if not units:
                raise InvalidInputError(f"{args.image} holds no image HDU")
            hdu = units[0]
            region = parse_box(args.region) if args.region else None
            used = None
            if region is None:
                image = load_unit(args.image, hdu)
            else:  # the box is in full-size pixels: cut it out before any shrinking
                image = load_unit(args.image, hdu, max_side=None)
                (used,) = fit_boxes(args, [region], image.shape, Path(args.image).name)
                x0, y0, x1, y1 = used
                image = shrink(image[y0:y1, x0:x1], MAX_SIDE)
            hits = search_image(col, image, clip, args.k)
            query = {
                "image": args.image,
                "hdu": hdu,
                "region": region,
                "clipped_to": None if region is None else clipped_to(region, used),
            }
        kind = col.vector_index().kind
        total = len(col)
    data = {
        "query": query,
        "index": args.index,
        "index_kind": kind,
        "items": total,
        "hits": [h.to_dict() for h in hits],
    }
    lines = [f"{len(hits)} of {total} images ({kind} search):"]
    for h in hits:
        where = h.item.path + (f"[{h.item.hdu}]" if h.item.hdu is not None else "")
        lines.append(f"{h.rank:>4}  {h.score:.4f}  {where}")
    emit(args, data, "\n".join(lines))
    return 0
