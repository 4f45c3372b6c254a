"""``napari-clipcap index``: embed image files into an on-disk collection."""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE, ModelSpec
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, emit


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
    from ..core.collection.describe import collection_spec

    if args.clip:
        spec = ModelSpec.from_flags(args)
    else:
        spec = collection_spec(folder)
        if spec is None:
            spec = ModelSpec.for_clip(DEFAULT_CLIP.name, args.clip_weights)
    args.clip_spec = spec = spec.resolve()
    return spec


def _check(args: argparse.Namespace) -> int | None:
    """Refuse contradictory flags; return the memory budget in bytes (or None)."""
    from ..core.collection.ivfpq.index import parse_bytes
    from ..core.errors import InvalidInputError

    if not args.wait >= 0:
        raise InvalidInputError(f"--wait must be 0 or more seconds, got {args.wait}")
    if args.from_batch and (args.paths or args.workers or args.scheduler or args.clip):
        raise InvalidInputError(
            "--from-batch imports a run's embeddings: give no PATH, --workers, --scheduler "
            "or --clip with it (the run's model is used)"
        )
    if not args.from_batch and not args.paths:
        raise InvalidInputError("give image files or folders to index, or --from-batch RUN_DIR")
    if args.workers is not None and args.scheduler:
        raise InvalidInputError("give either --workers or --scheduler, not both")
    if args.workers is not None and args.workers < 1:
        raise InvalidInputError(f"--workers must be at least 1, got {args.workers}")
    return parse_bytes(args.index_memory) if args.index_memory else None


def run(args: argparse.Namespace) -> int:
    from ..core.clip.model import load_clip
    from ..core.collection.describe import collection_spec
    from ..core.collection.indexing import index_paths
    from ..core.collection.records import clip_name
    from ._collection_model import announce_collection_model

    budget = _check(args)
    progress = ProgressBar("index", quiet=args.json)
    if args.from_batch:
        from ..core.collection.frombatch import import_batch

        rep = import_batch(
            args.index, args.from_batch, memory_budget=budget, progress=progress, wait=args.wait
        )
        from ..core.collection.store import Collection

        with Collection(args.index) as col:
            return _emit(args, rep, col.model_id or "")
    asked = None if args.clip else collection_spec(args.index)
    if asked is not None:  # the collection decides: say which model it asks for, first
        announce_collection_model(args, args.index, asked)
    spec = clip_spec(args, args.index)
    model, weights = spec.name, spec.weights
    remote = bool(args.workers or args.scheduler)
    spec.warn()  # also when the model is loaded on Dask workers, out of sight
    clip = None if remote else load_clip(spec, device=args.device)
    approximate = {"auto": "auto", "yes": True, "no": False}[args.approximate]
    rep = index_paths(
        args.index,
        args.paths,
        clip,
        model=model,
        weights=weights,
        batch_size=args.batch_size,
        approximate=approximate,
        progress=progress,
        wait=args.wait,
        workers=args.workers,
        scheduler=args.scheduler,
        device=args.device,
        memory_budget=budget,
    )
    return _emit(args, rep, clip.name if clip is not None else clip_name(model, weights))


def _emit(args: argparse.Namespace, rep, model_name: str) -> int:
    data = {"index": args.index, "model": model_name, **rep.to_dict()}
    lines = [
        f"{args.index}: {rep.items} images ({rep.index_kind} index, model {model_name})",
        f"  files added {rep.added}, updated {rep.updated}, unchanged {rep.unchanged}, "
        f"removed {rep.removed}, failed {len(rep.failed)}; images embedded {rep.embedded}",
    ]
    if rep.missing:
        lines.append(
            f"  {rep.missing} indexed files outside PATH no longer exist (kept; index "
            "their folder to drop them)"
        )
    lines += [
        f"  failed: {f['path']}: {f['error']}"
        + (" (unchanged since last failure)" if f.get("unchanged") else "")
        for f in rep.failed
    ]
    emit(args, data, "\n".join(lines))
    return 0
