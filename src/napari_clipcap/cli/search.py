"""``napari-clipcap search``: rank a collection by a text or image query."""

from __future__ import annotations

import argparse

from ._common import add_common, emit_result


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
    """Flags -> :class:`~napari_clipcap.core.collection.requests.SearchRequest` -> run ->
    printed."""
    from ..core.collection.requests import SearchRequest
    from ._collection_model import announce_collection_model

    request = SearchRequest.from_args(args)
    # a received collection decides the model: say which, then apply the one rule
    announce_collection_model(args, args.index, request.collection_model())
    emit_result(args, request.run())
    return 0
