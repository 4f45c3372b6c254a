"""``napari-clipcap batch``: caption, label, map or embed every image of an archive."""

from __future__ import annotations

import argparse

from ..core.registry import DEFAULT_CLIP, RESOLUTION_RULE
from ._argtypes import positive_int, template_text
from ._clipargs import CLIP_WEIGHTS_HELP
from ._common import ProgressBar, add_common, box_text, emit, parse_box, warn


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "batch",
        help="run caption, labels, heatmap or embed over many images (locally or on Dask)",
        description="Process every image under INPUTS and write OUT/results.parquet and "
        "OUT/results.csv (heatmaps under OUT/heatmaps). Running the same command again "
        "resumes; unreadable files get a row with an error instead of stopping the run.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument(
        "--task",
        required=True,
        choices=("caption", "labels", "heatmap", "embed", "ask", "segment"),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler")
    where.add_argument("--workers", type=int, metavar="N", help="start N local Dask workers")
    p.add_argument("--chunk-size", type=int, default=8, help="files per chunk of work (8)")
    p.add_argument("--batch-size", type=int, default=8, help="images per model call (8)")
    p.add_argument("--retry-errors", action="store_true", help="redo files that failed")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into a non-empty --out folder napari-clipcap did not create (only "
        "this run's own files there are replaced)",
    )
    models = p.add_argument_group("models")
    models.add_argument(
        "--clip",
        default=None,
        metavar="MODEL",
        help=f"CLIP model (default {DEFAULT_CLIP.name}; caption: ClipCap's CLIP, default what "
        f"its checkpoint recorded). {RESOLUTION_RULE}",
    )
    models.add_argument("--clip-weights", default=None, metavar="W", help=CLIP_WEIGHTS_HELP)
    models.add_argument("--captioner", default="clipcap", help="caption: captioner kind")
    models.add_argument("--weights", default=None, help="caption: captioner weights")
    models.add_argument("--decoder", default=None, help="caption: ClipCap GPT-2 decoder")
    opts = p.add_argument_group("task options")
    opts.add_argument("--beam", type=int, default=1, help="caption: beam size")
    opts.add_argument("--num", type=int, default=1, help="caption: captions per image")
    opts.add_argument("--max-tokens", type=int, default=67, help="caption: longest caption")
    opts.add_argument("--labels", default=None, help='labels: "a,b,c"')
    opts.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="x0,y0,x1,y1",
        help="caption/labels: a region of every image (repeatable); clipped to each image "
        "it reaches past (column clipped_to)",
    )
    opts.add_argument(
        "--template", type=template_text, default="{}", help='labels/heatmap: e.g. "a photo of {}"'
    )
    opts.add_argument("--query", default=None, help="heatmap: text query")
    opts.add_argument(
        "--question", default=None, help="ask: the question (model: --weights, a VLM)"
    )
    opts.add_argument(
        "--phrases", default=None, help="segment: phrases, comma-separated (model: --weights)"
    )
    opts.add_argument("--mode", default="sliding", choices=("sliding", "dense"))
    opts.add_argument("--window", type=positive_int, default=224, help="heatmap: window (px)")
    opts.add_argument("--stride", type=positive_int, default=112, help="heatmap: stride (px)")
    add_common(p)
    p.set_defaults(func=run)
    return p


def spec_from_args(args: argparse.Namespace):
    """The :class:`~napari_clipcap.core.batch.chunks.BatchSpec` the flags describe."""
    from ..core.batch.chunks import BatchSpec

    labels = ()
    if args.labels:
        labels = tuple(s.strip() for s in args.labels.split(",") if s.strip())
    clip = model_spec_of(args)
    if args.task == "caption":
        args.captioner_spec = clip
        clip = clip.clip if args.clip or args.clip_weights else None
    else:
        args.clip_spec = clip
    return BatchSpec(
        task=args.task,
        clip_model=clip.name if clip is not None else None,
        clip_weights=clip.weights if clip is not None else None,
        captioner=args.captioner,
        weights=args.weights,
        decoder=args.decoder,
        beam=args.beam,
        num=args.num,
        max_tokens=args.max_tokens,
        labels=labels,
        regions=tuple(_check_box(parse_box(r)) for r in args.region),
        template=args.template,
        query=args.query,
        question=args.question,
        phrases=tuple(p for p in (args.phrases or "").split(",") if p.strip()),
        mode=args.mode,
        window=args.window,
        stride=args.stride,
        batch_size=args.batch_size,
        device=args.device,
    )


def model_spec_of(args: argparse.Namespace):
    """The resolved model the flags ask for: the captioner (with its CLIP) for ``--task
    caption``, else the CLIP model; the one rule of ``docs/models.md``."""
    from ..core.registry import ModelSpec

    kind = "captioner" if args.task == "caption" else "clip"
    return ModelSpec.from_flags(args, kind).resolve()


def _check_box(box):
    """Refuse a box that no image can hold before any file is read (polygons pass)."""
    from ..core.errors import InvalidInputError

    if len(box) != 4 or not isinstance(box, tuple):
        return box
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        raise InvalidInputError(
            f"box {box_text(box)} is empty: it needs x1 > x0 and y1 > y0 "
            "(x0,y0,x1,y1 with the end exclusive)"
        )
    if x1 <= 0 or y1 <= 0:
        raise InvalidInputError(
            f"box {box_text(box)} lies outside every image (left of or above pixel 0,0)"
        )
    return box


def _count_clipped(parquet: str) -> int:
    """Rows of the results table whose region was clipped to its image."""
    import pyarrow.parquet as pq

    if "clipped_to" not in pq.read_schema(parquet).names:
        return 0
    column = pq.read_table(parquet, columns=["clipped_to"]).column("clipped_to")
    return sum(1 for v in column.to_pylist() if v)


def run(args: argparse.Namespace) -> int:
    from ..core.batch.runner import run_batch

    spec = spec_from_args(args)
    # said here too: on Dask workers the model loads out of sight
    (args.captioner_spec if spec.task == "caption" else args.clip_spec).warn()
    rep = run_batch(
        args.inputs,
        spec,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        chunk_size=args.chunk_size,
        retry_errors=args.retry_errors,
        overwrite=args.overwrite,
        progress=ProgressBar(f"batch {args.task}", quiet=args.json),
    )
    text = (
        f"{rep.files} files ({rep.skipped} done earlier, {rep.processed} processed): "
        f"{rep.rows} rows, {rep.errors} errors\n  {rep.parquet}\n  {rep.csv}"
    )
    clipped = _count_clipped(rep.parquet) if args.region else 0
    if clipped:
        warn(
            args,
            f"{clipped} of {rep.rows} rows: the region reaches past the image and was "
            "clipped to it (see column clipped_to)",
        )
    emit(args, {"task": args.task, **rep.to_dict()}, text)
    return 0
