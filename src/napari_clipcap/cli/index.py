"""``napari-clipcap index``: embed image files into an on-disk collection."""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE, ModelSpec
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, emit_result


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "index",
        help="embed images (FITS HDUs, PNG, JPEG, TIFF) into a searchable collection",
        description="Embed every image under PATH... into the collection folder --index. "
        "Re-running is incremental: unchanged files are skipped, changed ones re-embedded, "
        "files deleted from under PATH dropped (entries from other folders are kept), and "
        "files that failed before are tried again.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="image files or folders")
    p.add_argument("--index", required=True, metavar="DIR", help="collection folder")
    p.add_argument(
        "--clip",
        default=None,
        metavar="MODEL",
        help="CLIP model (default: the collection's, or "
        f"{DEFAULT_CLIP.name} for a new collection). " + RESOLUTION_RULE,
    )
    p.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    p.add_argument("--batch-size", type=int, default=16, help="images per batch (16)")
    p.add_argument(
        "--approximate",
        choices=("auto", "yes", "no"),
        default="auto",
        help="approximate (IVF) index: auto from 100,000 images (default), always, never",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another index run writes to the collection, wait this long for it "
        "(default 0: refuse at once)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="read and embed on a local Dask cluster of N worker processes (this process "
        "stays the only writer of the collection)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="read and embed on a running dask.distributed cluster, e.g. "
        "tcp://10.0.0.5:8786 (its workers must see the PATHs)",
    )
    p.add_argument(
        "--from-batch",
        default=None,
        metavar="RUN_DIR",
        help="import the embeddings of a `batch --task embed` run instead of embedding "
        "(refused when its model is not the collection's)",
    )
    p.add_argument(
        "--index-memory",
        default=None,
        metavar="SIZE",
        help="memory the search index may hold, e.g. 2G (default: a quarter of the RAM); "
        "past it a compressed IVF-PQ index with on-disk lists is built",
    )
    add_common(p)
    p.set_defaults(func=run)
    return p


def clip_spec(args: argparse.Namespace, folder: str) -> ModelSpec:
    """The resolved CLIP model to use: as given, else the collection's, else the default;
    the one :class:`~napari_clipcap.core.registry.ModelSpec` rule applies to each."""
    from ..core.collection.requests import IndexRequest

    args = argparse.Namespace(**{**_DEFAULTS, **vars(args), "index": folder})
    return IndexRequest.from_args(args).clip_spec()


#: What :func:`clip_spec` assumes for flags a caller leaves out.
_DEFAULTS = {
    "paths": ["."],
    "batch_size": 16,
    "approximate": "auto",
    "wait": 0.0,
    "workers": None,
    "scheduler": None,
    "from_batch": None,
    "index_memory": None,
    "device": "auto",
}


def run(args: argparse.Namespace) -> int:
    """Flags -> :class:`~napari_clipcap.core.collection.requests.IndexRequest` -> outputs
    checked -> run -> printed."""
    from ..core.collection.requests import IndexRequest
    from ._collection_model import announce_collection_model

    request = IndexRequest.from_args(args)
    request.check_outputs()  # before any model runs
    asked = request.collection_model()
    if asked is not None:  # the collection decides: say which model it asks for, first
        announce_collection_model(args, args.index, asked)
    result = request.run(progress=ProgressBar("index", quiet=args.json))
    emit_result(args, result)
    return 0
